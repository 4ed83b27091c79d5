"""Cancel races (docs/requirements.md F5): cancel while queued, between claim and start, at
the moment the script exits, and twice. Exactly one final state, no process left."""

from __future__ import annotations

import subprocess
import time

import pytest

from studio.errors import InvalidTransition
from studio.execution import services as execution_services
from tests.conftest import PYTHON
from tests.figures import report
from tests.jobs import execution, group_members, wait_for_status, wait_terminal, wait_until

# Exits 0 as soon as the file named by its argument exists.
EXIT_ON_FILE = """
    import sys, time
    from pathlib import Path
    print("ready", flush=True)
    while not Path(sys.argv[1]).exists():
        time.sleep(0.005)
"""


def ready(run) -> bool:
    try:
        data, _ = run._store.read_file(run.id, "logs/std_log.txt")
    except Exception:
        return False
    return b"ready" in data


@pytest.mark.slow
def test_cancel_racing_the_script_exit_ends_in_exactly_one_final_state(
    submit, source, tmp_path, capsys
):
    script = source.write("exit_on_file.py", EXIT_ON_FILE)
    # The script exits right before, with, or right after the cancel.
    offsets = [-1.0, -0.05, -0.01, 0.0, 0.01, 0.05]
    gos = [tmp_path / f"go{i}" for i in range(len(offsets))]
    runs = [submit(script, go) for go in gos]
    for run in runs:
        wait_until(lambda run=run: ready(run))

    for run, go, offset in zip(runs, gos, offsets, strict=True):
        if offset < 0:
            go.touch()
            time.sleep(-offset)
        try:
            run.cancel()
        except InvalidTransition:
            pass  # it completed first: cancelling changes nothing, and says so
        if offset >= 0:
            time.sleep(offset)
            go.touch()

    finals = [wait_terminal(run, timeout=15) for run in runs]
    assert set(finals) <= {"Completed", "Canceled"}
    time.sleep(0.6)  # longer than a supervisor's status poll: the final state holds
    for run, final in zip(runs, finals, strict=True):
        assert run.get_status() == final
        assert group_members(execution(run.id).pgid) == []
    report(
        f"cancel racing exit trials={len(runs)} | Completed={finals.count('Completed')}"
        f" Canceled={finals.count('Canceled')} stuck=0 | orphans=0"
    )


def test_cancel_while_queued_means_it_never_starts(submit, source):
    run = submit(source.write("x.py", "print('ran')"), target="no-worker-yet")
    assert run.get_status() == "Queued"

    run.cancel()

    assert run.status == "Canceled"
    assert execution_services.run_claim(workspace=None, target="no-worker-yet", worker="w") is None
    details = run.get_details()
    assert details["status"] == "Canceled"
    assert details["startTimeUtc"] is None
    assert execution(run.id).pgid is None


def test_cancel_between_claim_and_start_means_the_supervisor_does_not_start_it(
    submit, source, subprocess_env
):
    run = submit(source.write("x.py", "print('ran')"), target="pool")
    claimed = execution_services.run_claim(workspace=None, target="pool", worker="w")
    assert claimed.run_id == run.id

    run.cancel()
    assert run.status == "CancelRequested"  # a worker owns it now: it must confirm
    supervisor = subprocess.run(
        [PYTHON, "-m", "studio.execution.supervisor", run.id],
        env=subprocess_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert supervisor.returncode == 0, supervisor.stderr
    assert run.get_status() == "Canceled"
    assert run.get_details()["startTimeUtc"] is None
    assert execution(run.id).pgid is None  # no script process was ever started


@pytest.mark.slow
def test_cancel_twice_is_harmless_and_cancel_after_the_end_says_it_changes_nothing(submit, source):
    run = submit(
        source.write("wait.py", "import time; print('ready', flush=True); time.sleep(1000)")
    )
    wait_until(lambda: ready(run))

    run.cancel()
    run.cancel()  # still CancelRequested, or already Canceled: no error either way

    assert run.status in ("CancelRequested", "Canceled")
    assert wait_terminal(run) == "Canceled"
    with pytest.raises(InvalidTransition, match="already Canceled; cancelling it changes nothing"):
        run.cancel()
    assert run.get_status() == "Canceled"


@pytest.mark.slow
def test_cancel_of_a_completed_run_changes_nothing(submit, source):
    run = submit(source.write("quick.py", "print('done')"))
    assert wait_for_status(run, "Completed") == "Completed"
    with pytest.raises(InvalidTransition, match="already Completed"):
        run.cancel()
    assert run.get_status() == "Completed"
