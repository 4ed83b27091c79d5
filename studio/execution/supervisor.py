"""The supervisor: one process per submitted run. It materialises the run's snapshot
in a working copy of its own, starts the script in a new process group, appends its
stdout and stderr to ``logs/std_log.txt`` as they come, heartbeats, watches for
cancel, and finalises the status:

- exit 0: outputs collected, Completed;
- other exit or a signal: Failed, with the exit code or signal and the last lines
  of stderr in the run's error;
- cancel: SIGTERM to the whole process group (and any descendant that left it),
  SIGKILL after the grace period, Canceled only once no process is left;
- the supervisor itself killed: the script dies with it (PR_SET_PDEATHSIG), the
  run is found lost after the lease, and what the script started is stopped by
  whoever finds it lost on this machine (``stop_leftovers``).

It reaches the studio through a backend (``backends``): the database, or, for the
``local`` target of a remote studio, the API from the submitting machine, where the
log is kept in a file and sent in chunks as it grows. Processes: ``processes``.

``python -m studio.execution.supervisor RUN_ID`` (started detached by ``submit`` for
the local target, or by a worker); ``... RUN_ID --server URL --client`` reports to
the studio at URL with the token in STUDIO_TOKEN.
"""

from __future__ import annotations

import collections
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from studio.execution import envrun, processes, sysmetrics
from studio.execution.backends import Backend, LocalBackend
from studio.execution.processes import (  # noqa: F401  (re-exported: worker, services, pipeline)
    PR_SET_CHILD_SUBREAPER,
    PR_SET_PDEATHSIG,
    _descendants,
    _die_with_me,
    _prctl,
    _reap,
    group_alive,
    process_alive,
    process_start_time,
    stop_leftovers,
    stop_processes,
)
from studio.rules import filenames

POLL_EVERY = 0.2
STATUS_EVERY = 0.5
STDERR_TAIL = 20

# What a job may see of its parent's environment (docs/requirements.md C7): nothing else.
ENV_ALLOW = {
    "PATH",
    "HOME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "USER",
    "LOGNAME",
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONUNBUFFERED",
    "TERM",
    "STUDIO_HOME",
    "STUDIO_USER",
    "OMP_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
}
# Inside the working copy of a job run by a worker: its own HOME and STUDIO_HOME (the
# SDK's spool), so nothing of the worker's is named in its environment.
# The params of a pipeline step (studio.sdk.pipeline.PythonScriptStep), a JSON object.
STEP_PARAMS = "azureml.pipeline.params"
JOB_HOME = ".home"
JOB_STUDIO_HOME = ".studio"


def job_environment(
    run: dict,
    *,
    workdir: Path,
    server: str = "",
    token: str = "",
    user: pwd.struct_passwd | None = None,
    azureml: tuple[str, str] | None = None,
) -> dict[str, str]:
    """The environment a job starts with: the allowlist above, its run (``run``: its
    data, with ``id``, ``workspace``, ``experiment``), and its store.

    On the ``local`` target with the local store (the submitting user's own machine
    and database) the job uses the local store like its submitter. A job that
    reports over the API (``server``: run by a worker, or by a supervisor on the
    submitting machine of a remote studio) gets the API at ``server`` and a token
    that reaches its own run and its descendants only, and a HOME and STUDIO_HOME of
    its own inside its working copy: never DATABASE_URL, the server's STUDIO_HOME or
    anything else of the worker's.

    ``azureml``: (service endpoint, run token) for azureml-core's
    ``Run.get_context()``; every job gets its AZUREML_* variables
    (``studio.compat.azureml.jobenv``)."""
    from studio.compat.azureml import jobenv
    from studio.execution.launch import python_path

    env = {k: v for k, v in os.environ.items() if k in ENV_ALLOW or k.startswith("LC_")}
    env.update(
        {
            "STUDIO_RUN_ID": run["id"],
            "STUDIO_WORKSPACE": run["workspace"],
            "STUDIO_EXPERIMENT": run["experiment"],
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": python_path(),
        }
    )
    # A v1 pipeline step's params, as v1 hands them to the script.
    params = (run.get("properties") or {}).get(STEP_PARAMS)
    if params:
        env.update({f"AML_PARAMETER_{k}": str(v) for k, v in json.loads(params).items()})
    if azureml is not None:
        service, azureml_token = azureml
        env.update(
            jobenv.environment(
                run, service=service, token=azureml_token, python_path=env["PYTHONPATH"]
            )
        )
    if not server:
        env["STUDIO_TRACKING_URI"] = "local"
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        return env
    env.update(
        {
            "STUDIO_TRACKING_URI": server,
            "STUDIO_TOKEN": token,
            "HOME": str(workdir / JOB_HOME),
            "STUDIO_HOME": str(workdir / JOB_STUDIO_HOME),
        }
    )
    if user is not None:
        env.update({"USER": user.pw_name, "LOGNAME": user.pw_name})
    return env


