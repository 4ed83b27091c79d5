"""The Slurm bridge (issue 13, items 2 and 5), end to end on the local one-node Slurm
of scripts/slurm-dev.sh: ``studio worker --target hpc`` on a slurm target submits
each run as a Slurm job running Studio's supervisor, and everything about the run
behaves as for a local one (log, outputs, exit code, cancel); a job that ends without
its supervisor reporting fails its run with the Slurm state; bridges killed,
restarted or several at once never submit a run twice. The bridge runs both ways a
login node may run it: with the database's settings, and with nothing but the
studio's URL and a worker token (its own STUDIO_HOME, no database settings)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time

import psutil
import pytest

from studio.execution import slurm
from studio.sdk import ComputeTarget, SlurmCompute
from tests.conftest import PYTHON
from tests.execution.conftest import _passed_env, other_machine_env
from tests.jobs import execution, wait_for_status, wait_terminal, wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.usefixtures("slurm_cluster")]

TARGET = "hpc"

# Prints, writes an output, waits for the file its argument names (if any), exits 0.
WAIT_FOR_FILE = """
    import sys, time
    from pathlib import Path
    print("hello from slurm", flush=True)
    Path("outputs").mkdir(exist_ok=True)
    Path("outputs/result.txt").write_text("42")
    print("ready", flush=True)
    while len(sys.argv) > 1 and not Path(sys.argv[1]).exists():
        time.sleep(0.05)
"""

# Ignores SIGTERM (or not) and starts a tree: a shell with two sleeps.
TREE = """
    import signal, subprocess, sys, time
    if sys.argv[1] == "ignore":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    subprocess.Popen(["bash", "-c", "sleep 1000 & sleep 1000 & wait"])
    time.sleep(0.3)
    print("ready", flush=True)
    time.sleep(1000)
"""


@pytest.fixture
def hpc(ws):
    return ComputeTarget.create(ws, TARGET, SlurmCompute(partition="debug"))


@pytest.fixture(params=["database", "token"])
def start_bridge(request, start_worker, live_server, tmp_path):
    """Start a bridge of a target as on a login node: with the database's settings
    (``start_worker``), or as on a machine with nothing but the studio's URL and a
    worker token: a STUDIO_HOME and HOME of its own, STUDIO_TOKEN (a contributor's,
    narrowed to "default"), no DATABASE_URL or any other setting of this server."""
    if request.param == "database":
        yield start_worker
        return
    home = tmp_path / "login-node"
    machine = other_machine_env(live_server, home, "login-node")
    started: list[subprocess.Popen] = []

    def start(target: str, *extra: str) -> subprocess.Popen:
        env = {**machine, "SLURM_CONF": os.environ["SLURM_CONF"], **_passed_env()}
        proc = subprocess.Popen(
            [PYTHON, "-m", "studio", "worker", "--target", target, "-w", "default", *extra],
            env=env,
            cwd=home,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        proc.home = home
        started.append(proc)
        return proc

    yield start
    for proc in started:  # what each bridge printed, shown when the test failed
        proc.kill()
        readable = proc.stdout is not None and not proc.stdout.closed
        print(f"--- bridge {proc.pid}:\n{proc.communicate()[0] if readable else ''}")


@pytest.fixture
def bridge(hpc, start_bridge):
    return lambda *extra: start_bridge(TARGET, *extra)


def log_of(run) -> str:
    try:
        data, _ = run._store.read_file(run.id, "logs/std_log.txt")
    except Exception:
        return ""
    return data.decode(errors="replace")


def jobs_named(run_id: str) -> list[slurm.Job]:
    return [j for j in slurm.jobs().values() if j.name == slurm.job_name(run_id)]


def processes_of(run_id: str) -> list[psutil.Process]:
    """Live processes of the run: its script's tree (STUDIO_RUN_ID) and its supervisor."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("STUDIO_RUN_ID") == run_id or (
                run_id in proc.cmdline() and "studio.execution.supervisor" in proc.cmdline()
            ):
                found.append(proc)
        except psutil.Error:
            continue
    return found


