"""The seed article's submitted samples (shared/seed/), run for real with only the
import line changed (``azureml.core`` -> ``studio.sdk``). Each test body starts with
the sample as printed, followed by assertions on what it did."""

from __future__ import annotations

import textwrap

import pytest

from studio.errors import NotFound
from studio.sdk import ScriptRunConfig
from tests.jobs import execution, group_members, tree, wait_terminal, wait_until

HELLO_WITH_DELAY = """
    import time
    print("Hello, waiting 10 seconds", flush=True)
    time.sleep(10)
    print("Hello World!")
"""

HELLO_WITH_CHILDREN = """
    from studio.sdk import Run

    run = Run.get_context()
    print("Hello from the parent run")
    for c, count in enumerate(range(5)):
        with run.child_run() as child:
            child.log(name="Hello from child run", value=c)
    print("Five children done")
"""

# parent.py as the article prints it; `ws` is not defined there, so one line
# defines it (the workspace the job runs in).
PARENT = """
    # parent.py
    # This script controls the launching of child scripts
    from studio.sdk import Run, ScriptRunConfig, Workspace

    ws = Workspace.from_config()
    compute_target = ws.compute_targets["gpu-cluster"]

    run = Run.get_context()

    child_args = ['Apple', 'Banana', 'Orange']
    for arg in child_args:
        run.log('Status', f'Launching {arg}')
        child_config = ScriptRunConfig(source_directory=".", script='child.py', arguments=['--fruit', arg], compute_target=compute_target)
        # Starts the run asynchronously
        run.submit_child(child_config)

    # Experiment will "complete" successfully at this point.
    # Instead of returning immediately, block until child runs complete

    for child in run.get_children():
        child.wait_for_completion()
"""

CHILD = """
    import argparse
    from studio.sdk import Run

    parser = argparse.ArgumentParser()
    parser.add_argument("--fruit")
    fruit = parser.parse_args().fruit

    ## In child run script
    child_run = Run.get_context()
    child_run.parent.id
    print(f"{fruit} from a child of {child_run.parent.id}")
    child_run.log("fruit", fruit)
"""


@pytest.fixture
def here(jobs, tmp_path):
    """The samples use ``source_directory='.'``: the test's cwd is their folder."""

    def write(name: str, text: str) -> None:
        (tmp_path / name).write_text(textwrap.dedent(text))

    return write


def stopped(run_id: str) -> bool:
    """The run's supervisor has come and gone, leaving no process of the script."""
    record = execution(run_id)
    if record.supervisor_pid is None or tree(record.supervisor_pid):
        return False
    return record.pgid is None or not group_members(record.pgid)


def log_of(run) -> str:
    try:
        data, _ = run._store.read_file(run.id, "logs/std_log.txt")
    except NotFound:  # never started
        return ""
    return data.decode()


@pytest.mark.slow
def test_sample_submit_then_cancel(exp, here, capsys):
    here("hello_with_delay.py", HELLO_WITH_DELAY)

    src = ScriptRunConfig(source_directory='.', script='hello_with_delay.py')  # fmt: skip
    local_run = exp.submit(src)
    print(local_run.get_status())

    local_run.cancel()
    print(local_run.get_status())

    first, second = capsys.readouterr().out.split()
    assert first in ("NotStarted", "Starting", "Running")
    # Not started yet: Canceled at once, and it never starts; started: CancelRequested.
    assert second in ("Canceled", "CancelRequested")
    assert wait_terminal(local_run) == "Canceled"
    wait_until(lambda: stopped(local_run.id))
    assert "Hello World!" not in log_of(local_run)


@pytest.mark.slow
def test_cancelling_a_running_hello_with_delay_goes_cancel_requested_then_canceled(exp, here):
    here("hello_with_delay.py", HELLO_WITH_DELAY)
    local_run = exp.submit(ScriptRunConfig(source_directory=".", script="hello_with_delay.py"))
    wait_until(lambda: "Hello, waiting" in log_of(local_run))
    assert local_run.get_status() == "Running"

    local_run.cancel()

    assert local_run.status == "CancelRequested"
    assert wait_terminal(local_run) == "Canceled"
    wait_until(lambda: stopped(local_run.id))
    assert "Hello World!" not in log_of(local_run)
    assert local_run.get_details()["endTimeUtc"] is not None