def _prepare_workdir(workdir: Path, user: pwd.struct_passwd | None) -> None:
    """The folders a job writes to; all of the working copy becomes ``user``'s."""
    for name in (filenames.OUTPUTS, JOB_HOME, JOB_STUDIO_HOME):
        (workdir / name).mkdir(exist_ok=True)
    if user is None:
        return
    for folder, dirs, files in os.walk(workdir):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.chown(name, user.pw_uid, user.pw_gid, follow_symlinks=False)


def _as_user(user: pwd.struct_passwd | None) -> dict:
    """Popen arguments that start the job as ``user``: its supplementary groups, gid
    and uid are set in the child before exec (and before ``preexec_fn``, which must
    come after: a change of credentials clears the parent-death signal)."""
    if user is None:
        return {}
    groups = os.getgrouplist(user.pw_name, user.pw_gid)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": groups}


class _LogWriter:
    """Appends both pipes of the script to one log file, line by line, keeping the
    last lines of stderr for the run's error."""

    def __init__(self, path: Path):
        self.file = open(path, "ab", buffering=0)
        self.lock = threading.Lock()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)

    def pump(self, stream, is_stderr: bool) -> None:
        for line in iter(stream.readline, b""):
            with self.lock:
                self.file.write(line)
            if is_stderr:
                self.stderr_tail.append(line.decode("utf-8", "replace").rstrip("\n"))
        stream.close()

    def note(self, text: str) -> None:
        with self.lock:
            self.file.write(f"[studio] {text}\n".encode())

    def close(self) -> None:
        self.file.close()