# WAIT_FOR_FILE's first lines, and the job's environment as an output.
DUMP_ENV = """
    import json, os
    from pathlib import Path
    print("hello from slurm", flush=True)
    Path("outputs").mkdir(exist_ok=True)
    Path("outputs/result.txt").write_text("42")
    Path("outputs/env.json").write_text(json.dumps(dict(os.environ)))
"""


def test_a_run_completes_as_a_slurm_job_with_its_log_and_outputs(
    submit, source, bridge, live_server
):
    bridge()
    run = submit(source.write("train.py", DUMP_ENV), target=TARGET)

    assert wait_terminal(run, timeout=60) == "Completed"
    record = execution(run.id)
    assert record.slurm_job_id.isdigit()
    (job,) = jobs_named(run.id)
    assert job.job_id == record.slurm_job_id
    wait_until(lambda: slurm.jobs()[job.job_id].state == "COMPLETED", timeout=15)
    assert "hello from slurm" in log_of(run)
    data, _ = run._store.read_file(run.id, "outputs/result.txt")
    assert data == b"42"
    assert record.exit_code == 0
    # The job reached the studio over its API only, with its run's token: nothing of
    # the database or the server's STUDIO_HOME; azureml-core's variables (issue 12).
    data, _ = run._store.read_file(run.id, "outputs/env.json")
    env = json.loads(data)
    assert "DATABASE_URL" not in env and "STUDIO_TEST_SQLITE" not in env
    assert os.environ["STUDIO_HOME"] not in data.decode()
    assert env["STUDIO_TRACKING_URI"] == live_server.url
    assert env["STUDIO_TOKEN"].startswith("stu_")
    assert env["AZUREML_RUN_ID"] == run.id
    assert env["AZUREML_SERVICE_ENDPOINT"] == f"{live_server.url}/azureml"
    assert env["AZUREML_RUN_TOKEN"].count(".") == 2  # a JWT of the job's token
    assert {"AZUREML_ARM_WORKSPACE_NAME", "AZUREML_EXPERIMENT_ID"} <= set(env)


def test_a_bridge_with_only_a_token_keeps_no_database_and_reports_slurm_states(
    submit, source, hpc, start_bridge, tmp_path
):
    """Item 5 for Slurm: the token-only bridge runs a job to the end and fails one that
    Slurm ended by hand, all over the API; its STUDIO_HOME never holds a database."""
    proc = start_bridge(TARGET)
    if not hasattr(proc, "home"):
        pytest.skip("the database bridge: covered by the tests above")
    done = submit(source.write("ok.py", "print('over the api')\n"), target=TARGET)
    held = submit(source.write("wait.py", WAIT_FOR_FILE), tmp_path / "never", target=TARGET)
    assert wait_terminal(done, timeout=60) == "Completed"
    wait_until(lambda: "ready" in log_of(held), timeout=60)

    subprocess.run(["scancel", execution(held.id).slurm_job_id], check=True)

    assert wait_terminal(held, timeout=30) == "Failed"
    assert held.get_details()["error"]["code"] == "slurm_job_ended"
    from studio.tracking.models import Run

    assert Run.objects.get(run_id=held.id).status_reason == "CANCELLED by user"
    assert "over the api" in log_of(done)
    files = [p.name for p in proc.home.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith((".sqlite3", ".db"))], files
    proc.kill()
    output = proc.communicate()[0]
    assert f"submitted {done.id} as Slurm job" in output and "refused" not in output


def test_an_exit_code_fails_the_run_with_it(submit, source, bridge):
    bridge()
    run = submit(source.write("bad.py", "import sys\nprint('oops')\nsys.exit(3)\n"), target=TARGET)
    assert wait_terminal(run, timeout=60) == "Failed"
    error = run.get_details()["error"]
    assert error["code"] == "script_failed" and error["exit_code"] == 3


