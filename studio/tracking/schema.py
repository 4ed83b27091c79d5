"""The JSON form of domain objects, shared by the API and the SDK's local store so
both stores hand the SDK the same dictionaries.

A run's dictionary is made from one table (``RUN_FIELDS``) two ways: from a model
instance (``run_to_dict``: one run, tags and properties prefetched) or straight from
the database's rows (``run_rows``: a page of runs in two queries and no model
instances, what lists of runs read: the API, the SDK's local store, the CLI)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet, Value

from studio.tracking.models import Experiment, Run, RunProperty, RunTag


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


# key in the dictionary -> (path from a run, how the value is shown)
_SAME = None
RUN_FIELDS: dict[str, tuple[str, object]] = {
    "id": ("run_id", _SAME),
    "number": ("number", _SAME),
    "workspace": ("workspace__name", _SAME),
    "experiment": ("experiment__name", _SAME),
    "display_name": ("display_name", _SAME),
    "description": ("description", _SAME),
    "type": ("type", _SAME),
    "status": ("status", _SAME),
    "status_reason": ("status_reason", _SAME),
    "error": ("error", _SAME),
    "created": ("created_at", iso),
    "started": ("started_at", iso),
    "ended": ("ended_at", iso),
    "status_changed": ("status_changed_at", iso),
    "heartbeat": ("heartbeat_at", iso),
    "submitted_by": ("submitted_by", _SAME),
    "compute_target": ("compute_target", _SAME),
    "script": ("script", _SAME),
    "arguments": ("arguments", lambda value: list(value or [])),
    "parent_id": ("parent__run_id", _SAME),
    "child_count": ("child_count", _SAME),
}
_PATHS = tuple(path for path, _ in RUN_FIELDS.values())


def _run_dict(values: Iterable, properties: dict, tags: dict) -> dict[str, Any]:
    """The dictionary of one run from its values in ``RUN_FIELDS`` order."""
    data = {
        key: value if show is None else show(value)
        for (key, (_, show)), value in zip(RUN_FIELDS.items(), values, strict=True)
    }
    data["properties"] = properties
    data["tags"] = tags
    return data


def _follow(run: Run, path: str):
    value = run
    for name in path.split("__"):
        if value is None:
            return None
        value = getattr(value, name)
    return value


def run_to_dict(run: Run) -> dict[str, Any]:
    """Expects ``tags`` and ``properties`` prefetched (selectors do it)."""
    return _run_dict(
        (_follow(run, path) for path in _PATHS),
        {p.key: p.value for p in run.properties.all()},
        {t.key: t.value for t in run.tags.all()},
    )


@dataclass(slots=True)
class RunRow:
    """A run of a page read as values: what a runs list needs of it (its primary
    key, status and sort value) and its dictionary."""

    pk: int
    status: str
    _sort: object
    data: dict[str, Any]


def run_rows(qs: QuerySet[Run]) -> list[RunRow]:
    """The runs of ``qs`` (in its order, with its ``_sort`` if it has one) as
    ``RunRow``s: one query for the runs, one for their tags and properties."""
    sort = ("_sort",) if "_sort" in qs.query.annotations else ()
    rows = list(qs.values_list("pk", *sort, *_PATHS))
    if not rows:
        return []
    pks = [row[0] for row in rows]
    keyed = {pk: ({}, {}) for pk in pks}  # pk -> (properties, tags)
    for run_pk, key, value, is_tag in sorted(_tags_and_properties(pks), key=lambda r: r[1]):
        keyed[run_pk][is_tag][key] = value
    start = 1 + len(sort)
    status = start + _PATHS.index("status")
    return [
        RunRow(
            row[0], row[status], row[1] if sort else None, _run_dict(row[start:], *keyed[row[0]])
        )
        for row in rows
    ]


def _tags_and_properties(pks: list[int]) -> QuerySet:
    """(run pk, key, value, 1 for a tag / 0 for a property) of the runs: one query."""
    tags = RunTag.objects.filter(run_id__in=pks).values_list("run_id", "key", "value", Value(1))
    properties = RunProperty.objects.filter(run_id__in=pks).values_list(
        "run_id", "key", "value", Value(0)
    )
    return tags.order_by().union(properties.order_by(), all=True)


def experiment_to_dict(experiment: Experiment) -> dict[str, Any]:
    return {
        "name": experiment.name,
        "workspace": experiment.workspace.name,
        "created": iso(experiment.created_at),
        "run_count": experiment.run_counter,
        "last_activity": iso(experiment.last_activity_at),
    }
