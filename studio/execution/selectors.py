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
