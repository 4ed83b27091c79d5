"""Pipelines submitted over HTTP get the same shape checks as through the SDK."""

import pytest

from studio.tracking.models import Run
from tests.api.conftest import post


def step(name, after=(), target="gpu"):
    return {"name": name, "script": "s.py", "compute_target": target, "after": list(after)}


@pytest.mark.parametrize(
    "steps, words",
    [
        ([step("a", ["b"]), step("b", ["a"])], "cycle"),
        ([step("a", ["missing"])], "unknown step"),
        ([step("a"), step("a")], "unique"),
        ([], "at least one"),
    ],
)
def test_a_malformed_pipeline_is_refused_and_creates_no_run(owner, steps, words):
    body = {"experiment": "p", "steps": steps}
    response = post(owner.api, "/api/v1/workspaces/default/pipelines", body)
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]
    assert not Run.objects.exists()


def test_a_well_formed_pipeline_creates_its_steps_not_started(owner):
    body = {"experiment": "p", "steps": [step("a"), step("b", ["a"])]}
    response = post(owner.api, "/api/v1/workspaces/default/pipelines", body)
    assert response.status_code == 201
    assert set(response.json()["steps"]) == {"a", "b"}
    assert sorted(Run.objects.values_list("type", "status")) == [
        ("pipeline", "NotStarted"),
        ("step", "NotStarted"),
        ("step", "NotStarted"),
    ]


def test_a_pipeline_with_a_local_step_is_left_to_a_driver_on_the_submitting_machine(owner):
    body = {"experiment": "p", "steps": [step("a", target="gpu"), step("b", ["a"], "local")]}
    response = post(owner.api, "/api/v1/workspaces/default/pipelines", body)
    assert response.status_code == 201
    pipeline = response.json()
    assert pipeline["compute_target"] == "local"

    response = post(owner.api, f"/api/v1/runs/{pipeline['id']}/enqueue", {})

    assert response.status_code == 200
    # No worker's queue has it: the submitting machine drives it.
    assert Run.objects.get(run_id=pipeline["id"]).status == "NotStarted"
