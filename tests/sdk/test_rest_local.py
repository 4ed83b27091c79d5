"""The ``local`` target over HTTP (issue 10, item 10): the SDK talking to a remote
studio runs the script on the submitting machine under Studio's supervisor, which
reports over the API: status, the live log in chunks, heartbeats, outputs at the
end, and a cancel from the studio stops the process tree. The supervisor here has
no database (no DATABASE_URL in its environment): only the API."""

from __future__ import annotations

import textwrap
import time
from datetime import datetime

import httpx
import psutil
import pytest

from studio.rules.filenames import LIVE_LOG
from tests.figures import report
from tests.jobs import kill_leftovers, tree, wait_for_status, wait_terminal, wait_until


@pytest.fixture
def remote(rest_workspace, sdk, monkeypatch):
    """The REST workspace; what a test leaves running on this machine is killed."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    yield rest_workspace
    kill_leftovers()


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()

    def write(name: str, text: str) -> str:
        (folder / name).write_text(textwrap.dedent(text))
        return name

    write.path = folder
    return write


def submit(sdk, ws, source, script: str, *arguments) -> object:
    config = sdk.ScriptRunConfig(
        source_directory=str(source.path), script=script, arguments=list(arguments)
    )
    return sdk.Experiment(ws, "on-my-machine").submit(config)


def log_of(ws, run) -> str:
    data, _ = ws._store.read_file(run.id, LIVE_LOG)
    return data.decode()


@pytest.mark.slow
def test_a_local_run_submitted_over_http_runs_here_and_completes_with_its_log_metrics_and_outputs(
    remote, sdk, source
):
    from studio.accounts.models import ApiToken

    script = source(
        "train.py",
        """
        import sys
        from pathlib import Path
        from studio.sdk import Run
        run = Run.get_context()
        run.log("lr", float(sys.argv[2]))
        print("trained with", sys.argv[1:])
        print("a warning", file=sys.stderr)
        Path("outputs").mkdir(exist_ok=True)
        Path("outputs/model.txt").write_text("weights")
        """,
    )
    started = time.monotonic()
    run = submit(sdk, remote, source, script, "--lr", 0.1)
    wait_for_status(run, ("Running", "Finalizing", "Completed"))
    running = time.monotonic() - started

    assert wait_terminal(run) == "Completed"
    report(
        f"local target over HTTP | submit->Running {running:.2f} s, "
        f"submit->Completed {time.monotonic() - started:.2f} s (client-side supervisor)"
    )

    details = run.get_details()
    assert details["target"] == "local"
    assert run.get_metrics() == {"lr": 0.1}
    log = log_of(remote, run)
    assert "trained with ['--lr', '0.1']" in log
    assert "a warning" in log
    assert "outputs/model.txt" in run.get_file_names()
    # The job reported with a token for its run only, revoked once it ended.
    tokens = ApiToken.objects.filter(run__run_id=run.id)
    assert tokens.count() == 1
    assert tokens.get().revoked_at is not None


@pytest.mark.slow
def test_the_live_log_of_a_local_run_over_http_is_readable_while_it_runs(
    remote, sdk, source, tmp_path
):
    marker = tmp_path / "go-on"
    script = source(
        "wait.py",
        f"""
        import pathlib, time
        print("first line", flush=True)
        deadline = time.time() + 30
        while not pathlib.Path({str(marker)!r}).exists() and time.time() < deadline:
            time.sleep(0.05)
        print("last line")
        """,
    )
    run = submit(sdk, remote, source, script)

    wait_until(
        lambda: "first line" in log_of(remote, run) if run.get_status() == "Running" else False
    )
    assert "last line" not in log_of(remote, run)
    marker.touch()
    assert wait_terminal(run) == "Completed"
    assert "last line" in log_of(remote, run)


@pytest.mark.slow
def test_a_failing_local_script_over_http_fails_the_run_with_its_error(remote, sdk, source):
    script = source(
        "broken.py",
        """
        import sys
        print("about to fail", file=sys.stderr)
        raise SystemExit(3)
        """,
    )
    run = submit(sdk, remote, source, script)

    assert wait_terminal(run) == "Failed"

    error = run.get_details()["error"]
    assert error["code"] == "script_failed"
    assert error["exit_code"] == 3
    assert "about to fail" in error["stderr"]
    assert "exited with code 3" in log_of(remote, run)


@pytest.mark.slow
def test_cancel_from_the_studio_stops_the_process_tree_on_the_submitting_machine(
    remote, sdk, source, tmp_path, api_user, live_server
):
    pids = tmp_path / "pids"
    script = source(
        "spawner.py",
        f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)"])
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        print("ready", flush=True)
        time.sleep(1000)
        """,
    )
    run = submit(sdk, remote, source, script)
    wait_for_status(run, "Running")
    wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    processes = [psutil.Process(int(pid)) for pid in pids.read_text().split()]
    assert all(p.is_running() for p in processes)

    # Through the API, as another machine would.
    response = httpx.post(
        f"{live_server.url}/api/v1/runs/{run.id}/cancel",
        json={},
        headers={"Authorization": f"Bearer {api_user.secret}"},
    )
    assert response.status_code == 200, response.text

    assert wait_terminal(run) == "Canceled"
    assert all(not tree(p.pid) for p in processes)
    assert "cancel requested: stopping the processes" in log_of(remote, run)


@pytest.mark.slow
def test_a_pipeline_of_local_steps_over_http_runs_here_step_after_step(remote, sdk, source):
    first = source("first.py", "print('first step')\n")
    second = source("second.py", "print('second step')\n")
    one = sdk.PythonScriptStep(first, name="one", source_directory=str(source.path))
    two = sdk.PythonScriptStep(second, name="two", source_directory=str(source.path))
    two.run_after(one)

    run = sdk.Experiment(remote, "pipelines").submit(sdk.Pipeline(remote, steps=[two]))

    assert isinstance(run, sdk.PipelineRun)
    assert run.wait_for_completion(show_output=False) == "Completed"
    steps = {step.name: step for step in run.get_steps()}
    assert sorted(steps) == ["one", "two"]
    assert "first step" in log_of(remote, steps["one"])
    assert "second step" in log_of(remote, steps["two"])
    one_details, two_details = steps["one"].get_details(), steps["two"].get_details()
    started = datetime.fromisoformat(two_details["startTimeUtc"])
    assert started >= datetime.fromisoformat(one_details["endTimeUtc"])
    assert [s.id for s in run.find_step_run("two")] == [steps["two"].id]
