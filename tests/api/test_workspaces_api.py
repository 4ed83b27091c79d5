"""``/api/v1/workspaces`` over raw HTTP: bad names are a 400 (a name taken in another
case a 409) saying why, and nothing is created or renamed; a workspace with a
run still going is not deleted (409), nor one whose name was not typed again (400)."""

import json

import pytest

from studio.tracking import services
from studio.tracking.models import Run, Workspace

BAD_NAMES = [
    ("", "invalid"),
    ("x" * 256, "invalid"),
    ("../x", "invalid"),
    ("a\x00b", "invalid"),
    ("   ", "invalid"),
    ("DEFAULT", "conflict"),
    ("Default", "conflict"),
]


def _send(client, method, path, body):
    return client.generic(method, path, json.dumps(body), content_type="application/json")


def _names() -> list[str]:
    return sorted(Workspace.objects.values_list("name", flat=True))


@pytest.mark.parametrize("name, code", BAD_NAMES, ids=repr)
def test_a_bad_name_creates_nothing(owner, workspace, name, code):
    response = _send(owner.api, "POST", "/api/v1/workspaces", {"name": name})
    assert response.status_code == (409 if code == "conflict" else 400)
    error = response.json()["error"]
    assert error["code"] == code
    says = "Workspace 'default' already exists." if code == "conflict" else "Workspace name"
    assert says in error["message"]
    assert _names() == ["default"]


@pytest.mark.parametrize("name, code", BAD_NAMES[:-1], ids=repr)
def test_a_bad_new_name_renames_nothing(owner, workspace, other_workspace, name, code):
    if code == "conflict":
        name = "Other-Team"  # taken by the other workspace, in another case
    response = _send(owner.api, "PATCH", "/api/v1/workspaces/default", {"name": name})
    assert response.status_code == (409 if code == "conflict" else 400)
    assert response.json()["error"]["code"] == code
    assert _names() == ["default", "other-team"]


def test_a_name_that_is_not_a_string_is_refused(owner, workspace):
    for body in ({"name": None}, {"name": 7}, {}, {"name": ["team"]}):
        response = _send(owner.api, "POST", "/api/v1/workspaces", body)
        assert response.status_code in (400, 422), body
    assert _names() == ["default"]


def test_delete_with_a_run_going_is_refused_and_keeps_everything(owner, workspace):
    run = services.run_create(
        experiment=services.experiment_get_or_create(workspace=workspace, name="e"),
        submitted_by="alice",
    )
    response = _send(owner.api, "DELETE", "/api/v1/workspaces/default", {"confirm": "default"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict" and "1 run(s) still going" in error["message"]
    assert _names() == ["default"] and Run.objects.filter(pk=run.pk).exists()
    services.run_complete(run=run)
    wrong = _send(owner.api, "DELETE", "/api/v1/workspaces/default", {"confirm": "Default"})
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "confirm"
    assert _names() == ["default"]
    done = _send(owner.api, "DELETE", "/api/v1/workspaces/default", {"confirm": "default"})
    assert done.status_code == 200 and _names() == []