def supervise(
    run_id: str,
    backend: Backend | None = None,
    *,
    worker: str = "",
    run_as: pwd.struct_passwd | None = None,
    sample_every: float | None = None,
) -> str:
    """Run one submitted run to its end; returns the final status. ``backend`` is
    how it reaches the studio (the database by default; the API for the ``local``
    target of a remote studio). A job that reports over the API gets a token minted
    for its run (revoked by ``main`` when this ends); with ``run_as`` it runs as that
    OS user. While the script runs, its system metrics are sampled every
    ``sample_every`` seconds (``sysmetrics``; STUDIO_SYSTEM_METRICS_SECONDS by
    default, 10; 0: never)."""
    from studio.rules.transitions import CANCEL_REQUESTED, CANCELED, FAILED, RUNNING, STARTING

    backend = backend or LocalBackend()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    processes._subreaper = True
    run = backend.run(run_id)
    me = os.getpid()
    backend.record(
        run_id,
        worker=worker,
        host=socket.gethostname(),
        supervisor_pid=me,
        supervisor_started=process_start_time(me),
    )
    try:  # the interpreter: a venv built from the run's environment, if it has one
        prepared = envrun.prepare(backend, run_id)
    except envrun.Stopped:
        prepared = envrun.Prepared()  # cancelled while preparing: ends just below
    except envrun.BuildError as exc:
        stderr = exc.log.splitlines()[-20:]
        _finish_failed(backend, run_id, exc.message, code="environment_failed", stderr=stderr)
        return backend.status(run_id)
    except Exception as exc:  # never leave the run waiting on a supervisor that is gone
        message = f"The environment could not be prepared: {type(exc).__name__}: {exc}"
        _finish_failed(backend, run_id, message, code="environment_failed")
        return backend.status(run_id)
    if not backend.start(run_id, STARTING, "starting"):
        if backend.status(run_id) == CANCEL_REQUESTED:  # cancelled between claim and start
            backend.transition(run_id, CANCELED, "canceled before start")
        return backend.status(run_id)

    grace = backend.cancel_grace()
    # Outside STUDIO_HOME, which the job must not reach (0700, and another user
    # with --run-as); mkdtemp makes it 0700 and unguessable.
    workdir = Path(tempfile.mkdtemp(prefix=f"studio-{run_id}-"))
    log = _LogWriter(backend.log_open(run_id))
    for text in prepared.notes:
        log.note(text)
    try:
        server, token = backend.job_access(run_id)
        azureml = backend.azureml_access(run_id, token)
        backend.materialize(run_id, workdir)
        _prepare_workdir(workdir, run_as)
        command = [prepared.python, run["script"], *run["arguments"]]
        if azureml:
            from studio.compat.azureml import jobenv

            command = jobenv.command(prepared.python, run["script"], run["arguments"])
        env = job_environment(
            run, workdir=workdir, server=server, token=token, user=run_as, azureml=azureml
        )
        proc = subprocess.Popen(
            command,
            cwd=workdir,
            env=prepared.apply(env),
            **_as_user(run_as),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: cancel reaches all of it
            close_fds=True,
            preexec_fn=_die_with_me(),
        )
    except Exception as exc:  # the script could not even start
        log.note(f"could not start the script: {exc}")
        log.close()
        backend.log_sync(run_id, final=True)
        _finish_failed(
            backend, run_id, f"The script could not be started: {exc}", code="start_failed"
        )
        shutil.rmtree(workdir, ignore_errors=True)
        return backend.status(run_id)

    backend.record(run_id, pgid=proc.pid, script_started=process_start_time(proc.pid))
    pumps = [
        threading.Thread(target=log.pump, args=(proc.stdout, False), daemon=True),
        threading.Thread(target=log.pump, args=(proc.stderr, True), daemon=True),
    ]
    for t in pumps:
        t.start()
    backend.transition(run_id, RUNNING, "running")  # refused: a cancel came first
    system = _system_metrics(backend, run_id, proc.pid, sample_every, log)

    beat_every = backend.heartbeat_every()
    stopped_by = None
    escalated = False
    last_status = last_beat = 0.0
    while True:
        code = proc.poll()
        _reap(keep=proc.pid)
        now = time.monotonic()
        if now - last_status >= STATUS_EVERY:
            last_status = now
            backend.log_sync(run_id)
            current = backend.status(run_id)
            if current in (CANCEL_REQUESTED, FAILED, CANCELED):
                stopped_by = current
                log.note(
                    f"{'cancel requested' if current != FAILED else 'run failed'}: stopping the processes"
                )
                escalated = stop_processes(proc.pid, _descendants(proc.pid), grace, log)
                proc.wait()
                break
        if now - last_beat >= beat_every:
            last_beat = now
            backend.heartbeat(run_id)
        if system is not None and code is None:
            system.tick(now)
        if code is not None:
            # The script is gone; anything it left behind in its group goes too.
            if group_alive(proc.pid):
                stop_processes(proc.pid, [], grace, log)
            break
        time.sleep(POLL_EVERY)
    if system is not None:
        system.close()
    for t in pumps:
        t.join(timeout=5)

    code = proc.returncode
    backend.record(
        run_id,
        exit_code=code if code is not None and code >= 0 else None,
        signal=signal.Signals(-code).name if code is not None and code < 0 else "",
    )
    if stopped_by is not None:
        log.note("stopped" + (" (SIGKILL was needed)" if escalated else ""))
        log.close()
        backend.log_sync(run_id, final=True)
        if stopped_by == CANCEL_REQUESTED:
            backend.transition(run_id, CANCELED, "canceled")
    elif code == 0:
        log.close()
        backend.log_sync(run_id, final=True)
        _finish_completed(backend, run_id, workdir)
    else:
        log.note(
            f"exited with {'signal ' + signal.Signals(-code).name if code < 0 else f'code {code}'}"
        )
        log.close()
        backend.log_sync(run_id, final=True)
        what = f"killed by signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        _finish_failed(
            backend,
            run_id,
            f"The script failed ({what}).",
            code="script_failed",
            exit_code=code,
            stderr=list(log.stderr_tail),
            workdir=workdir,
        )
    if backend.status(run_id) == CANCEL_REQUESTED:
        # The cancel arrived as the script was ending (or while its outputs were
        # collected): nothing is left to stop, and it may not end Completed now.
        backend.transition(run_id, CANCELED, "canceled")
    shutil.rmtree(workdir, ignore_errors=True)
    return backend.status(run_id)


