"""The Compute page: every target of the workspace with its kind, queued and running
runs, the Slurm jobs serving them and their pending reason; linked from the
navigation; nothing of another workspace."""

from studio.execution import services as execution
from studio.execution.models import Execution
from studio.tracking.models import RunStatus
from tests.web.listing_helpers import get


def test_it_shows_targets_kinds_runs_and_slurm_jobs(client, member, workspace, experiment):
    execution.compute_target_get_or_create(
        workspace=workspace,
        name="hpc",
        kind="slurm",
        slurm_settings={"partition": "debug", "time_limit": "02:00:00"},
    )
    run = execution.run_submit(
        experiment=experiment, submitted_by="bob", script="t.py", compute_target="hpc"
    )
    execution.run_enqueue(run=run)
    claimed = execution.run_claim(workspace=workspace, target="hpc", worker="vm:hpc:1:2")
    execution.slurm_job_record(run=claimed, job_id="4242")
    execution.run_slurm_pending(run=claimed, reason="Slurm job 4242 pending (Priority)")
    client.force_login(member)

    body = get(client, "/compute/")

    assert 'href="/compute/" aria-current="page"' in body
    row = body.split('id="target-hpc"')[1].split("</tr>")[0]
    assert "<td>slurm</td>" in row and "partition <code>debug</code>" in row
    assert "<code>4242</code>" in row and "pending (Priority)" in row
    assert '<td class="num">1</td>' in row  # queued
    assert 'id="target-local"' in body
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    assert Execution.objects.get(run=run).slurm_job_id == "4242"
    page = get(client, f"/runs/{run.run_id}/")
    assert "Slurm job</th><td><code>4242</code>" in page


def test_another_workspaces_targets_are_not_shown(client, member, other_workspace):
    execution.compute_target_get_or_create(workspace=other_workspace, name="secret-hpc")
    client.force_login(member)
    assert "secret-hpc" not in get(client, "/compute/")
