"""The routes a supervisor on the submitting machine reports through (the ``local``
target of a remote studio): status changes, the live log in chunks, its job's
token, and a pipeline's steps. Each checks its input and who calls."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from studio.accounts.models import ApiToken
from studio.execution import services as execution
from studio.rules.filenames import LIVE_LOG
from studio.tracking import selectors
from tests.api.conftest import post


@pytest.fixture
def local_run(experiment):
    return execution.run_submit(experiment=experiment, submitted_by="alice", script="train.py")


def status(client, run, status, **extra):
    return post(client, f"/api/v1/runs/{run.run_id}/status", {"status": status, **extra})


def append(client, run, offset, data: bytes):
    body = {"offset": offset, "data": base64.b64encode(data).decode()}
    return post(client, f"/api/v1/runs/{run.run_id}/live-log", body)


def log_of(run) -> bytes:
    run_file = selectors.file_get(run=run, name=LIVE_LOG)
    return selectors.file_read(run_file=run_file, offset=0, limit=1 << 20)[0]


def test_a_supervisor_takes_a_run_through_its_statuses(owner, local_run):
    for step in ("Starting", "Running", "Finalizing"):
        assert status(owner.api, local_run, step).json()["status"] == step
    error = {"message": "The script failed (exit code 3).", "code": "script_failed", "exit_code": 3}
    response = status(owner.api, local_run, "Failed", reason="script_failed", error=error)
    assert response.status_code == 200
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    "body, code",
    [
        ({"status": "Queued"}, "invalid"),
        ({"status": "Running", "error": {"message": "x", "colour": "red"}}, "invalid"),
        ({"status": "Canceled"}, "invalid_transition"),  # its processes may still run
    ],
)
def test_a_status_a_supervisor_may_not_report_is_refused_and_changes_nothing(
    owner, local_run, body, code
):
    status(owner.api, local_run, "Running")
    response = post(owner.api, f"/api/v1/runs/{local_run.run_id}/status", body)
    assert response.json()["error"]["code"] == code
    local_run.refresh_from_db()
    assert local_run.status == "Running"
    assert local_run.error is None or local_run.error == {}


def test_a_reader_may_not_report_a_status(reader, local_run):
    assert status(reader.api, local_run, "Starting").status_code == 403


def test_log_chunks_are_appended_at_their_offset_and_a_chunk_sent_twice_is_stored_once(
    owner, local_run
):
    assert append(owner.api, local_run, 0, b"first\n").json() == {"size": 6}
    assert append(owner.api, local_run, 0, b"first\n").json() == {"size": 6}  # a retry
    assert append(owner.api, local_run, 3, b"st\nsecond\n").json() == {"size": 13}

    assert log_of(local_run) == b"first\nsecond\n"


def test_a_log_chunk_that_would_leave_a_gap_or_is_not_base64_is_refused(owner, reader, local_run):
    append(owner.api, local_run, 0, b"abc")
    assert append(owner.api, local_run, 10, b"x").json()["error"]["code"] == "conflict"
    body = {"offset": 3, "data": "not base64!"}
    response = post(owner.api, f"/api/v1/runs/{local_run.run_id}/live-log", body)
    assert response.json()["error"]["code"] == "invalid"
    assert append(reader.api, local_run, 3, b"x").status_code == 403
    assert log_of(local_run) == b"abc"


def test_the_job_token_reaches_its_run_only_and_ends_when_revoked(owner, local_run, experiment):
    other = execution.run_submit(experiment=experiment, submitted_by="alice", script="x.py")
    response = post(owner.api, f"/api/v1/runs/{local_run.run_id}/job-token", {})
    assert response.status_code == 201
    job = Client(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert job.get(f"/api/v1/runs/{local_run.run_id}").status_code == 200
    assert job.get(f"/api/v1/runs/{other.run_id}").status_code == 404

    response = post(owner.api, f"/api/v1/runs/{local_run.run_id}/job-token/revoke", {})

    assert response.json() == {"revoked": 1}
    assert job.get(f"/api/v1/runs/{local_run.run_id}").status_code == 401


def test_only_the_submitter_of_a_local_run_gets_a_job_token(owner, member, experiment, run):
    mine = execution.run_submit(experiment=experiment, submitted_by="alice", script="train.py")
    queued = execution.run_submit(
        experiment=experiment, submitted_by="alice", script="train.py", compute_target="gpu"
    )
    path = "/api/v1/runs/{}/job-token"
    assert post(member.api, path.format(mine.run_id), {}).status_code == 403
    assert post(owner.api, path.format(queued.run_id), {}).status_code == 400  # a worker's
    assert post(owner.api, path.format(run.run_id), {}).status_code == 400  # interactive
    assert not ApiToken.objects.filter(run__isnull=False).exists()


def test_the_steps_of_a_pipeline_name_what_each_waits_for(owner, experiment):
    pipeline, _ = execution.pipeline_submit(
        experiment=experiment,
        submitted_by="alice",
        steps=[
            {"name": "prepare", "script": "p.py"},
            {"name": "train", "script": "t.py", "compute_target": "gpu", "after": ["prepare"]},
        ],
    )
    steps = owner.api.get(f"/api/v1/runs/{pipeline.run_id}/steps").json()["steps"]
    assert [(s["name"], s["compute_target"], s["after"], s["status"]) for s in steps] == [
        ("prepare", "local", [], "NotStarted"),
        ("train", "gpu", ["prepare"], "NotStarted"),
    ]