@pytest.mark.parametrize("sigterm", ["honour", "ignore"])
def test_cancel_goes_through_the_supervisor_inside_the_job_and_leaves_nothing(
    submit, source, bridge, monkeypatch, sigterm
):
    monkeypatch.setenv("STUDIO_CANCEL_GRACE_SECONDS", "2")
    bridge()
    run = submit(source.write("tree.py", TREE), sigterm, target=TARGET)
    wait_until(lambda: "ready" in log_of(run), timeout=60)
    wait_until(lambda: len(processes_of(run.id)) >= 5)  # supervisor, script, bash, 2 sleeps
    job_id = execution(run.id).slurm_job_id

    run.cancel()

    assert wait_terminal(run) == "Canceled"
    assert [p for p in processes_of(run.id) if "STUDIO_RUN_ID" in _env(p)] == []
    log = log_of(run)
    assert ("SIGKILL was needed" in log) == (sigterm == "ignore")
    # The supervisor answered: the job ends on its own (no scancel), leaving nothing.
    wait_until(lambda: processes_of(run.id) == [], timeout=15)
    wait_until(lambda: slurm.jobs()[job_id].state == "COMPLETED", timeout=15)


def _env(proc: psutil.Process) -> dict:
    try:
        return proc.environ()
    except psutil.Error:
        return {}


def test_scancel_by_hand_fails_the_run_as_cancelled_by_user(submit, source, bridge, tmp_path):
    bridge()
    run = submit(source.write("wait.py", WAIT_FOR_FILE), tmp_path / "never", target=TARGET)
    wait_until(lambda: "ready" in log_of(run), timeout=60)

    subprocess.run(["scancel", execution(run.id).slurm_job_id], check=True)

    assert wait_terminal(run, timeout=30) == "Failed"
    details = run.get_details()
    assert details["error"]["code"] == "slurm_job_ended"
    assert "CANCELLED" in details["error"]["message"]
    wait_until(lambda: processes_of(run.id) == [], timeout=15)
    from studio.tracking.models import Run

    assert Run.objects.get(run_id=run.id).status_reason == "CANCELLED by user"


def test_a_job_over_its_time_limit_fails_the_run_as_timeout(submit, source, ws, start_worker):
    # Slurm counts time limits in minutes and checks them every 30 s: up to ~90 s.
    ComputeTarget.create(ws, "short", SlurmCompute(partition="debug", time_limit="1"))
    start_worker("short")
    run = submit(source.write("forever.py", "import time\nprint('ready', flush=True)\ntime.sleep(600)\n"), target="short")  # fmt: skip

    assert wait_terminal(run, timeout=180) == "Failed"
    from studio.tracking.models import Run

    assert Run.objects.get(run_id=run.id).status_reason == "TIMEOUT"
    wait_until(lambda: processes_of(run.id) == [], timeout=15)


def test_a_run_pending_in_slurm_shows_queued_with_the_pending_reason(
    ws, submit, source, start_bridge
):
    ComputeTarget.create(
        ws, "later", SlurmCompute(partition="debug", extra_sbatch_args=["--begin=now+600"])
    )
    start_bridge("later")
    run = submit(source.write("t.py", "print(1)\n"), target="later")
    from studio.tracking.models import Run

    wait_until(lambda: "BeginTime" in Run.objects.get(run_id=run.id).status_reason)
    assert run.get_status() == "Queued"
    job_id = execution(run.id).slurm_job_id

    run.cancel()  # Queued: Canceled at once, and the bridge takes the job out of Slurm

    assert run.get_status() == "Canceled"
    wait_until(lambda: slurm.jobs()[job_id].state == "CANCELLED", timeout=15)


def first_line(proc: subprocess.Popen, timeout: float = 60) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the bridge printed nothing"
    return proc.stdout.readline()


