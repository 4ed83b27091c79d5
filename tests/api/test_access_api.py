"""Attacks on the API's access rules: scoped tokens on list routes, a reader submitting
through a parent run of another workspace, and errors that must stay JSON."""

import pytest
from django.test import Client

from studio.accounts.models import Membership, Role
from studio.api import base
from studio.execution.models import ComputeTarget
from studio.tracking import saved_views, services
from studio.tracking.models import Experiment
from tests.api.conftest import post
from tests.factories import client_for


@pytest.fixture
def tree(member, run, experiment, workspace):
    """bob's run with a child, a sibling in another experiment, and a shared view."""
    child = services.run_create(experiment=experiment, submitted_by="bob", parent=run)
    elsewhere = services.experiment_get_or_create(workspace=workspace, name="elsewhere")
    sibling = services.run_create(experiment=elsewhere, submitted_by="bob")
    saved_views.view_create(workspace=workspace, owner=member, name="team", state={}, shared=True)
    return {"run": run, "child": child, "sibling": sibling}


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {r["id"] for r in response.json()["runs"]}


def test_scoped_tokens_leak_on_list_routes_a_run_token_lists_only_its_run_tree(member, tree):
    job = client_for(member, run=tree["run"])
    run, child, sibling = tree["run"], tree["child"], tree["sibling"]
    listed = job.get("/api/v1/workspaces/default/runs?include_children=true")
    assert _ids(listed) == {run.run_id, child.run_id}
    assert _ids(job.get("/api/v1/workspaces/default/runs")) == {run.run_id}
    experiments = job.get("/api/v1/workspaces/default/experiments").json()["experiments"]
    assert [e["name"] for e in experiments] == ["explore-runs"]
    assert job.get("/api/v1/workspaces/default/views").json() == {"views": []}
    assert job.get("/api/v1/workspaces/default/views/team/runs").status_code == 404
    assert _ids(job.get(f"/api/v1/runs/{run.run_id}/children")) == {child.run_id}
    for route in ("", "/children", "/files", "/metrics"):
        assert job.get(f"/api/v1/runs/{sibling.run_id}{route}").status_code == 404, route


def test_scoped_tokens_leak_on_list_routes_a_workspace_token_lists_only_its_workspace(
    owner, tree, workspace, other_workspace
):
    Membership.objects.create(user=owner, workspace=other_workspace, role=Role.OWNER)
    theirs = services.run_create(
        experiment=services.experiment_get_or_create(workspace=other_workspace, name="theirs"),
        submitted_by="alice",
    )
    scoped = client_for(owner, workspace=workspace)
    assert theirs.run_id not in _ids(scoped.get("/api/v1/workspaces/default/runs"))
    for route in ("runs", "experiments", "views", "views/team/runs", ""):
        response = scoped.get(f"/api/v1/workspaces/other-team/{route}".rstrip("/"))
        assert response.status_code == 404, route
    for route in ("", "/children", "/files", "/metrics"):
        assert scoped.get(f"/api/v1/runs/{theirs.run_id}{route}").status_code == 404, route
    # The same user without the scope sees both workspaces.
    assert client_for(owner).get("/api/v1/workspaces/other-team/runs").status_code == 200


def _created() -> tuple:
    return (
        sorted(Experiment.objects.values_list("workspace__name", "name")),
        sorted(ComputeTarget.objects.values_list("workspace__name", "name")),
    )


def test_a_reader_cannot_create_an_experiment_or_a_target_through_submissions(
    reader, workspace, other_workspace
):
    """dave reads "default" and contributes to "other-team": neither a plain submission
    nor one under his run in "other-team" may create anything in "default"."""
    Membership.objects.create(user=reader, workspace=other_workspace, role=Role.CONTRIBUTOR)
    parent = services.run_create(
        experiment=services.experiment_get_or_create(workspace=other_workspace, name="mine"),
        submitted_by="dave",
    )
    dave = client_for(reader)
    before = _created()
    body = {"experiment": "new-exp", "script": "train.py", "compute_target": "new-gpu"}
    for extra in ({}, {"parent_id": parent.run_id}):
        response = post(dave, "/api/v1/workspaces/default/submissions", {**body, **extra})
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"
    assert (
        post(dave, "/api/v1/workspaces/default/compute-targets", {"name": "g"}).status_code == 403
    )
    assert _created() == before


def test_a_submission_refused_for_its_target_creates_no_experiment(member, workspace):
    before = _created()
    body = {"experiment": "new-exp", "script": "train.py", "compute_target": "no such target!"}
    response = post(client_for(member), "/api/v1/workspaces/default/submissions", body)
    assert response.status_code == 400
    assert _created() == before


def test_an_unexpected_error_in_an_api_operation_is_a_json_500(owner, run, monkeypatch):
    def broken(run):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("studio.api.runs.run_to_dict", broken)
    response = client_for(owner).get(f"/api/v1/runs/{run.run_id}")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "server_error"
    assert "disk on fire" not in response.content.decode()


def test_an_unexpected_error_outside_an_api_operation_is_a_json_500(owner, run, monkeypatch):
    def broken(self, request):
        raise RuntimeError("middleware broke")

    monkeypatch.setattr(base.ContentTypeMiddleware, "__call__", broken)
    client = client_for(owner)
    client.raise_request_exception = False
    response = client.get(f"/api/v1/runs/{run.run_id}")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "server_error", "message": base.SERVER_ERROR, "field": None}
    }
    # Pages keep Django's HTML error page.
    page = Client(raise_request_exception=False).get("/accounts/login/")
    assert page.status_code == 500
    assert not page["Content-Type"].startswith("application/json")
