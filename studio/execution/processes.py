"""The processes of a run: starting the script so that it dies with its supervisor,
reaping its orphans, telling whether a process is still the one recorded (pids get
reused), and stopping a process group (SIGTERM, then SIGKILL after a grace period)
or what a run left behind once nobody supervises it. No Django."""

from __future__ import annotations

import ctypes
import os
import signal
import time

PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1


def process_start_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def process_alive(pid: int | None, started: float | None) -> bool:
    """``pid`` is still the process that started at ``started`` (pids get reused),
    and it has not exited: a zombie nobody reaped (an orphan under an init that
    does not reap, as in many containers) is dead."""
    import psutil

    if pid is None or started is None:
        return False
    try:
        proc = psutil.Process(pid)
        return proc.create_time() == started and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _prctl(option: int, value: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: orphans are reaped by init instead


def _die_with_me():
    """A ``preexec_fn`` that has the script killed (SIGKILL) if its supervisor dies:
    unsupervised, nobody reads its pipes, heartbeats or reports on it, and the run is
    marked lost after the lease, so it must not run on unseen. What it started in its
    group is killed by whoever finds the run lost on this host (the reaper, or a
    restarted worker). None where prctl does not exist (not Linux)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    except (OSError, AttributeError):
        return None
    supervisor = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != supervisor:  # it died between fork and prctl
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


_subreaper = False  # set in a supervisor: the orphans of its script are its to reap


def _reap(keep: int | None = None) -> None:
    """As a child subreaper, collect exited orphans so they don't linger as zombies.
    ``keep`` (the script) is left to its Popen: reaped here, its exit status would be
    lost and Popen would report 0 for a script that was killed. Elsewhere (a worker,
    a reader that stops a lost run's leftovers) children are their owners' to reap."""
    if not _subreaper or not hasattr(os, "waitid"):
        return
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == keep:
            return
        try:
            os.waitpid(info.si_pid, os.WNOHANG)
        except ChildProcessError:
            return


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    import psutil

    # Zombies still count for killpg: look for a live member.
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.info["pid"]) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def stop_processes(pgid: int, descendants: list, grace: float, log=None) -> bool:
    """SIGTERM the group (and descendants that left it), SIGKILL after ``grace``
    seconds; return once none is left. True when SIGKILL was needed."""
    import psutil

    def signal_all(sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        for proc in descendants:
            try:
                proc.send_signal(sig)
            except psutil.Error:
                pass

    def any_alive() -> bool:
        _reap(keep=pgid)
        if group_alive(pgid):
            return True
        return any(
            p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in _live(descendants)
        )

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any_alive():
            return False
        time.sleep(0.05)
    if log:
        log.note(f"processes still running {grace:g} s after SIGTERM: sending SIGKILL")
    signal_all(signal.SIGKILL)
    while any_alive():
        time.sleep(0.05)
    return True


def stop_leftovers(
    *, pgid: int | None, run_id: str, script_started: float | None, grace: float = 0
) -> int:
    """Stop what a run's script left running on this machine once nobody supervises
    it; return how many processes were found. While the group's leader is still the
    script (start time checked: pids get reused) the whole group goes, as on cancel;
    once the leader is gone, the members of that group that carry the run's
    STUDIO_RUN_ID in their environment (what the script started)."""
    import psutil

    if not pgid:
        return 0
    if process_alive(pgid, script_started):
        stop_processes(pgid, [], grace)
        return 1
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) != pgid or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("STUDIO_RUN_ID") == run_id:
                found.append(proc)
        except (OSError, psutil.Error):
            continue
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for proc in found:
            try:
                proc.send_signal(sig)
            except psutil.Error:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _live_not_zombie(found):
            time.sleep(0.05)
    return len(found)


def _live_not_zombie(procs: list) -> bool:
    import psutil

    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except psutil.Error:
            continue
    return False


def _live(procs: list) -> list:
    import psutil

    alive = []
    for proc in procs:
        try:
            if proc.is_running():
                alive.append(proc)
        except psutil.Error:
            continue
    return alive


def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