@pytest.mark.slow
def test_sample_fail_right_after_submit(exp, here, capsys):
    here("hello_with_delay.py", HELLO_WITH_DELAY)
    src = ScriptRunConfig(source_directory=".", script="hello_with_delay.py")

    local_run = exp.submit(src)
    local_run.fail()
    print(local_run.get_status())

    assert capsys.readouterr().out == "Failed\n"
    wait_until(lambda: stopped(local_run.id))
    assert local_run.get_status() == "Failed"


@pytest.mark.slow
def test_fail_on_a_running_submitted_run_stops_its_processes(exp, here):
    here("hello_with_delay.py", HELLO_WITH_DELAY)
    local_run = exp.submit(ScriptRunConfig(source_directory=".", script="hello_with_delay.py"))
    wait_until(lambda: "Hello, waiting" in log_of(local_run))

    local_run.fail()

    wait_until(lambda: stopped(local_run.id))
    assert local_run.get_status() == "Failed"
    assert "run failed: stopping the processes" in log_of(local_run)
    assert "Hello World!" not in log_of(local_run)


@pytest.mark.slow
def test_sample_hello_with_children(exp, here, capsys):
    here("hello_with_children.py", HELLO_WITH_CHILDREN)

    src = ScriptRunConfig(source_directory='.', script='hello_with_children.py')  # fmt: skip

    local_run = exp.submit(src)
    local_run.wait_for_completion(show_output=True)
    print(local_run.get_status())

    with exp.start_logging() as parent_run:
        for c,count in enumerate(range(5)):  # noqa: B007  # fmt: skip
            with parent_run.child_run() as child:
                child.log(name="Hello from child run", value=c)

    out = capsys.readouterr().out.splitlines()
    # v1's show_output: RunId and the run's URL, the log, an execution summary.
    assert out[0] == f"RunId: {local_run.id}"
    logged = out.index("Hello from the parent run")
    assert out[logged + 1] == "Five children done"
    assert out[out.index("Execution Summary") + 2] == f"RunId: {local_run.id}"
    assert out[-1] == "Completed"
    for parent in (local_run, parent_run):
        children = sorted(parent.get_children(), key=lambda r: r.number)
        assert [c.get_status() for c in children] == ["Completed"] * 5
        assert [c.get_metrics() for c in children] == [
            {"Hello from child run": float(c)} for c in range(5)
        ]
        assert {c.parent.id for c in children} == {parent.id}


@pytest.mark.slow
def test_sample_parent_submits_children_to_gpu_cluster_served_by_a_worker(exp, here, start_worker):
    here("parent.py", PARENT)
    here("child.py", CHILD)
    worker = start_worker("gpu-cluster", "--concurrency", "3")

    parent = exp.submit(ScriptRunConfig(source_directory=".", script="parent.py"))
    details = parent.wait_for_completion(timeout=90)

    assert details["status"] == "Completed"
    assert parent.get_metrics()["Status"] == [
        "Launching Apple", "Launching Banana", "Launching Orange"
    ]  # fmt: skip
    children = sorted(parent.get_children(), key=lambda r: r.number)
    assert [c.get_details()["arguments"] for c in children] == [
        ["--fruit", "Apple"], ["--fruit", "Banana"], ["--fruit", "Orange"]
    ]  # fmt: skip
    for child, fruit in zip(children, ["Apple", "Banana", "Orange"], strict=True):
        assert child.get_status() == "Completed"
        assert child.get_details()["target"] == "gpu-cluster"
        assert child.get_metrics() == {"fruit": fruit}
        assert log_of(child) == f"{fruit} from a child of {parent.id}\n"
    worker.kill()
    claimed = [line for line in worker.communicate()[0].splitlines() if "claimed" in line]
    assert len(claimed) == 3
