"""Submitting through the REST store: to a named target, executed by a worker that
reaches the database (the local target over HTTP: test_rest_local.py)."""

import subprocess
import sys

import pytest


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.py").write_text(
        "import sys\nfrom studio.sdk import Run\nrun = Run.get_context()\n"
        "run.log('lr', float(sys.argv[2]))\nprint('trained with', sys.argv[1:])\n"
    )
    return folder


@pytest.mark.slow
def test_a_run_submitted_over_http_is_executed_by_a_worker(
    rest_workspace, sdk, source, subprocess_env, live_server
):
    exp = sdk.Experiment(rest_workspace, "remote")
    target = rest_workspace.compute_targets["gpu-cluster"]
    config = sdk.ScriptRunConfig(
        source_directory=source, script="train.py", arguments=["--lr", 0.1], compute_target=target
    )
    run = exp.submit(config, tags={"via": "http"})
    assert run.get_status() == "Queued"
    assert sorted(run.get_file_names()) == ["snapshot/train.py"]
    worker = subprocess.run(
        [sys.executable, "-m", "studio.execution.worker", "--target", "gpu-cluster"]
        + ["--max-runs", "1", "-w", "default", "--server", live_server.url],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr
    details = run.wait_for_completion(timeout=60)
    assert details["status"] == "Completed"
    assert run.get_metrics() == {"lr": 0.1}
    log, _ = rest_workspace._store.read_file(run.id, "logs/std_log.txt")
    assert b"trained with ['--lr', '0.1']" in log
