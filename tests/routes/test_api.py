"""Route policy (see test_declared.py): api."""

from django.test import Client

import studio.urls  # noqa: F401  (every API module registered before operations are listed)
from tests.figures import report
from tests.routes.common import (
    LEAVE_OUT,
    OWN,
    _api_client,
    _api_operations,
    _call,
    _left_out,
    _own,
    _state,
)


def test_every_api_operation_answers_an_outsider_404_and_changes_nothing(world, outsider):
    charlie = _api_client(outsider)
    before, checked = _state(), 0
    for method, url, body, content_type, _ in _api_operations(world):
        response = _call(charlie, method, url, body, content_type)
        if url in LEAVE_OUT:
            assert _left_out(url, response)
            continue
        if url == OWN:
            assert _own(method, response, None)
            continue
        assert response.status_code == 404, (method, url, response.content[:200])
        assert response.json()["error"]["code"] == "not_found"
        checked += 1
    assert _state() == before
    assert checked >= 25
    report(f"routes: {checked} API operations as an outsider, all 404 (heartbeat: left out)")


def test_every_api_write_answers_a_reader_403_and_changes_nothing(world, reader):
    dave = _api_client(reader)
    before, writes, reads = _state(), 0, 0
    for method, url, body, content_type, operation in _api_operations(world):
        response = _call(dave, method, url, body, content_type)
        if url in LEAVE_OUT:
            assert _left_out(url, response)
        elif url == OWN:
            assert _own(method, response, "reader")
        elif operation.view_func.studio_policy in ("write", "owner"):
            assert response.status_code == 403, (method, url, response.content[:200])
            writes += 1
        else:
            assert response.status_code == 200, (method, url, response.content[:200])
            reads += 1
    assert _state() == before
    report(f"routes: {writes} API writes refused to a reader (403), {reads} reads answered 200")


def test_every_api_operation_answers_an_anonymous_caller_401(world):
    anonymous = Client()
    before, checked = _state(), 0
    for method, url, body, content_type, _ in _api_operations(world):
        response = _call(anonymous, method, url, body, content_type)
        assert response.status_code == 401, (method, url)
        assert response.json()["error"]["code"] == "not_authenticated"
        checked += 1
    assert _state() == before
    report(f"routes: {checked} API operations as anonymous, all 401")


def test_every_run_operation_answers_another_runs_token_404_and_changes_nothing(world, owner):
    """A job's token (narrowed to its run) reaches nothing of a sibling run: the
    snapshot, the live log, file uploads, the exit code, status and token routes a
    worker's supervisor uses included; and it claims no run of a target."""
    from studio.accounts.services import token_create
    from studio.tracking import services

    sibling = services.run_create(experiment=world["run"].experiment, submitted_by="alice")
    _, secret = token_create(user=owner, name="job", workspace=sibling.workspace, run=sibling)
    job = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    before, checked, named = _state(), 0, set()
    for method, url, body, content_type, operation in _api_operations(world):
        if "run" not in operation.view_func.studio_objects:
            continue
        response = _call(job, method, url, body, content_type)
        assert response.status_code == 404, (method, url, response.content[:200])
        checked += 1
        named.add(url.split(world["run"].run_id, 1)[1])
    claim = "/api/v1/workspaces/default/compute-targets/gpu/claim"
    response = _call(job, "POST", claim, '{"worker": "w"}', "application/json")
    assert response.status_code == 403
    assert _state() == before
    assert {"/snapshot", "/live-log", "/files/outputs/a.txt", "/execution"} <= named
    assert "/system-metrics" in named
    assert {"/job-token/revoke", "/status"} <= named
    report(f"routes: {checked} run operations refused (404) to another run's token")
