"""Processes dying under a run, and cancel of a process tree (docs/requirements.md G1-G3):
every run reaches a final state, and no process of it is left behind. Each test
prints its figure."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.figures import report
from tests.jobs import (
    execution,
    group_members,
    tree,
    wait_for_status,
    wait_terminal,
    wait_until,
)

# Writes 30 lines to stderr, starts a child in its own process group, then waits.
NOISY_WITH_CHILD = """
    import subprocess, sys, time
    for i in range(30):
        print(f"err line {i}", file=sys.stderr, flush=True)
    subprocess.Popen(["sleep", "1000"])
    print("ready", flush=True)
    time.sleep(1000)
"""


def log_of(run) -> str:
    data, _ = run._store.read_file(run.id, "logs/std_log.txt")
    return data.decode()


def ready(run) -> bool:
    try:
        return "ready" in log_of(run)
    except Exception:
        return False


def figure(capsys, line: str) -> None:
    report(line)


@pytest.mark.slow
def test_g1_a_killed_script_fails_with_its_signal_and_the_stderr_tail(submit, source, capsys):
    trials = 3
    script = source.write("noisy.py", NOISY_WITH_CHILD)
    runs = [submit(script) for _ in range(trials)]
    for run in runs:
        wait_until(lambda run=run: ready(run))
    pgids = [execution(run.id).pgid for run in runs]

    started = time.monotonic()
    for pgid in pgids:
        os.kill(pgid, signal.SIGKILL)  # the script only, not its group
    times = []
    for run in runs:
        assert wait_terminal(run) == "Failed"
        times.append(time.monotonic() - started)

    for run, pgid in zip(runs, pgids, strict=True):
        error = run.get_details()["error"]
        assert error["code"] == "script_failed"
        assert "killed by signal SIGKILL" in error["message"]
        assert error["exit_code"] == -signal.SIGKILL
        tail = error["stderr"].splitlines()
        assert tail == [f"err line {i}" for i in range(10, 30)]  # the last 20 lines
        record = execution(run.id)
        assert record.signal == "SIGKILL"
        assert record.exit_code is None
        assert "exited with signal SIGKILL" in log_of(run)
        assert group_members(pgid) == []  # its child went with it
    left = sum(run.get_status() not in ("Failed",) for run in runs)
    figure(
        capsys,
        f"kill-9 script trials={trials} | time-to-terminal max {max(times):.2f} s"
        f" | left_running={left}",
    )


@pytest.mark.slow
def test_killed_supervisor_leaves_its_run_lost_after_the_lease_and_no_process_behind(
    submit, source, settings, monkeypatch, capsys
):
    lease = 3
    monkeypatch.setenv("STUDIO_RUN_LEASE_SECONDS", str(lease))
    settings.STUDIO_RUN_LEASE_SECONDS = lease
    victim = submit(source.write("noisy.py", NOISY_WITH_CHILD))
    # A healthy run that outlives the lease is not taken for lost.
    healthy = submit(source.write("slow.py", f"import time; time.sleep({lease + 1.5})"))
    wait_until(lambda: ready(victim))
    record = execution(victim.id)
    processes = tree(record.pgid)
    assert len(processes) == 2  # the script and its child

    os.kill(record.supervisor_pid, signal.SIGKILL)
    killed = time.monotonic()
    # Without its supervisor nobody reads the script's pipes or reports on it:
    # it must not run on unseen.
    wait_until(lambda: not any(p.is_running() and p.status() != "zombie" for p in processes[:1]))
    assert wait_for_status(victim, "Failed", timeout=lease + 10) == "Failed"
    lost_after = time.monotonic() - killed
    wait_until(lambda: group_members(record.pgid) == [], timeout=10)

    error = victim.get_details()["error"]
    assert error["code"] == "lost"
    assert lost_after >= lease - 1  # a heartbeat older than the lease, not sooner
    assert wait_terminal(healthy) == "Completed"
    figure(
        capsys,
        f"kill-9 supervisor | time-to-lost {lost_after:.2f} s (lease {lease} s)"
        f" | left_running={len(group_members(record.pgid))}",
    )


@pytest.mark.slow
def test_g2_a_restarted_worker_fails_the_orphaned_run_as_lost_and_kills_its_group(
    submit, source, start_worker, capsys
):
    first = start_worker("g2")
    run = submit(source.write("noisy.py", NOISY_WITH_CHILD), target="g2")
    wait_until(lambda: ready(run))
    record = execution(run.id)
    assert len(group_members(record.pgid)) == 2

    first.send_signal(signal.SIGKILL)
    first.wait()
    killed = time.monotonic()
    second = start_worker("g2")

    assert wait_terminal(run) == "Failed"
    reaped_after = time.monotonic() - killed
    wait_until(lambda: group_members(record.pgid) == [], timeout=10)
    assert run.get_details()["error"]["code"] == "lost"
    assert tree(record.supervisor_pid) == []
    second.kill()
    assert "1 orphaned run(s) failed as lost" in second.communicate()[0]
    figure(
        capsys,
        f"kill-9 worker | time-to-reaped {reaped_after:.2f} s (restarted worker)"
        f" | orphans={len(group_members(record.pgid))}",
    )


# Ignores SIGTERM (as do its children, which inherit that), and starts a shell with
# two sleeps and a multiprocessing pool of two.
TREE = """
    import multiprocessing, signal, subprocess, sys, time

    def work(_):
        time.sleep(1000)

    if __name__ == "__main__":
        if sys.argv[1] == "ignore":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        subprocess.Popen(["bash", "-c", "sleep 1000 & sleep 1000 & wait"])
        pool = multiprocessing.Pool(2)
        pool.map_async(work, range(2))
        time.sleep(0.3)
        print("ready", flush=True)
        time.sleep(1000)
"""


@pytest.mark.slow
@pytest.mark.parametrize("sigterm", ["ignore", "honour"])
def test_g3_cancel_stops_the_whole_tree_with_sigkill_when_sigterm_is_ignored(
    submit, source, monkeypatch, capsys, sigterm
):
    monkeypatch.setenv("STUDIO_CANCEL_GRACE_SECONDS", "1")
    run = submit(source.write("tree.py", TREE), sigterm)
    wait_until(lambda: ready(run))
    record = execution(run.id)
    wait_until(lambda: len(tree(record.pgid)) >= 6)  # script, bash, 2 sleeps, 2 pool workers
    descendants = tree(record.pgid)

    started = time.monotonic()
    run.cancel()
    assert run.status == "CancelRequested"
    assert wait_terminal(run) == "Canceled"
    stopped_after = time.monotonic() - started

    surviving = [p for p in descendants if p.is_running() and p.status() != "zombie"]
    assert surviving == []
    assert group_members(record.pgid) == []
    escalations = log_of(run).count("SIGKILL was needed")
    assert escalations == (1 if sigterm == "ignore" else 0)
    figure(
        capsys,
        f"cancel tree ({sigterm} SIGTERM) | time-to-stopped {stopped_after:.2f} s"
        f" | descendants={len(descendants)} surviving_descendants={len(surviving)}"
        f" | SIGKILL escalations={escalations}",
    )
