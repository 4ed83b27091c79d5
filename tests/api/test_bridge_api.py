"""What a Slurm bridge with only a token asks of the API (issue 13, item 5 for Slurm):
claiming as a bridge, one poll (``bridge/sync``) and what it saw about one run
(``bridge/runs/ID``). Only runs on a slurm target of the workspace; bad input is a
clear 400 that changes nothing; readers and a run's own token are refused."""

import pytest

from studio.accounts.models import ApiToken
from studio.execution import services as execution
from studio.execution.models import Execution
from studio.tracking.models import Run, RunStatus
from tests.api.test_worker_api import client_for_secret

BASE = "/api/v1/workspaces/default/compute-targets/hpc"
ME = "login-1:hpc:4242:1700000000"
OTHER = "login-2:hpc:99:1700000000"


@pytest.fixture
def hpc(workspace):
    return execution.compute_target_get_or_create(
        workspace=workspace, name="hpc", kind="slurm", slurm_settings={"partition": "debug"}
    )


def submitted(experiment, target="hpc"):
    run = execution.run_submit(
        experiment=experiment, submitted_by="bob", script="t.py", compute_target=target
    )
    execution.run_enqueue(run=run)
    return run


def post(client, path, **body):
    return client.post(BASE + path, body, content_type="application/json")


def claim(client, worker=ME, **body):
    return post(client, "/claim", worker=worker, types=["script"], **body)


def report(client, run, action, **body):
    return post(client, f"/bridge/runs/{run.run_id}", worker=ME, action=action, **body)


def test_only_a_bridge_claims_on_a_slurm_target_and_a_bridge_only_there(member, experiment, hpc):
    run = submitted(experiment)
    refused = claim(member.api)
    assert refused.status_code == 400 and "slurm target" in refused.json()["error"]["message"]
    execution.compute_target_get_or_create(workspace=hpc.workspace, name="gpu-box")
    wrong = member.api.post(
        "/api/v1/workspaces/default/compute-targets/gpu-box/claim",
        {"worker": ME, "bridge": True},
        content_type="application/json",
    )
    assert wrong.status_code == 400 and "not a slurm target" in wrong.json()["error"]["message"]
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED

    body = claim(member.api, bridge=True).json()

    assert body["run"]["id"] == run.run_id and body["token"].startswith("stu_")
    assert Execution.objects.get(run=run).worker == ME


def test_a_poll_watches_runs_with_a_job_and_finds_claims_a_dead_bridge_left(
    member, experiment, hpc
):
    watched, left, named, mine = (submitted(experiment) for _ in range(4))
    for _run, worker in ((watched, ME), (left, OTHER), (named, OTHER), (mine, ME)):
        execution.run_claim(workspace=None, target="hpc", worker=worker)
    assert report(member.api, watched, "submitted", job_id="41").json()["recorded"]

    body = post(member.api, "/bridge/sync", worker=ME, named=[named.run_id], ask=[mine.run_id])

    assert body.status_code == 200, body.content
    state = body.json()
    (record,) = state["watch"]
    assert (record["run_id"], record["job_id"], record["status"]) == (
        watched.run_id,
        "41",
        "Queued",
    )
    assert record["status_age"] >= 0 and record["ended_age"] >= 0
    orphans = {o["run_id"]: o for o in state["orphans"]}
    assert set(orphans) == {left.run_id, named.run_id}  # never the asking bridge's own
    assert orphans[left.run_id]["worker"] == OTHER and orphans[left.run_id]["claimed_age"] >= 0
    assert state["statuses"] == {mine.run_id: "Preparing"}


def test_a_job_id_is_set_once_and_pending_shows_slurms_reason(member, experiment, hpc):
    run = submitted(experiment)
    claim(member.api, bridge=True)
    assert report(member.api, run, "submitted", job_id="77").json() == {
        "recorded": True,
        "queued": True,
    }
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and run.status_reason == "Slurm job 77 submitted"
    again = report(member.api, run, "submitted", job_id="78")
    assert again.status_code == 409
    assert Execution.objects.get(run=run).slurm_job_id == "77"

    report(member.api, run, "pending", reason="Slurm job 77 pending (Priority)")

    run.refresh_from_db()
    assert run.status_reason == "Slurm job 77 pending (Priority)"


def test_an_end_happens_only_from_the_status_the_bridge_saw_and_ends_the_jobs_tokens(
    member, experiment, hpc
):
    run = submitted(experiment)
    token = claim(member.api, bridge=True).json()["token"]
    report(member.api, run, "submitted", job_id="9")
    stale = report(
        member.api, run, "end", status="Failed", from_status="Running", reason="NODE_FAIL"
    )
    assert stale.json() == {"ended": False}
    assert ApiToken.objects.filter(run=run, revoked_at=None).exists()

    ended = report(
        member.api,
        run,
        "end",
        status="Failed",
        from_status="Queued",
        reason="NODE_FAIL",
        message="Slurm job 9 ended NODE_FAIL before its supervisor reported an end.",
        code="slurm_job_ended",
    )

    assert ended.json() == {"ended": True}
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.status_reason == "NODE_FAIL"
    assert run.error["code"] == "slurm_job_ended"
    assert client_for_secret(token).get(f"/api/v1/runs/{run.run_id}").status_code == 401


def test_a_dead_bridges_claim_is_taken_over_once_with_a_token(member, experiment, hpc):
    run = submitted(experiment)
    execution.run_claim(workspace=None, target="hpc", worker=OTHER)

    first = report(member.api, run, "take_over", from_worker=OTHER).json()
    second = report(member.api, run, "take_over", from_worker=OTHER).json()

    assert first["taken"] and first["token"].startswith("stu_")
    assert second == {"taken": False}
    assert Execution.objects.get(run=run).worker == ME


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": "explode"}, "action"),
        ({"action": "submitted", "job_id": "12; rm -rf /"}, "slurm_job_id"),
        ({"action": "end", "status": "Completed", "from_status": "Queued"}, "status"),
        ({"action": "end", "status": "Failed", "from_status": "Completed"}, "from_status"),
        ({"action": "end", "status": "Failed", "from_status": "Nope"}, "from_status"),
    ],
)
def test_bad_reports_are_refused_and_change_nothing(member, experiment, hpc, body, field):
    run = submitted(experiment)
    before = Run.objects.filter(pk=run.pk).values().get()

    answer = post(member.api, f"/bridge/runs/{run.run_id}", worker=ME, **body)

    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["field"] == field
    assert Run.objects.filter(pk=run.pk).values().get() == before
    assert Execution.objects.get(run=run).slurm_job_id == ""


def test_runs_off_the_target_readers_and_a_runs_own_token_are_refused(
    member, reader, experiment, hpc
):
    elsewhere = submitted(experiment, target="gpu-box")
    assert report(member.api, elsewhere, "pending", reason="x").status_code == 404
    execution.compute_target_get_or_create(workspace=hpc.workspace, name="gpu-box")
    queue_sync = member.api.post(
        "/api/v1/workspaces/default/compute-targets/gpu-box/bridge/sync",
        {"worker": ME},
        content_type="application/json",
    )
    assert queue_sync.status_code == 400
    assert post(reader.api, "/bridge/sync", worker=ME).status_code == 403
    run = submitted(experiment)
    own = client_for_secret(claim(member.api, bridge=True).json()["token"])
    assert post(own, "/bridge/sync", worker=ME).status_code == 403
    assert report(own, run, "submitted", job_id="5").status_code == 403
    assert Execution.objects.get(run=run).slurm_job_id == ""
