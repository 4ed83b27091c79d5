"""Helpers for tests that submit runs: waiting for a status without a fixed sleep,
looking at the processes a run started, and killing whatever a test left running
(this session's processes only, told apart by their STUDIO_HOME)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable
from typing import Any

import psutil

from studio.rules.transitions import TERMINAL

DEADLINE = 30.0  # seconds; only reached when something is broken


def wait_until(predicate: Callable[[], Any], *, timeout: float = DEADLINE, every: float = 0.05):
    """Poll ``predicate`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {predicate}")
        time.sleep(every)


def wait_for_status(run, statuses: Iterable[str] | str, timeout: float = DEADLINE) -> str:
    """Poll an SDK run until its status is one of ``statuses``; return it."""
    wanted = {statuses} if isinstance(statuses, str) else set(statuses)
    seen: list[str] = []

    def reached():
        status = run.get_status()
        if not seen or seen[-1] != status:
            seen.append(status)
        return status if status in wanted else None

    try:
        return wait_until(reached, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"{run.id} went {' -> '.join(seen)}, never {sorted(wanted)}") from None


def wait_terminal(run, timeout: float = DEADLINE) -> str:
    return wait_for_status(run, TERMINAL, timeout)


def execution(run_id: str):
    from studio.execution.models import Execution

    return Execution.objects.get(run__run_id=run_id)


def alive(proc: psutil.Process) -> bool:
    """Running and not a zombie (an exited process nobody has reaped yet)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def group_members(pgid: int) -> list[psutil.Process]:
    """Live (non-zombie) processes of process group ``pgid``."""
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and alive(proc):
                members.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def tree(pid: int) -> list[psutil.Process]:
    """``pid`` and its live descendants."""
    try:
        root = psutil.Process(pid)
        return [p for p in [root, *root.children(recursive=True)] if alive(p)]
    except psutil.Error:
        return []


def _ours(proc: psutil.Process, home: str, run_ids: set[str]) -> bool:
    """A process of this session: one with its STUDIO_HOME, or a job of one of its
    runs (a worker's jobs have a STUDIO_HOME of their own)."""
    try:
        env = proc.environ()
        if env.get("STUDIO_RUN_ID") in run_ids:
            return True
        if env.get("STUDIO_HOME") != home:
            return False
        return "STUDIO_RUN_ID" in env or any("studio.execution" in a for a in proc.cmdline())
    except psutil.Error:
        return False


def kill_leftovers() -> list[str]:
    """SIGKILL every supervisor, worker, pipeline driver and job of this test session
    still running; return their command lines (for a test that wants to know)."""
    from studio.tracking.models import Run

    home = os.environ["STUDIO_HOME"]
    run_ids = set(Run.objects.values_list("run_id", flat=True))
    me = os.getpid()
    found = [
        p for p in psutil.process_iter() if p.pid != me and _ours(p, home, run_ids) and alive(p)
    ]
    names = []
    for proc in found:
        try:
            names.append(" ".join(proc.cmdline()))
            proc.send_signal(signal.SIGKILL)
        except psutil.Error:
            continue
    psutil.wait_procs(found, timeout=5)
    return names
