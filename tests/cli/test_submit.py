"""``studio run submit-script``, ``studio run monitor-logs`` and ``studio worker``:
scripts really run (under a supervisor, or a worker's), on the test database."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from tests.conftest import PYTHON
from tests.jobs import wait_terminal

ECHO = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    Path("outputs").mkdir(exist_ok=True)
    Path("outputs/argv.json").write_text(json.dumps(sys.argv[1:]))
    print("argv", json.dumps(sys.argv[1:]))
    """
)


@pytest.fixture
def folder(jobs, tmp_path):
    (tmp_path / "echo.py").write_text(ECHO)
    return tmp_path


def argv_of(run) -> list[str]:
    run.download_file("outputs/argv.json", "argv.json")
    with open("argv.json") as f:
        return json.load(f)


def test_submit_script_prints_the_new_run_and_the_script_gets_its_arguments_verbatim(
    cli, folder, jobs
):
    args = ["--lr", "0.1", "; rm -rf ~", "$(id)", "`id`", "--", "-e", "x"]
    printed = cli("run", "submit-script", "-e", "cli-exp", "echo.py", *args).json()

    assert printed["type"] == "script"
    assert printed["experiment"] == "cli-exp"
    assert printed["script"] == "echo.py"
    assert printed["arguments"] == args
    assert printed["compute_target"] == "local"
    run = jobs.Workspace.from_config().get_run(printed["id"])
    assert wait_terminal(run) == "Completed"
    assert argv_of(run) == args


def test_a_double_dash_before_the_script_ends_studio_options(cli, folder, jobs):
    printed = cli("run", "submit-script", "-e", "cli-exp", "--", "echo.py", "-e", "--").json()
    assert printed["script"] == "echo.py"
    assert printed["arguments"] == ["-e", "--"]


def test_submit_script_with_a_target_waits_queued_for_a_worker(cli, folder):
    printed = cli("run", "submit-script", "-e", "cli-exp", "--target", "gpu-cluster", "echo.py")
    data = printed.json()
    assert data["status"] == "Queued"
    assert data["compute_target"] == "gpu-cluster"


def test_a_runconfig_of_the_attached_folder_gives_script_arguments_and_source_directory(
    cli, folder, jobs, monkeypatch
):
    cli("folder", "attach", "-w", "default", "-e", "attached")
    config = json.loads((folder / ".studio" / "sklearn.runconfig").read_text())
    config["script"] = "echo.py"
    (folder / ".studio" / "sklearn.runconfig").write_text(json.dumps(config))
    below = folder / "deep" / "er"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)

    printed = cli("run", "submit-script", "-c", "sklearn").json()

    assert printed["experiment"] == "attached"  # the attached folder's default
    assert printed["script"] == "echo.py"  # found in the folder holding .studio/
    assert printed["arguments"] == ["--regularization", "0.5"]
    run = jobs.Workspace.from_config().get_run(printed["id"])
    assert wait_terminal(run) == "Completed"


def test_arguments_on_the_command_line_replace_the_runconfig_ones(cli, folder):
    cli("folder", "attach", "-w", "default")
    printed = cli(
        "run", "submit-script", "-e", "x", "-c", "local", "--target", "pool", "echo.py", "--fast"
    ).json()
    assert printed["arguments"] == ["--fast"]
    assert printed["compute_target"] == "pool"  # --target wins over the runconfig


def test_a_runconfig_given_as_a_path_is_relative_to_its_own_folder(cli, folder, tmp_path):
    conf = tmp_path / "configs"
    conf.mkdir()
    (conf / "echo.py").write_text(ECHO)
    (conf / "mine.runconfig").write_text(
        json.dumps({"script": "echo.py", "arguments": [1, "two"], "_note": "ignored"})
    )
    printed = cli(
        "run", "submit-script", "-e", "x", "--target", "pool", "-c", str(conf / "mine.runconfig")
    ).json()
    assert printed["script"] == "echo.py"
    assert printed["arguments"] == ["1", "two"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"script": "echo.py", "environment": "conda"}', "unknown key 'environment'"),
        ('["echo.py"]', "must be a JSON object"),
        ('{"arguments": "--lr 0.1"}', "'arguments'"),
        ("{not json", "cannot read"),
    ],
)
def test_a_bad_runconfig_is_a_usage_error_and_submits_nothing(cli, folder, jobs, content, message):
    (folder / "bad.runconfig").write_text(content)
    result = cli("run", "submit-script", "-e", "x", "-c", "bad.runconfig", "echo.py")
    assert result.code == 2
    assert message in result.err
    assert result.out == ""
    assert cli("run", "list", "-e", "x").json() == []


