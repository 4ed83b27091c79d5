"""``studio worker --target NAME -w WORKSPACE --server URL``: executes the queued runs
of a compute target of one workspace.

With a token (STUDIO_TOKEN: a worker's own, of an account that may write to the
workspace) it works over the studio's API only, on any machine (``work_over_api``);
without, it reaches the database (DATABASE_URL, else STUDIO_HOME's), as on the
server's machine and for the Slurm bridge (``work``).

A claim loop rather than a task queue (``django.tasks``): a run here is not a
fire-and-forget call but a supervised process group that must heartbeat, be
cancelled mid-way and be found again after a crash; the claim is one conditional
UPDATE (SKIP LOCKED on PostgreSQL), which a task backend would only wrap.

Each claimed run gets a supervisor process that dies with the worker
(PR_SET_PDEATHSIG), and a script that dies with its supervisor: a killed worker's
runs stop heartbeating and are marked lost after the lease. A restarted worker
first kills what its predecessors on this host left behind (the process group while
its leader is the script, matching pid *and* start time since pids get reused; else
the group members carrying the run's STUDIO_RUN_ID) and fails their runs as lost.
"""

from __future__ import annotations

import os
import pwd
import socket
import sys
import time
import urllib.parse


def reconcile(*, target: str, me: str) -> int:
    """Clean up after earlier workers of ``target`` on this host; returns how many
    runs were found orphaned. Also stops what is left of runs already found lost
    elsewhere (the reaper can only stop processes on its own machine)."""
    import psutil
    from django.db.models import Q

    from studio.accounts.services import run_tokens_revoke
    from studio.execution import services as execution
    from studio.execution.models import Execution
    from studio.execution.supervisor import _transition_quietly, process_alive, stop_leftovers
    from studio.tracking.models import RunStatus

    host = socket.gethostname()
    live_groups = set()
    for pid in psutil.pids():
        try:
            live_groups.add(os.getpgid(pid))
        except OSError:
            continue
    orphans = (
        Execution.objects.filter(host=host, worker__startswith=f"{host}:{target}:")
        .filter(
            Q(run__status__in=execution.ACTIVE)
            | Q(run__status=RunStatus.FAILED, run__status_reason="lost", pgid__in=live_groups)
        )
        .exclude(worker=me)
        .select_related("run")
    )
    count = 0
    for record in orphans:
        if process_alive(record.supervisor_pid, record.supervisor_started):
            continue  # still supervised (a worker that died without taking it along)
        stop_leftovers(
            pgid=record.pgid,
            run_id=record.run.run_id,
            script_started=record.script_started,
            grace=5,
        )
        run_tokens_revoke(run=record.run)
        if record.run.status == RunStatus.FAILED:
            continue  # found lost before; its processes are now gone too
        error = {"message": "Its worker died; the processes it left were stopped.", "code": "lost"}
        if _transition_quietly(record.run, RunStatus.FAILED, "lost", error):
            count += 1
    return count


def check_options(*, server: str, run_as: str) -> pwd.struct_passwd | None:
    """The worker's options that decide what its jobs reach; ValueError names the
    wrong one. Jobs reach the studio only over the API (``server``), and run as the
    OS user ``run_as`` when given, which only root can switch to."""
    if not server:
        raise ValueError(
            "--server URL (or STUDIO_SERVER_URL) is required: jobs run by a worker "
            "report to the studio over its API, with a token for their run only"
        )
    if urllib.parse.urlsplit(server).scheme not in ("http", "https"):
        raise ValueError(f"--server {server!r} is not an http:// or https:// URL")
    if not run_as:
        return None
    if os.geteuid() != 0:
        raise ValueError(f"--run-as {run_as} needs the worker to run as root")
    try:
        user = pwd.getpwnam(run_as)
    except KeyError:
        raise ValueError(f"--run-as {run_as}: there is no such OS user") from None
    if user.pw_uid == 0:
        raise ValueError("--run-as root would give jobs the worker's rights")
    return user


