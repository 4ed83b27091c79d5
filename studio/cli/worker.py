"""``studio worker --target NAME -w WORKSPACE --server URL``: execute the queued runs
of a compute target on this machine. With STUDIO_TOKEN (the worker's own token) it
reaches the studio at URL only, from any machine; without, it reaches the database
directly (DATABASE_URL, else the SQLite file under STUDIO_HOME), so Django is set up
here, at run time only. Either way the jobs it starts reach the studio at URL only."""

from __future__ import annotations

import argparse
import os

from studio.rules import validation

from .output import Result, UsageError
from .runs import positive_int


def worker(args: argparse.Namespace) -> Result:
    if not validation.WORKSPACE_NAME_RE.match(args.target):
        raise UsageError(f"invalid target name {args.target!r}: use letters, digits, '-' or '_'")
    from studio.execution.worker import check_options

    try:
        check_options(server=args.server, run_as=args.run_as)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if os.environ.get("STUDIO_TOKEN"):  # any machine: the API only, no database
        from studio.execution.worker import work_over_api

        code = work_over_api(
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
        return Result(None, exit_code=code, printed=True)
    from studio.bootstrap import setup_django

    setup_django()
    from studio.execution.worker import work

    code = work(
        target=args.target,
        workspace=args.workspace_name,
        server=args.server,
        run_as=args.run_as,
        concurrency=args.concurrency,
        drivers=args.drivers,
        max_runs=args.max_runs,
        slurm_output=args.slurm_output,
    )
    return Result(None, exit_code=code, printed=True)


def register(groups: argparse._SubParsersAction) -> None:
    p = groups.add_parser(
        "worker",
        help="execute the queued runs of a compute target",
        description="Claim the runs queued on compute target NAME of WORKSPACE and run each "
        "under a supervisor on this machine, CONCURRENCY at a time, and drive the pipelines "
        "queued on NAME, DRIVERS at a time, until interrupted. On a slurm target (run it on "
        "a login node) each run is submitted as a Slurm job running the supervisor, and the "
        "jobs are watched: a job that ends without its supervisor reporting fails its run "
        "with the Slurm state. With STUDIO_TOKEN set (a token of an account that may "
        "write to WORKSPACE) the worker needs nothing but URL: it claims runs, fetches "
        "their snapshots, sends their logs and uploads their outputs over the API, each "
        "run with a token of its own (a slurm target's bridge too: it needs no database). "
        "Without it, the worker uses the database directly "
        "(DATABASE_URL, else STUDIO_HOME) and on start stops what earlier workers of NAME "
        "on this machine left behind. Either way "
        "the jobs reach the studio at URL with a token for their own run, revoked when "
        "the run ends.",
    )
    p.add_argument("--target", required=True, metavar="NAME", help="compute target to serve")
    p.add_argument(
        "-w",
        "--workspace-name",
        required=True,
        metavar="WORKSPACE",
        help="the workspace whose target NAME this worker serves",
    )
    p.add_argument(
        "--server",
        default=os.environ.get("STUDIO_SERVER_URL", ""),
        metavar="URL",
        help="the studio's URL as jobs on this machine reach it (default: STUDIO_SERVER_URL)",
    )
    p.add_argument(
        "--run-as",
        default="",
        metavar="USER",
        help="run jobs as this OS user (the worker must run as root), so they cannot "
        "read the worker's files, database or environment",
    )
    p.add_argument("--concurrency", type=positive_int, default=1, metavar="N", help="runs at once")
    p.add_argument(
        "--drivers", type=positive_int, default=2, metavar="N", help="pipelines driven at once"
    )
    p.add_argument(
        "--max-runs", type=positive_int, metavar="N", help="exit once N runs have finished"
    )
    p.add_argument(
        "--slurm-output",
        metavar="DIR",
        help="slurm targets: where each job's own output (the supervisor's) goes, a folder "
        "the compute nodes can write (default: STUDIO_HOME/slurm-jobs)",
    )
    p.set_defaults(handler=worker, output="json", query=None)