def _system_metrics(
    backend: Backend, run_id: str, pid: int, every: float | None, log: _LogWriter
) -> sysmetrics.Reporter | None:
    """The sampler of the script's system metrics, or None when they are off."""
    if every is None:
        every, problem = sysmetrics.interval(os.environ.get(sysmetrics.ENV))
        if problem:
            log.note(problem)
    if every <= 0:
        return None
    adopter = os.getpid() if processes._subreaper else None  # orphans come to us
    return sysmetrics.Reporter(backend, run_id, pid, every=every, adopter=adopter, note=log.note)


def _collect_outputs(backend: Backend, run_id: str, workdir: Path) -> None:
    """Regular files the script wrote under ./outputs become the run's outputs.

    Refused (docs/requirements.md B2): symlinks, FIFOs, devices and sockets; hard links (one
    made to a file outside, such as the server's key, would be read through); files
    not owned by whoever owns the outputs folder (the job's user). The walk and the
    opens go through directory descriptors without following links, so a job that
    swaps a folder for a link meanwhile gains nothing.

    A file refused by the studio (its name, its size) is skipped; a storage that
    cannot be reached (``Unavailable``) stops the collection and is raised: the run
    must not end Completed with outputs missing."""
    from studio.errors import StudioError, Unavailable

    root = workdir / filenames.OUTPUTS
    if root.is_symlink() or not root.is_dir():
        return
    owner = os.lstat(root).st_uid
    for folder, _dirs, files, dir_fd in os.fwalk(root, follow_symlinks=False):
        for file_name in sorted(files):
            relative = os.path.relpath(os.path.join(folder, file_name), root)
            name = filenames.OUTPUTS + Path(relative).as_posix()
            f = _open_job_file(file_name, dir_fd=dir_fd, owner=owner)
            if f is None:
                print(
                    f"studio: output {name} skipped: not a regular file of the job's own",
                    file=sys.stderr,
                )
                continue
            with f:
                try:
                    backend.upload(run_id, name, f)
                except Unavailable:
                    raise
                except StudioError as exc:
                    print(f"studio: output {name} skipped: {exc}", file=sys.stderr)


def _open_job_file(name: str, *, dir_fd: int, owner: int):
    """``name`` in ``dir_fd`` opened for reading if it is a regular file with one link,
    owned by ``owner``; else None. Checked before opening (opening a device or a FIFO
    may do something) and again on the open file (it may have been swapped)."""
    import stat

    def acceptable(info: os.stat_result) -> bool:
        return stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_uid == owner

    try:
        before = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not acceptable(before):
            return None
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return None
    f = os.fdopen(fd, "rb")
    after = os.fstat(fd)
    if not acceptable(after) or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        f.close()
        return None
    return f


def _transition_quietly(run, status: str, reason: str, error=None) -> bool:
    from studio.errors import InvalidTransition
    from studio.tracking import services as tracking

    try:
        tracking.run_transition(run=run, status=status, reason=reason, error=error)
        return True
    except InvalidTransition:
        return False  # someone else (cancel, fail) decided first


