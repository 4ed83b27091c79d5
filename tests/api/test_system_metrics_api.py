"""The reserved ``sys/`` prefix over the API: a run's metrics route refuses it (so
user code cannot log ``sys/...``, by the SDK or by hand), and the one route a
supervisor sends its samples through takes nothing else."""

from __future__ import annotations

import pytest

from studio.errors import ValidationError
from studio.tracking import services
from studio.tracking.models import MetricRecord, MetricSummary
from tests.api.conftest import post

T = 1_750_000_000.0


def series(name: str, value: float = 1.0, step: int = 0) -> dict:
    return {"name": name, "steps": [step], "values": [value], "times": [T]}


def names(run) -> set[str]:
    return set(MetricSummary.objects.filter(run=run).values_list("name", flat=True))


@pytest.mark.parametrize(
    "body, field",
    [
        ({"series": [series("loss"), series("sys/cpu_percent")]}, "series.sys/cpu_percent"),
        ({"records": [{"name": "sys/x", "kind": "list", "data": [1]}]}, "records[0].name"),
    ],
)
def test_a_run_may_not_log_under_sys_and_nothing_of_the_batch_is_stored(owner, run, body, field):
    response = post(owner.api, f"/api/v1/runs/{run.run_id}/metrics", {"batch_id": "b1", **body})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["field"] == field
    assert "is reserved" in error["message"] and "'sys/'" in error["message"]
    assert names(run) == set() and not MetricRecord.objects.filter(run=run).exists()


def test_names_that_only_look_like_the_prefix_are_a_runs_own(owner, run):
    body = {"batch_id": "b1", "series": [series("sys"), series("system/cpu"), series("SYS/x")]}
    response = post(owner.api, f"/api/v1/runs/{run.run_id}/metrics", body)
    assert response.status_code == 200, response.content
    assert names(run) == {"sys", "system/cpu", "SYS/x"}


def test_the_supervisors_route_stores_a_sample_once(owner, run):
    body = {"batch_id": "sys-1", "series": [series("sys/cpu_percent", 93.5)]}
    first = post(owner.api, f"/api/v1/runs/{run.run_id}/system-metrics", body)
    again = post(owner.api, f"/api/v1/runs/{run.run_id}/system-metrics", body)
    assert first.status_code == again.status_code == 200
    assert again.json()["duplicate"] is True
    (summary,) = MetricSummary.objects.filter(run=run)
    assert (summary.name, summary.count, summary.last_value) == ("sys/cpu_percent", 1, 93.5)


@pytest.mark.parametrize(
    "body",
    [
        {"batch_id": "s", "series": [series("sys/cpu_percent"), series("loss")]},
        {"batch_id": "s", "series": [{**series("sys/state"), "values": ["hot"]}]},
        {"batch_id": "s", "series": [], "records": [{"name": "sys/x", "kind": "list", "data": []}]},
    ],
)
def test_the_supervisors_route_takes_numbers_under_sys_only(owner, run, body):
    response = post(owner.api, f"/api/v1/runs/{run.run_id}/system-metrics", body)
    assert response.status_code == 400, response.content
    assert names(run) == set()


def test_a_reader_may_not_send_system_metrics(reader, run):
    body = {"batch_id": "s", "series": [series("sys/cpu_percent")]}
    response = post(reader.api, f"/api/v1/runs/{run.run_id}/system-metrics", body)
    assert response.status_code == 403
    assert names(run) == set()


def test_every_other_way_in_refuses_sys_too(run):
    # The services are what the SDK's local store, MLflow's and azureml-core's routes
    # call: one check for all of them.
    with pytest.raises(ValidationError):
        services.metric_log_batch(run=run, batch_id="m", series=[series("sys/gpu0/util")])
    services.metric_log_batch(
        run=run, batch_id="m", series=[series("sys/gpu0/util_percent")], system=True
    )
    assert names(run) == {"sys/gpu0/util_percent"}


def test_mlflows_log_metric_refuses_sys_with_its_own_error_code(owner, run):
    body = {
        "run_id": run.uuid.hex,
        "key": "sys/gpu0/util",
        "value": 1.0,
        "timestamp": 1_750_000_000_000,
        "step": 0,
    }
    response = post(owner.api, "/api/2.0/mlflow/runs/log-metric", body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "reserved" in response.json()["message"]
    assert names(run) == set()