def work(
    *,
    target: str,
    workspace: str,
    server: str,
    run_as: str = "",
    concurrency: int = 1,
    drivers: int = 2,
    poll: float = 1.0,
    max_runs: int | None = None,
    slurm_output: str | None = None,
) -> int:
    """Claim and run queued runs of ``target`` in ``workspace`` until interrupted (or
    ``max_runs`` are done): scripts under a supervisor, ``concurrency`` at a time, and
    pipelines (queued on the target of their first step) under a driver, ``drivers``
    at a time, apart so that a driver never holds the slot its steps wait for.

    On a ``slurm`` target this is the Slurm bridge (``bridge.serve``): each claimed run
    becomes a Slurm job that runs the supervisor on a compute node."""
    from studio.execution import services as execution
    from studio.execution.launch import spawn
    from studio.execution.models import ComputeKind, ComputeTarget
    from studio.execution.supervisor import revoke_run_tokens
    from studio.tracking import selectors
    from studio.tracking.models import RunType

    ws = selectors.workspace_get(name=workspace)
    me = f"{socket.gethostname()}:{target}:{os.getpid()}:{int(time.time())}"
    kind = ComputeTarget.objects.filter(workspace=ws, name=target).values_list("kind", flat=True)
    if kind.first() == ComputeKind.SLURM:
        from studio.execution import bridge

        return bridge.serve(
            port=bridge.DatabasePort(workspace=ws, target=target, me=me),
            workspace=workspace,
            target=target,
            server=server,
            me=me,
            drivers=drivers,
            poll=poll,
            max_runs=max_runs,
            output_dir=slurm_output,
            run_as=run_as,
        )
    orphans = reconcile(target=target, me=me)
    print(
        f"studio worker {me}: serving target {target!r} of {workspace!r}"
        + (f"; {orphans} orphaned run(s) failed as lost" if orphans else ""),
        flush=True,
    )
    scripts: dict[str, object] = {}
    pipelines: dict[str, object] = {}
    supervisor_args = ["--worker", me, "--server", server]
    if run_as:
        supervisor_args += ["--run-as", run_as]
    kinds = [
        (scripts, concurrency, (RunType.SCRIPT, RunType.STEP), "studio.execution.supervisor"),
        (pipelines, drivers, (RunType.PIPELINE,), "studio.execution.pipeline"),
    ]
    started = 0
    try:
        while max_runs is None or started < max_runs or scripts or pipelines:
            for children in (scripts, pipelines):
                for run_id, proc in list(children.items()):
                    if proc.poll() is not None:
                        del children[run_id]
                        if children is scripts:
                            revoke_run_tokens(run_id)  # a supervisor killed before it could
                        print(f"finished {run_id}", flush=True)
            execution.worker_beat(workspace=ws, target=target, worker=me)
            for children, limit, types, module in kinds:
                while len(children) < limit and (max_runs is None or started < max_runs):
                    run = execution.run_claim(workspace=ws, target=target, worker=me, types=types)
                    if run is None:
                        break
                    started += 1
                    print(f"claimed {run.run_id}", flush=True)
                    args = supervisor_args if children is scripts else []
                    children[run.run_id] = spawn(
                        module, run.run_id, *args, detached=False, die_with_parent=True
                    )
            time.sleep(poll)
    except KeyboardInterrupt:
        # Ctrl-C: the supervisors die with us; their runs are marked lost by the
        # lease, or at once by the next worker that starts here.
        return 130
    return 0


