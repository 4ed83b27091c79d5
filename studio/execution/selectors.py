"""Reads of the execution domain: registered environments."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Q

from studio.errors import NotFound
from studio.execution import envdefs
from studio.execution.models import Environment
from studio.tracking.models import Workspace
from studio.tracking.schema import iso


def environment_get(
    *, workspace: Workspace, name: str, version: int | str | None = None
) -> Environment:
    """A version of the environment ``name`` (the latest one if ``version`` is None)."""
    found = Environment.objects.filter(workspace=workspace, name=name)
    if version is not None:
        try:
            found = found.filter(version=int(str(version)))
        except ValueError:
            found = found.none()
    env = found.order_by("-version").first()
    if env is None:
        what = f"{name!r}" + ("" if version is None else f" version {version}")
        raise NotFound(f"Environment {what} does not exist.", field="name")
    return env


def environment_list(*, workspace: Workspace) -> list[dict[str, Any]]:
    """The latest version of each environment, with how many versions it has and how
    many runs used any of them; by name. Two queries."""
    counts = {
        row["name"]: row
        for row in Environment.objects.filter(workspace=workspace)
        .values("name")
        .annotate(
            latest=Max("version"),
            versions=Count("pk", distinct=True),
            runs=Count("executions", distinct=True),
        )
    }
    if not counts:
        return []
    latest = Q()
    for name, row in counts.items():
        latest |= Q(name=name, version=row["latest"])
    rows = Environment.objects.filter(latest, workspace=workspace).order_by("name")
    return [
        environment_to_dict(
            env, runs=counts[env.name]["runs"], versions=counts[env.name]["versions"]
        )
        for env in rows
    ]


def environment_versions(*, workspace: Workspace, name: str) -> list[dict[str, Any]]:
    """Every version of ``name``, newest first, each with the runs that used it."""
    rows = (
        Environment.objects.filter(workspace=workspace, name=name)
        .annotate(runs=Count("executions"))
        .order_by("-version")
    )
    return [environment_to_dict(env, runs=env.runs) for env in rows]


def environment_to_dict(env: Environment, **extra: Any) -> dict[str, Any]:
    definition = dict(env.definition, name=env.name, version=str(env.version))
    return {
        "name": env.name,
        "version": str(env.version),
        "definition": definition,
        "user_managed": envdefs.user_managed(definition),
        "packages": envdefs.packages(definition),
        "created": iso(env.created_at),
        "created_by": env.created_by,
        **extra,
    }


def environment_page(*, workspace: Workspace) -> list[dict[str, Any]]:
    """Every environment of the workspace with its versions (newest first), each
    with its packages and how many runs used it: the studio's Environments page, in
    one query."""
    rows = (
        Environment.objects.filter(workspace=workspace)
        .annotate(runs=Count("executions"))
        .order_by("name", "-version")
    )
    page: dict[str, dict[str, Any]] = {}
    for env in rows:
        entry = page.setdefault(env.name, {"name": env.name, "versions": [], "runs": 0})
        entry["versions"].append(environment_to_dict(env, runs=env.runs))
        entry["runs"] += env.runs
    return list(page.values())


# --- compute targets --------------------------------------------------------------------

LOCAL_TARGET = {"kind": "local", "capacity": None, "provisioning": {}, "slurm": None}


def compute_page(*, workspace: Workspace) -> list[dict[str, Any]]:
    """Every target of the workspace (``local`` first) with its queued and running
    runs, the workers or Slurm jobs serving them, the last heartbeat of its runs, and
    the workers polling it, idle ones too (``seen``: worker, host, last_seen,
    seconds_ago; newest first): the studio's Compute page and ``studio compute
    list``. Four queries."""
    from django.utils import timezone

    from studio.execution.models import ComputeTarget, Execution, WorkerBeat
    from studio.rules.transitions import ACTIVE
    from studio.tracking.models import Run, RunStatus

    targets = {
        "local": {"name": "local", "workspace": workspace.name, **LOCAL_TARGET},
        **{
            t.name: {
                "name": t.name,
                "workspace": workspace.name,
                "kind": t.kind,
                "capacity": t.capacity,
                "provisioning": t.provisioning,
                "slurm": t.slurm if t.kind == "slurm" else None,
            }
            for t in ComputeTarget.objects.filter(workspace=workspace).order_by("name")
        },
    }
    for entry in targets.values():
        entry.update(queued=0, running=0, workers=[], jobs=[], last_heartbeat=None, seen=[])
    counts = (
        Run.objects.filter(workspace=workspace, status__in=(RunStatus.QUEUED, *ACTIVE))
        .values("compute_target", "status")
        .annotate(n=Count("pk"), beat=Max("heartbeat_at"))
    )
    for row in counts:
        entry = targets.get(row["compute_target"])
        if entry is None:
            continue
        key = "queued" if row["status"] == RunStatus.QUEUED else "running"
        entry[key] += row["n"]
        if row["beat"] and (
            entry["last_heartbeat"] is None or row["beat"] > entry["last_heartbeat"]
        ):
            entry["last_heartbeat"] = row["beat"]
    serving = (
        Execution.objects.filter(
            run__workspace=workspace, run__status__in=(RunStatus.QUEUED, *ACTIVE)
        )
        .exclude(worker="", slurm_job_id="")
        .values("run__compute_target", "run__run_id", "run__status", "run__status_reason",
                "worker", "host", "slurm_job_id")
        .order_by("run__created_at")
    )  # fmt: skip
    for row in serving:
        entry = targets.get(row["run__compute_target"])
        if entry is None:
            continue
        if row["worker"] and row["worker"] not in entry["workers"]:
            entry["workers"].append(row["worker"])
        if row["slurm_job_id"]:
            entry["jobs"].append(
                {
                    "job_id": row["slurm_job_id"],
                    "run_id": row["run__run_id"],
                    "status": row["run__status"],
                    "reason": row["run__status_reason"],
                    "host": row["host"],
                }
            )
    now = timezone.now()
    beats = WorkerBeat.objects.filter(workspace=workspace).order_by("target", "-last_seen")
    for beat in beats.values("target", "worker", "host", "last_seen"):
        entry = targets.get(beat["target"])
        if entry is None:
            continue
        entry["seen"].append(
            {
                "worker": beat["worker"],
                "host": beat["host"],
                "last_seen": iso(beat["last_seen"]),
                "seconds_ago": max(0, int((now - beat["last_seen"]).total_seconds())),
            }
        )
    for entry in targets.values():
        entry["last_heartbeat"] = iso(entry["last_heartbeat"]) if entry["last_heartbeat"] else None
    return list(targets.values())


def compute_target_status(*, workspace: Workspace, name: str) -> dict[str, Any]:
    """One target of ``compute_page``; NotFound when the workspace has none so named."""
    for entry in compute_page(workspace=workspace):
        if entry["name"] == name:
            return entry
    raise NotFound(f"Compute target {name!r} does not exist.", field="name")


def slurm_job_of(run) -> str:
    """The Slurm job id of a run on a named target ("" for none); no query for runs
    on ``local`` or none (interactive ones)."""
    from studio.execution.models import Execution

    if not run.compute_target or run.compute_target == "local":
        return ""
    return Execution.objects.filter(run=run).values_list("slurm_job_id", flat=True).first() or ""
