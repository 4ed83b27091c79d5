"""What a worker on another machine asks of the API (issue 13, item 5): claiming a
run of its target (its heartbeat recorded on each poll, idle or not) with the token
its supervisor and job report with; the run's snapshot as one archive; how the
script ended; ending its own token. Each is refused to a token of another run."""

import io
import tarfile

import pytest

from studio.accounts.models import ApiToken
from studio.execution import services as execution
from studio.execution.models import Execution, WorkerBeat
from studio.tracking import services as tracking
from studio.tracking.models import RunStatus

CLAIM = "/api/v1/workspaces/default/compute-targets/gpu-box/claim"
WORKER = "vm-3:gpu-box:4242:1700000000"


def queued(experiment, *, submitted_by="bob", files=None):
    run = execution.run_submit(
        experiment=experiment, submitted_by=submitted_by, script="t.py", compute_target="gpu-box"
    )
    for name, data in (files or {}).items():
        tracking.run_file_upload(run=run, name=name, content=io.BytesIO(data))
    execution.run_enqueue(run=run)
    return run


def claim(client, **body):
    return client.post(CLAIM, {"worker": WORKER, **body}, content_type="application/json")


def test_an_idle_worker_polling_is_recorded_once_and_its_time_moves(member, workspace):
    first = claim(member.api)
    assert first.status_code == 200 and first.json() == {"run": None}
    beat = WorkerBeat.objects.get()
    assert (beat.workspace, beat.target, beat.worker, beat.host) == (
        workspace,
        "gpu-box",
        WORKER,
        "vm-3",
    )
    seen = beat.last_seen
    assert claim(member.api, claim=False).json() == {"run": None}
    beat.refresh_from_db()
    assert WorkerBeat.objects.count() == 1 and beat.last_seen > seen


def test_a_claim_gives_the_oldest_run_with_a_token_for_that_run_only(member, experiment, workspace):
    older, newer = queued(experiment), queued(experiment)

    body = claim(member.api, types=["script"]).json()

    assert body["run"]["id"] == older.run_id and body["run"]["status"] == "Preparing"
    assert Execution.objects.get(run=older).worker == WORKER
    token = ApiToken.objects.get(run=older, revoked_at=None)
    assert token.user.username == "bob" and token.workspace == workspace
    assert body["azureml_token"].count(".") == 2  # a JWT naming that token
    own = client_for_secret(body["token"])
    assert own.get(f"/api/v1/runs/{older.run_id}").status_code == 200
    assert own.get(f"/api/v1/runs/{newer.run_id}").status_code == 404
    # A run's token claims nothing: it may only change its own run.
    assert claim(own).status_code == 403
    newer.refresh_from_db()
    assert newer.status == RunStatus.QUEUED


def test_a_run_whose_submitter_cannot_write_fails_and_the_next_is_claimed(
    member, reader, experiment
):
    orphan = queued(experiment, submitted_by="dave")  # a reader: no job may act for them
    good = queued(experiment)

    body = claim(member.api).json()

    assert body["run"]["id"] == good.run_id
    orphan.refresh_from_db()
    assert orphan.status == RunStatus.FAILED and orphan.status_reason == "start_failed"


def test_a_reader_or_a_slurm_target_claims_nothing(reader, member, experiment, workspace):
    run = queued(experiment)
    assert claim(reader.api).status_code == 403
    execution.compute_target_get_or_create(workspace=workspace, name="hpc", kind="slurm")
    url = CLAIM.replace("gpu-box", "hpc")
    refused = member.api.post(url, {"worker": WORKER}, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "target"
    assert claim(member.api, types=["interactive"]).status_code == 400
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and not WorkerBeat.objects.exists()


def client_for_secret(secret):
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def two_claimed(member, experiment):
    files = {"snapshot/train.py": b"print(1)\n", "snapshot/data/x.csv": b"a,b\n" * 1000}
    mine = queued(experiment, files=files)
    other = queued(experiment, files={"snapshot/secret.py": b"nope"})
    a, b = claim(member.api).json(), claim(member.api).json()
    return mine, client_for_secret(a["token"]), other, client_for_secret(b["token"])


def test_the_snapshot_comes_as_one_archive_to_its_runs_token_only(two_claimed):
    mine, token, other, _ = two_claimed

    response = token.get(f"/api/v1/runs/{mine.run_id}/snapshot")

    assert response.status_code == 200 and response["Content-Type"] == "application/x-tar"
    archive = tarfile.open(fileobj=io.BytesIO(b"".join(response.streaming_content)))
    found = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}
    assert found == {"data/x.csv": b"a,b\n" * 1000, "train.py": b"print(1)\n"}
    assert token.get(f"/api/v1/runs/{other.run_id}/snapshot").status_code == 404


def test_a_runs_token_appends_to_its_own_log_uploads_its_outputs_and_nothing_else(two_claimed):
    import base64

    mine, token, other, other_token = two_claimed
    chunk = {"offset": 0, "data": base64.b64encode(b"epoch 1\n").decode()}
    for run, expected in ((mine, 200), (other, 404)):
        url = f"/api/v1/runs/{run.run_id}/live-log"
        assert token.post(url, chunk, content_type="application/json").status_code == expected
        put = token.put(
            f"/api/v1/runs/{run.run_id}/files/outputs/model.txt",
            b"w",
            content_type="application/octet-stream",
        )
        assert put.status_code == (201 if expected == 200 else 404)
    assert set(mine.files.values_list("name", flat=True)) >= {
        "logs/std_log.txt",
        "outputs/model.txt",
    }
    assert not other.files.filter(name__startswith=("logs/")).exists()
    assert not other.files.filter(name="outputs/model.txt").exists()


def test_a_runs_token_reports_its_exit_code_and_ends_itself_not_another(two_claimed):
    mine, token, other, other_token = two_claimed
    url = f"/api/v1/runs/{other.run_id}/execution"
    body = {"exit_code": 3, "signal": ""}
    assert token.post(url, body, content_type="application/json").status_code == 404
    url = f"/api/v1/runs/{mine.run_id}/execution"
    assert token.post(url, body, content_type="application/json").status_code == 200
    assert Execution.objects.get(run=mine).exit_code == 3
    refused = token.post(url, {"pgid": 1}, content_type="application/json")
    assert refused.status_code == 400  # no process id is taken over the API

    revoke = f"/api/v1/runs/{other.run_id}/job-token/revoke"
    assert token.post(revoke, {}, content_type="application/json").status_code == 404
    assert ApiToken.objects.filter(run=other, revoked_at=None).exists()
    revoke = f"/api/v1/runs/{mine.run_id}/job-token/revoke"
    assert token.post(revoke, {}, content_type="application/json").json() == {"revoked": 1}
    assert token.get(f"/api/v1/runs/{mine.run_id}").status_code == 401


def test_the_compute_page_shows_an_idle_worker_and_when_it_was_last_seen(client, member):
    from tests.web.listing_helpers import get

    claim(member.api)
    client.force_login(member)
    body = get(client, "/compute/")
    row = body.split('id="target-gpu-box"')[1].split("</tr>")[0]
    assert f'worker <code title="{WORKER}">vm-3</code>' in row
    assert "last seen" in row and " s ago</time>" in row
    shown = member.api.get("/api/v1/workspaces/default/compute-targets/gpu-box").json()
    (seen,) = shown["seen"]
    assert seen["host"] == "vm-3" and seen["worker"] == WORKER and seen["seconds_ago"] < 60