def work_over_api(
    *,
    target: str,
    workspace: str,
    server: str,
    token: str,
    run_as: str = "",
    concurrency: int = 1,
    drivers: int = 2,
    poll: float = 1.0,
    max_runs: int | None = None,
    slurm_output: str | None = None,
) -> int:
    """``work`` for a worker on any machine: everything over the studio's API at
    ``server`` with the worker's ``token`` (STUDIO_TOKEN), no database, nothing of
    the server's disk. Each poll asks for a run (``POST .../claim``, which also
    records the worker's heartbeat); a claimed run comes with a token of its own, the
    only one its supervisor (``--client --run-token``: snapshot, transitions,
    heartbeats, live log, outputs) and its job report with. Django is never set up.
    On a ``slurm`` target this is the Slurm bridge over the API (``bridge.ApiPort``).

    What it does not do over the API: clean up after a predecessor killed with
    SIGKILL (its supervisors died with it, taking their scripts; the lease then fails
    their runs as lost)."""
    from studio.core.spawn import spawn_client
    from studio.errors import NotFound, StudioError, Unavailable
    from studio.execution.backends import _Api, _q

    server = server.rstrip("/")
    api = _Api(server, token)
    me = f"{socket.gethostname()}:{target}:{os.getpid()}:{int(time.time())}"
    base = f"/workspaces/{_q(workspace)}/compute-targets/{_q(target)}"
    try:
        kind = api("GET", base)["kind"]
    except NotFound:
        kind = "queue"  # created by the first run submitted to it
    except StudioError as exc:
        print(f"studio worker: {exc}", file=sys.stderr, flush=True)
        return 2
    if kind == "slurm":
        from studio.execution import bridge

        return bridge.serve(
            port=bridge.ApiPort(api, workspace=workspace, target=target, me=me),
            workspace=workspace,
            target=target,
            server=server,
            me=me,
            drivers=drivers,
            poll=poll,
            max_runs=max_runs,
            output_dir=slurm_output,
            run_as=run_as,
        )
    print(
        f"studio worker {me}: serving target {target!r} of {workspace!r} over {server}", flush=True
    )
    scripts: dict[str, tuple[object, str]] = {}
    pipelines: dict[str, tuple[object, str]] = {}
    supervisor_args = ["--run-token", "--worker", me] + (["--run-as", run_as] if run_as else [])
    kinds = [
        (scripts, concurrency, ["script", "step"], "studio.execution.supervisor"),
        (pipelines, drivers, ["pipeline"], "studio.execution.pipeline"),
    ]
    started = 0
    try:
        while max_runs is None or started < max_runs or scripts or pipelines:
            for children in (scripts, pipelines):
                for run_id, (proc, run_token) in list(children.items()):
                    if proc.poll() is not None:
                        del children[run_id]
                        if proc.returncode != 0:  # a supervisor killed before it could
                            _revoke_over_api(server, run_id, run_token)
                        print(f"finished {run_id}", flush=True)
            asked = False
            try:
                for children, limit, types, module in kinds:
                    while len(children) < limit and (max_runs is None or started < max_runs):
                        asked = True
                        body = {"worker": me, "types": types}
                        claimed = api("POST", base + "/claim", body)
                        if claimed["run"] is None:
                            break
                        run_id, started = claimed["run"]["id"], started + 1
                        print(f"claimed {run_id}", flush=True)
                        args = supervisor_args if children is scripts else ["--run-token"]
                        env = {"STUDIO_AZUREML_TOKEN": claimed["azureml_token"]}
                        proc = spawn_client(
                            module, run_id, server, claimed["token"], *args, detached=False, env=env
                        )
                        children[run_id] = (proc, claimed["token"])
                if not asked:  # every slot busy: still seen on the Compute page
                    api("POST", base + "/claim", {"worker": me, "claim": False})
            except Unavailable as exc:  # the studio is away: its runs wait
                print(f"studio worker: {exc}", file=sys.stderr, flush=True)
            except StudioError as exc:  # a revoked token, a reader's: nothing to retry
                print(f"studio worker: the studio refused: {exc}", file=sys.stderr, flush=True)
                return 2
            time.sleep(poll)
    except KeyboardInterrupt:
        return 130
    return 0


def _revoke_over_api(server: str, run_id: str, run_token: str) -> None:
    """End a finished run's token with the token itself (quiet when it already is:
    its supervisor revoked it, and a revoked token is refused)."""
    from studio.errors import StudioError
    from studio.execution.backends import _Api, _q

    api = _Api(server, run_token)
    try:
        api("POST", f"/runs/{_q(run_id)}/job-token/revoke", {})
    except StudioError:
        pass
    finally:
        api.client.close()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="studio worker")
    parser.add_argument("--target", required=True)
    parser.add_argument("-w", "--workspace-name", required=True)
    parser.add_argument("--server", default=os.environ.get("STUDIO_SERVER_URL", ""))
    parser.add_argument("--run-as", default="")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--drivers", type=int, default=2)
    parser.add_argument("--max-runs", type=int)
    parser.add_argument("--slurm-output", default=None)
    args = parser.parse_args(argv)
    try:
        check_options(server=args.server, run_as=args.run_as)
    except ValueError as exc:
        parser.error(str(exc))
    if os.environ.get("STUDIO_TOKEN"):
        return work_over_api(
            target=args.target,
            workspace=args.workspace_name,
            server=args.server,
            token=os.environ["STUDIO_TOKEN"],
            run_as=args.run_as,
            concurrency=args.concurrency,
            drivers=args.drivers,
            max_runs=args.max_runs,
            slurm_output=args.slurm_output,
        )
    from studio.bootstrap import setup_django

    setup_django()
    return work(
        target=args.target,
        workspace=args.workspace_name,
        server=args.server,
        run_as=args.run_as,
        concurrency=args.concurrency,
        drivers=args.drivers,
        max_runs=args.max_runs,
        slurm_output=args.slurm_output,
    )


if __name__ == "__main__":
    sys.exit(main())