def test_an_unknown_runconfig_name_is_a_usage_error(cli, folder):
    cli("folder", "attach", "-w", "default")
    result = cli("run", "submit-script", "-e", "x", "-c", "nope", "echo.py")
    assert result.code == 2
    assert "no run configuration 'nope'" in result.err


def test_submit_script_needs_an_experiment_and_a_script(cli, folder):
    assert cli("run", "submit-script", "echo.py").code == 2
    result = cli("run", "submit-script", "-e", "x")
    assert result.code == 2
    assert "SCRIPT" in result.err


def test_a_script_outside_the_source_directory_is_refused(cli, folder, jobs):
    result = cli("run", "submit-script", "-e", "x", "../elsewhere.py")
    assert result.code == 1
    assert "is not in" in result.err
    assert cli("run", "list", "-e", "x").json() == []


# --- monitor-logs ----------------------------------------------------------------------

STEPPED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    print("first line", flush=True)
    go = Path(sys.argv[1])
    while not go.exists():
        time.sleep(0.05)
    print("second line")
    print("é ünïcode")
    sys.exit(int(sys.argv[2]))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(("exit_code", "status"), [(0, "Completed"), (3, "Failed")])
def test_monitor_logs_prints_lines_as_they_come_and_exits_with_the_outcome(
    jobs, subprocess_env, tmp_path, exit_code, status
):
    (tmp_path / "stepped.py").write_text(STEPPED)
    go = tmp_path / "go"
    exp = jobs.Experiment(jobs.Workspace.from_config(), "monitored")
    run = exp.submit(
        jobs.ScriptRunConfig(
            source_directory=str(tmp_path), script="stepped.py", arguments=[go, exit_code]
        )
    )
    monitor = subprocess.Popen(
        [PYTHON, "-m", "studio", "run", "monitor-logs", "-r", run.id],
        env=subprocess_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        # The first line arrives while the script still waits: followed live.
        assert monitor.stdout.readline() == "first line\n"
        assert run.get_status() == "Running"
        go.touch()
        rest, err = monitor.communicate(timeout=60)
    finally:
        monitor.kill()
    assert rest.splitlines()[:2] == ["second line", "é ünïcode"]
    assert monitor.returncode == (0 if status == "Completed" else 1)
    assert f"ended {status}" in err
    if status == "Failed":
        assert "exit code 3" in err


def test_monitor_logs_of_a_finished_run_prints_the_whole_log_at_once(cli, folder, jobs):
    run = jobs.Experiment(jobs.Workspace.from_config(), "done").submit(
        jobs.ScriptRunConfig(source_directory=".", script="echo.py", arguments=["a b"])
    )
    wait_terminal(run)
    result = cli("run", "monitor-logs", "-r", run.id)
    assert result.code == 0
    assert result.out == 'argv ["a b"]\n'
    assert result.err == f"studio: run {run.id} ended Completed\n"


def test_monitor_logs_of_an_unknown_run_is_an_error(cli, folder):
    result = cli("run", "monitor-logs", "-r", "nope_1_deadbeef")
    assert result.code == 1
    assert "[not_found]" in result.err


# --- worker ----------------------------------------------------------------------------


def test_worker_runs_the_queued_runs_of_its_target(cli, folder, jobs, live_server, submitter):
    queued = cli("run", "submit-script", "-e", "x", "--target", "cpu", "echo.py", "hi").json()
    other = cli("run", "submit-script", "-e", "x", "--target", "gpu", "echo.py").json()

    result = cli(
        "worker", "--target", "cpu", "-w", "default", "--server", live_server.url, "--max-runs", "1"
    )

    assert result.code == 0, result.err
    assert f"claimed {queued['id']}" in result.out
    ws = jobs.Workspace.from_config()
    run = ws.get_run(queued["id"])
    # --max-runs returns once its supervisors exited: the run is already final.
    assert run.get_status() == "Completed"
    assert argv_of(run) == ["hi"]
    assert ws.get_run(other["id"]).get_status() == "Queued"  # not its target


def test_worker_of_an_unknown_workspace_is_an_error(cli, folder):
    result = cli(
        "worker", "--target", "cpu", "-w", "nowhere", "--server", "http://127.0.0.1:9",
        "--max-runs", "1",
    )  # fmt: skip
    assert result.code == 1
    assert "[not_found]" in result.err


@pytest.mark.parametrize(
    "argv",
    [["worker"], ["worker", "--target", "a b"], ["worker", "--target", "x", "--concurrency", "0"]],
)
def test_worker_usage_errors(cli, folder, argv):
    result = cli(*argv)
    assert result.code == 2
    assert result.out == ""