def test_a_bridge_killed_mid_run_and_restarted_adopts_the_run(submit, source, bridge, tmp_path):
    first = bridge()
    go = tmp_path / "go"
    run = submit(source.write("wait.py", WAIT_FOR_FILE), go, target=TARGET)
    wait_for_status(run, "Running", timeout=60)

    first.send_signal(signal.SIGKILL)
    first.wait()
    second = bridge()
    assert "adopted 1 run(s) with a Slurm job" in first_line(second)
    go.touch()

    assert wait_terminal(run, timeout=60) == "Completed"
    assert len(jobs_named(run.id)) == 1
    second.kill()
    assert "claimed" not in second.communicate()[0]


def test_three_bridges_submit_each_run_exactly_once(submit, source, bridge):
    for _ in range(3):
        bridge()
    script = source.write("quick.py", "print('quick')\n")
    runs = [submit(script, target=TARGET) for _ in range(8)]

    assert {wait_terminal(run, timeout=90) for run in runs} == {"Completed"}
    for run in runs:
        assert [j.job_id for j in jobs_named(run.id)] == [execution(run.id).slurm_job_id]


def test_a_pipelines_steps_on_a_slurm_target_each_run_as_a_job_of_their_own(
    jobs, ws, exp, source, bridge
):
    bridge()
    steps = [
        jobs.ScriptStep(
            name=name,
            script=source.write(f"{name}.py", f"print('step {name}')\n"),
            source_directory=str(source.path),
            compute_target=TARGET,
            after=after,
        )
        for name, after in (("prepare", []), ("train", ["prepare"]))
    ]
    pipeline = exp.submit(jobs.Pipeline(ws, steps=steps))

    assert wait_terminal(pipeline, timeout=120) == "Completed"
    children = {c.display_name: c for c in pipeline.get_children()}
    job_ids = {name: execution(child.id).slurm_job_id for name, child in children.items()}
    assert all(j.isdigit() for j in job_ids.values()) and len(set(job_ids.values())) == 2
    for name, child in children.items():
        assert child.get_status() == "Completed"
        assert [j.job_id for j in jobs_named(child.id)] == [job_ids[name]]
        assert f"step {name}" in log_of(child)
    assert execution(pipeline.id).slurm_job_id == ""  # the driver runs on the login node


def _dead_bridge(target: str) -> str:
    """The name of a bridge of ``target`` on this host whose process is gone."""
    import socket
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return f"{socket.gethostname()}:{target}:{gone.pid}:{int(time.time())}"


@pytest.mark.parametrize("submitted", [False, True], ids=["before-sbatch", "after-sbatch"])
def test_a_claim_left_by_a_bridge_killed_before_recording_its_job_is_submitted_once(
    submit, source, hpc, start_bridge, live_server, submitted
):
    import os
    import sys

    from studio.core.spawn import python_path
    from studio.execution import services as execution_services

    run = submit(source.write("t.py", "print('once')\n"), target=TARGET)
    assert run.get_status() == "Queued"  # no bridge yet
    dead = _dead_bridge(TARGET)
    assert execution_services.run_claim(workspace=None, target=TARGET, worker=dead).run_id == run.id
    if submitted:  # it died right after sbatch: the job is in Slurm, not on the run
        script = slurm.batch_script(
            sys.executable, run.id, ["--worker", dead, "--server", live_server.url]
        )
        slurm.submit(
            {"partition": "debug"},
            run_id=run.id,
            output="/dev/null",
            script=script,
            env={**os.environ, "PYTHONPATH": python_path()},
        )

    start_bridge(TARGET)

    assert wait_terminal(run, timeout=60) == "Completed"
    (job,) = jobs_named(run.id)
    # The job may end the run before the bridge's next poll records it: it is recorded.
    wait_until(lambda: execution(run.id).slurm_job_id == job.job_id, timeout=15)
    assert "once" in log_of(run)
