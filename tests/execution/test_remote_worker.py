"""A worker on another machine (issue 13, item 5): ``studio worker`` with nothing but
the studio's URL and its own token, in a STUDIO_HOME of its own, with no database
settings, claims a run, fetches its snapshot, streams its log and uploads its
outputs over the API with the run's token; cancel reaches it the same way."""

from __future__ import annotations

import subprocess

import psutil
import pytest

from studio.accounts.models import Role
from studio.execution.models import WorkerBeat
from tests.conftest import PYTHON
from tests.execution.conftest import other_machine_env
from tests.figures import report
from tests.jobs import wait_for_status, wait_terminal, wait_until

pytestmark = pytest.mark.slow

TARGET = "gpu-box"

# Reads a file of its snapshot, prints, writes an output, waits for the gate file.
TRAIN = """
    import sys, time
    from pathlib import Path
    data = Path("data/words.txt").read_text().strip()
    print("snapshot says", data, flush=True)
    for i in range(3):
        print(f"epoch {i}", flush=True)
    Path("outputs").mkdir(exist_ok=True)
    Path("outputs/model.txt").write_text("weights of " + data)
    while not Path(sys.argv[1]).exists():
        time.sleep(0.05)
    print("done", flush=True)
"""

FOREVER = """
    import subprocess, time
    subprocess.Popen(["sleep", "1000"])
    print("ready", flush=True)
    time.sleep(1000)
"""


def start_remote(live_server, tmp_path, role=Role.CONTRIBUTOR, env=None):
    """``studio worker --target gpu-box`` as on another machine: its own STUDIO_HOME
    and HOME, STUDIO_SERVER_URL and STUDIO_TOKEN (a token of ``role`` narrowed to
    "default"), no DATABASE_URL or any other setting of this test's server; ``env``:
    more variables."""
    home = tmp_path / "remote-home"
    env = {
        **other_machine_env(live_server, home, "vm-3", role),
        "STUDIO_CANCEL_GRACE_SECONDS": "2",
        **(env or {}),
    }
    proc = subprocess.Popen(
        [PYTHON, "-m", "studio", "worker", "--target", TARGET, "-w", "default"],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    proc.home = home
    return proc


@pytest.fixture
def remote_worker(live_server, submitter, tmp_path):
    proc = start_remote(live_server, tmp_path)
    yield proc
    proc.kill()
    proc.wait()


def test_a_worker_whose_token_may_not_claim_stops_with_the_studios_answer(
    live_server, submitter, tmp_path
):
    proc = start_remote(live_server, tmp_path, role=Role.READER)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "the studio refused" in out and "read-only" in out


def log_page(client, run_id: str) -> str:
    response = client.get(f"/runs/{run_id}/log/", {"name": "logs/std_log.txt"})
    if response.status_code == 404:
        return ""  # not begun yet
    assert response.status_code == 200, response.content[:200]
    return response.json()["text"]


def test_a_worker_with_only_a_url_and_a_token_runs_a_script_to_completed(
    remote_worker, submit, source, client, submitter, tmp_path
):
    (source.path / "data").mkdir()
    (source.path / "data" / "words.txt").write_text("hello remote\n")
    gate = tmp_path / "gate"
    client.force_login(submitter)
    # Idle, it is on the Compute page already: it polls the claim route.
    wait_until(lambda: WorkerBeat.objects.filter(target=TARGET).exists())
    page = client.get("/compute/").content.decode()
    assert "last seen" in page and "vm-3" not in page  # the host, not the account
    run = submit(source.write("train.py", TRAIN), gate, target=TARGET)

    wait_for_status(run, "Running")
    while_running = wait_until(lambda: "epoch 2" in (t := log_page(client, run.id)) and t)
    assert "snapshot says hello remote" in while_running
    assert run.get_status() == "Running"
    gate.touch()
    assert wait_terminal(run) == "Completed", run.get_details()

    log = log_page(client, run.id)
    assert "epoch 0" in log and "done" in log
    response = client.get(f"/runs/{run.id}/files/outputs/model.txt")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"weights of hello remote"
    from studio.execution.models import Execution

    assert Execution.objects.get(run__run_id=run.id).exit_code == 0
    # Nothing of a database on the worker's side: it never set up Django.
    home = remote_worker.home
    assert not [p for p in home.rglob("*") if p.suffix in (".sqlite3", ".db", ".sqlite")]
    assert not (home / ".studio" / "secret_key").exists()
    assert (home / ".studio" / "supervisors" / f"{run.id}.log").exists()
    from studio.tracking.models import Run

    record = Run.objects.get(run_id=run.id)
    report(
        "worker over the API | submit->Running "
        f"{(record.started_at - record.created_at).total_seconds():.2f} s (poll 1 s, snapshot"
        " as one tar) | no database, own STUDIO_HOME"
    )
    # The run's token died with the run: the job and its supervisor reach nothing now.
    from studio.accounts.models import ApiToken

    (token,) = ApiToken.objects.filter(run__run_id=run.id)
    assert token.user.username == submitter.username and token.workspace.name == "default"
    assert "worker vm-3" not in token.name


def test_cancel_reaches_a_run_of_a_worker_over_the_api_and_leaves_nothing(
    remote_worker, submit, source, client, submitter
):
    run = submit(source.write("forever.py", FOREVER), target=TARGET)
    client.force_login(submitter)
    wait_until(lambda: "ready" in log_page(client, run.id))

    run.cancel()

    assert wait_terminal(run) == "Canceled"

    def leftovers():
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.environ().get("STUDIO_RUN_ID") == run.id and proc.status() != "zombie":
                    found.append(proc)
            except psutil.Error:
                continue
        return found

    wait_until(lambda: not leftovers(), timeout=10)
    assert "ready" in log_page(client, run.id)


def test_a_pipeline_on_the_workers_target_is_driven_and_its_steps_run_over_the_api(
    remote_worker, jobs, ws, exp, source, client, submitter
):
    (source.path / "data").mkdir()
    (source.path / "data" / "words.txt").write_text("piped\n")
    steps = [
        jobs.ScriptStep(
            name=name,
            script=source.write(f"{name}.py", text),
            source_directory=str(source.path),
            compute_target=TARGET,
            after=after,
        )
        for name, text, after in (
            ("prep", "print(open('data/words.txt').read().strip(), 'prepared')", []),
            ("train", "print('trained')", ["prep"]),
        )
    ]
    run = exp.submit(jobs.Pipeline(ws, steps=steps))

    assert wait_terminal(run, timeout=60) == "Completed", run.get_details()
    children = {c.display_name: c for c in run.get_children()}
    assert {name: c.get_status() for name, c in children.items()} == {
        "prep": "Completed",
        "train": "Completed",
    }
    client.force_login(submitter)
    assert "piped prepared" in log_page(client, children["prep"].id)
    assert "trained" in log_page(client, children["train"].id)
