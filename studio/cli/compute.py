"""``studio compute create|list|show|delete``: the compute targets of a workspace.

``studio compute create hpc --kind slurm --partition debug --time-limit 02:00:00
--gres gpu:1 --sbatch-arg=--qos=high`` makes a Slurm target, whose runs
``studio worker --target hpc`` on a login node submits as Slurm jobs."""

from __future__ import annotations

import argparse

from .common import output_options, scope_options, workspace
from .output import Column, Result, UsageError
from .runs import positive_int

TARGET_COLUMNS = (
    Column("Name", lambda t: t["name"]),
    Column("Kind", lambda t: t["kind"]),
    Column("Queued", lambda t: t.get("queued", "")),
    Column("Running", lambda t: t.get("running", "")),
    Column("Serving", lambda t: _serving(t)),
    Column("Last heartbeat", lambda t: t.get("last_heartbeat") or ""),
    Column("Settings", lambda t: _settings(t)),
)


def _serving(target: dict) -> str:
    jobs = [f"job {j['job_id']}" for j in target.get("jobs") or []]
    seen = [f"{b['host']} ({b['seconds_ago']} s ago)" for b in target.get("seen") or []]
    return ", ".join(jobs or seen or target.get("workers") or [])


def _settings(target: dict) -> str:
    slurm = target.get("slurm") or {}
    parts = [f"{k}={v}" for k, v in slurm.items() if v and k != "extra_sbatch_args"]
    return " ".join(parts + list(slurm.get("extra_sbatch_args") or []))


def compute_list(args: argparse.Namespace) -> Result:
    ws = workspace(args)
    store = ws._store
    names = ["local", *(t["name"] for t in store.list_compute_targets(ws.name))]
    return Result([store.compute_target_status(ws.name, name) for name in names], TARGET_COLUMNS)


def compute_show(args: argparse.Namespace) -> Result:
    ws = workspace(args)
    return Result(ws._store.compute_target_status(ws.name, args.name), TARGET_COLUMNS)


def compute_create(args: argparse.Namespace) -> Result:
    from studio.sdk.compute import ComputeTarget, SlurmCompute

    ws = workspace(args)
    slurm_options = (args.partition, args.account, args.time_limit, args.gres, args.sbatch_arg)
    if args.kind != "slurm" and any(slurm_options):
        raise UsageError(
            "--partition, --account, --time-limit, --gres and --sbatch-arg need --kind slurm"
        )
    if args.kind == "slurm":
        target = ComputeTarget.create(
            ws,
            args.name,
            SlurmCompute(
                partition=args.partition,
                account=args.account,
                time_limit=args.time_limit,
                gres=args.gres,
                extra_sbatch_args=list(args.sbatch_arg or []),
            ),
        )
    else:
        ws._store.get_compute_target(ws.name, args.name, kind=args.kind)
        target = ComputeTarget(ws, args.name)
    if args.capacity is not None:
        target.update(max_nodes=args.capacity)
    return Result(ws._store.compute_target_status(ws.name, args.name), TARGET_COLUMNS)


def compute_delete(args: argparse.Namespace) -> Result:
    ws = workspace(args)
    ws._store.delete_compute_target(ws.name, args.name)
    return Result({"name": args.name, "deleted": True})


def register(groups: argparse._SubParsersAction) -> None:
    compute = groups.add_parser(
        "compute", help="create, list, show, delete compute targets (queue, slurm)"
    )
    commands = compute.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = [output_options(), scope_options()]
    p = commands.add_parser(
        "list", parents=common, help="the workspace's targets, local first, with their runs"
    )
    p.set_defaults(handler=compute_list)
    p = commands.add_parser(
        "show",
        parents=common,
        help="one target: its kind, settings, queued and running runs, the workers or "
        "Slurm jobs serving them and their last heartbeat",
    )
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=compute_show)
    p = commands.add_parser(
        "create",
        parents=common,
        help="a queue target (served by `studio worker --target NAME`) or a slurm target "
        "(its runs submitted as Slurm jobs by that worker on a login node)",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--kind", choices=("queue", "slurm"), default="queue")
    p.add_argument("--partition", metavar="PARTITION", help="Slurm partition (slurm)")
    p.add_argument("--account", metavar="ACCOUNT", help="Slurm account (slurm)")
    p.add_argument(
        "--time-limit", metavar="TIME", help="job time limit: MINUTES, HH:MM:SS, D-HH:MM:SS"
    )
    p.add_argument("--gres", metavar="GRES", help="generic resources, e.g. gpu:1 (slurm)")
    p.add_argument(
        "--sbatch-arg",
        action="append",
        metavar="OPTION",
        help="one more sbatch option as --sbatch-arg=--name=value (repeatable)",
    )
    p.add_argument("--capacity", type=positive_int, metavar="N", help="steps of a pipeline at once")
    p.set_defaults(handler=compute_create)
    p = commands.add_parser(
        "delete", parents=common, help="delete a target (refused while runs wait or run on it)"
    )
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=compute_delete)
