"""v1 semantics of ``complete()`` and ``fail()`` inside a submitted job: they only
send what is buffered. The supervisor owns the final status (from the exit code), so
metrics logged and ./outputs written after ``complete()`` are kept, and a non-zero
exit after ``complete()`` makes the run Failed. On the local target the job reports
through the local store; run by a worker, through the REST store."""

from __future__ import annotations

import pytest

from studio.errors import RunFailed
from tests.jobs import wait_terminal

AFTER_COMPLETE = """
    import os, sys
    from studio.sdk import Run
    run = Run.get_context()
    run.log("before", 1.0)
    run.complete()
    print("status after complete:", run.get_status(), flush=True)
    run.log("after", 2.0)
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/model.txt", "w") as f:
        f.write("weights")
    sys.exit(int(sys.argv[1]))
"""

FAIL_THEN_EXIT_0 = """
    from studio.sdk import Run
    run = Run.get_context()
    run.fail(error_details="bad data")
    run.log("after_fail", 3.0)
    with run:
        run.log("in_with", 4.0)
"""


@pytest.fixture(params=["local", "worker"])
def run_script(request, submit, source):
    """Submit a script to the local target, or to a worker's target (the job then
    reports over HTTP with its own token)."""

    def go(text: str, *arguments):
        script = source.write("train.py", text)
        if request.param == "local":
            return submit(script, *arguments)
        request.getfixturevalue("start_worker")("gpu")
        return submit(script, *arguments, target="gpu")

    return go


def _log(run) -> str:
    data, _ = run._store.read_file(run.id, "logs/std_log.txt")
    return data.decode()


@pytest.mark.slow
def test_complete_inside_a_job_keeps_the_run_running_and_what_follows(run_script):
    run = run_script(AFTER_COMPLETE, 0)
    assert wait_terminal(run) == "Completed"
    assert "status after complete: Running" in _log(run)
    assert run.get_metrics() == {"before": 1.0, "after": 2.0}
    assert "outputs/model.txt" in run.get_file_names()


@pytest.mark.slow
def test_a_non_zero_exit_after_complete_fails_the_run(run_script):
    run = run_script(AFTER_COMPLETE, 3)
    assert wait_terminal(run) == "Failed"
    details = run.get_details()
    assert details["error"]["exit_code"] == 3
    assert run.get_metrics() == {"before": 1.0, "after": 2.0}
    assert "outputs/model.txt" in run.get_file_names()


@pytest.mark.slow
def test_fail_inside_a_job_only_flushes_and_the_exit_code_decides(run_script):
    run = run_script(FAIL_THEN_EXIT_0)
    assert wait_terminal(run) == "Completed"
    assert run.get_metrics() == {"after_fail": 3.0, "in_with": 4.0}
    assert "bad data" in _log(run)


@pytest.mark.slow
def test_wait_for_completion_with_output_prints_as_v1(run_script, capsys):
    run = run_script("print('training epoch 1', flush=True)\nraise SystemExit(2)\n")
    with pytest.raises(RunFailed):
        run.wait_for_completion(show_output=True, timeout=60)
    out = capsys.readouterr().out
    url = run.get_portal_url()
    assert out.startswith(f"RunId: {run.id}\nWeb View: {url}\n")
    assert "Streaming logs/std_log.txt\n" in out and "training epoch 1\n" in out
    summary = out[out.index("Execution Summary") :]
    assert summary.startswith(f"Execution Summary\n=================\nRunId: {run.id}\n")
    assert '"exit_code": 2' in summary
