"""``studio worker --target NAME``: execute the queued runs of a compute target on
this machine. The worker reaches the database directly (DATABASE_URL, else the
SQLite file under STUDIO_HOME), so Django is set up here, at run time only."""

from __future__ import annotations

import argparse

from studio.rules import validation

from .output import Result, UsageError
from .runs import positive_int


def worker(args: argparse.Namespace) -> Result:
    if not validation.WORKSPACE_NAME_RE.match(args.target):
        raise UsageError(f"invalid target name {args.target!r}: use letters, digits, '-' or '_'")
    from studio.bootstrap import setup_django

    setup_django()
    from studio.execution.worker import work

    code = work(
        target=args.target,
        workspace=args.workspace_name,
        concurrency=args.concurrency,
        max_runs=args.max_runs,
    )
    return Result(None, exit_code=code, printed=True)


def register(groups: argparse._SubParsersAction) -> None:
    p = groups.add_parser(
        "worker",
        help="execute the queued runs of a compute target",
        description="Claim the runs queued on compute target NAME and run each under a "
        "supervisor on this machine, CONCURRENCY at a time, until interrupted. On start it "
        "stops what earlier workers of NAME on this machine left behind. The worker uses "
        "the database directly (DATABASE_URL, else STUDIO_HOME), not a tracking URI.",
    )
    p.add_argument("--target", required=True, metavar="NAME", help="compute target to serve")
    p.add_argument(
        "-w",
        "--workspace-name",
        metavar="WORKSPACE",
        help="serve NAME of this workspace only (default: of every workspace)",
    )
    p.add_argument("--concurrency", type=positive_int, default=1, metavar="N", help="runs at once")
    p.add_argument(
        "--max-runs", type=positive_int, metavar="N", help="exit once N runs have finished"
    )
    p.set_defaults(handler=worker, output="json", query=None)