def _finish_completed(backend: Backend, run_id: str, workdir: Path) -> None:
    from studio.rules.transitions import COMPLETED, FINALIZING

    if backend.transition(run_id, FINALIZING, "collecting outputs"):
        if _collect_outputs_or_fail(backend, run_id, workdir):
            backend.transition(run_id, COMPLETED, "completed")


def _collect_outputs_or_fail(backend: Backend, run_id: str, workdir: Path) -> bool:
    """Collect the outputs of a finalizing run; when the storage cannot take them, the
    run ends Failed (``outputs_failed``) with the storage's error, and False."""
    from studio.errors import Unavailable
    from studio.rules.transitions import FAILED

    try:
        _collect_outputs(backend, run_id, workdir)
    except Unavailable as exc:
        message = f"The outputs could not be stored: {exc}"
        print(f"studio: {message}", file=sys.stderr)
        backend.transition(
            run_id, FAILED, "outputs_failed", {"message": message, "code": "outputs_failed"}
        )
        return False
    return True


def _finish_failed(
    backend: Backend,
    run_id: str,
    message: str,
    *,
    code: str,
    exit_code=None,
    stderr=(),
    workdir=None,
) -> None:
    from studio.errors import Unavailable
    from studio.rules.transitions import FAILED, FINALIZING

    error = {"message": message, "code": code}
    if exit_code is not None:
        error["exit_code"] = exit_code
    if stderr:
        error["stderr"] = "\n".join(stderr)
    if workdir is not None and backend.transition(run_id, FINALIZING, "collecting outputs"):
        try:
            _collect_outputs(backend, run_id, workdir)
        except Unavailable as exc:  # Failed anyway; its error says what else went wrong
            error["message"] += f" The outputs could not be stored either: {exc}"
    backend.transition(run_id, FAILED, code, error)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m studio.execution.supervisor")
    parser.add_argument("run_id")
    parser.add_argument("--worker", default="")
    parser.add_argument("--die-with-parent", action="store_true")
    parser.add_argument("--server", default="", help="the studio's URL, for a worker's job")
    parser.add_argument("--run-as", default="", help="OS user the job runs as")
    parser.add_argument(
        "--client",
        action="store_true",
        help="report to the studio at --server over its API (STUDIO_TOKEN): the local "
        "target of a remote studio, supervised on the submitting machine",
    )
    parser.add_argument(
        "--system-metrics-every",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="seconds between samples of the script's CPU, memory, disk, network and GPU "
        f"use, logged as sys/... metrics (default: {sysmetrics.ENV} or "
        f"{sysmetrics.DEFAULT_EVERY:g}; 0: off)",
    )
    parser.add_argument(
        "--run-token",
        action="store_true",
        help="with --client: STUDIO_TOKEN is the run's own token (a worker claimed the "
        "run over the API): the job reports with it, azureml-core with "
        "STUDIO_AZUREML_TOKEN",
    )
    args = parser.parse_args(argv)
    if args.die_with_parent:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    run_as = pwd.getpwnam(args.run_as) if args.run_as else None
    if args.client:
        from studio.execution.backends import RestBackend

        backend = RestBackend(args.server, run_token=args.run_token)
    else:
        from studio.bootstrap import setup_django

        setup_django()
        backend = LocalBackend(server=args.server)
    try:
        supervise(
            args.run_id,
            backend,
            worker=args.worker,
            run_as=run_as,
            sample_every=args.system_metrics_every,
        )
    finally:
        backend.end(args.run_id)
        if args.server and not args.client:
            revoke_run_tokens(args.run_id)
    return 0


def _seconds(value: str) -> float:
    import argparse

    seconds, problem = sysmetrics.interval(value)
    if problem:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds >= 0")
    return seconds


def revoke_run_tokens(run_id: str) -> None:
    """The job's token ends with its supervisor, however that ends (the worker calls
    this too when a supervisor of its dies)."""
    from studio.accounts.services import run_tokens_revoke
    from studio.tracking.models import Run

    run = Run.objects.filter(run_id=run_id).first()
    if run is not None:
        run_tokens_revoke(run=run)


if __name__ == "__main__":
    sys.exit(main())
