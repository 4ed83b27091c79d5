"""The JSON form of domain objects, shared by the API and the SDK's local store so
both stores hand the SDK the same dictionaries.

A run's dictionary is made from one table (``RUN_FIELDS``) two ways: from a model
instance (``run_to_dict``: one run, tags and properties prefetched) or straight from
the database's rows (``run_rows``: a page of runs in two queries and no model
instance, what lists of runs read: the API, the SDK's local store, the CLI)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import chain
from operator import attrgetter
from typing import Any

from django.db import connections
from django.db.models import Func, QuerySet, TextField
from django.db.models.sql.constants import MULTI

from studio.tracking.models import Experiment, Run, RunProperty, RunTag, Workspace


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def _iso_text(value: datetime | str | None) -> str | None:
    """``iso`` of a time as a page's rows hand it over: text already (PostgreSQL,
    ``_IsoText``), aware, or naive UTC (SQLite's driver parses the text Django stored
    in UTC)."""
    if value is None or type(value) is str:
        return value
    if value.tzinfo is not None:
        return iso(value)
    return value.isoformat() + "Z"


class _IsoText(Func):
    """A time as ``iso`` writes it (``2026-12-01T06:35:30.123456Z``, no fraction on a
    whole second), written by PostgreSQL: a page of 100 runs has 600 times, which
    psycopg and Django turned into aware datetimes and Python back into text in
    1.1 ms of the page's 4.7 (issue 16)."""

    output_field = TextField()
    template = (
        "CASE WHEN date_trunc('second', %(expressions)s) = %(expressions)s"
        " THEN to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        " ELSE to_char(%(expressions)s AT TIME ZONE 'UTC',"
        ' \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\') END'
    )


def _json(value: str | None):
    return None if value is None else json.loads(value)


# How a value is shown: (from a model instance, from the database driver).
_AS_IS = (None, None)
_TIME = (iso, _iso_text)
_LIST = (lambda value: list(value or []), lambda value: list(_json(value) or []))
_JSON = (None, _json)
_BOOL = (None, bool)  # SQLite's driver hands a boolean over as 0 or 1

# key in the dictionary -> (path from a run, how its value is shown)
RUN_FIELDS: dict[str, tuple[str, tuple]] = {
    "id": ("run_id", _AS_IS),
    "number": ("number", _AS_IS),
    "workspace": ("workspace__name", _AS_IS),
    "experiment": ("experiment__name", _AS_IS),
    "display_name": ("display_name", _AS_IS),
    "description": ("description", _AS_IS),
    "type": ("type", _AS_IS),
    "status": ("status", _AS_IS),
    "status_reason": ("status_reason", _AS_IS),
    "error": ("error", _JSON),
    "created": ("created_at", _TIME),
    "started": ("started_at", _TIME),
    "ended": ("ended_at", _TIME),
    "status_changed": ("status_changed_at", _TIME),
    "heartbeat": ("heartbeat_at", _TIME),
    "submitted_by": ("submitted_by", _AS_IS),
    "compute_target": ("compute_target", _AS_IS),
    "script": ("script", _AS_IS),
    "arguments": ("arguments", _LIST),
    "parent_id": ("parent__run_id", _AS_IS),
    "child_count": ("child_count", _AS_IS),
    "logged_with": ("logged_with", _AS_IS),
    "archived": ("archived", _BOOL),
    "deleted": ("deleted_at", _TIME),  # in the workspace's trash since then
}
_PATHS = tuple(path for path, _ in RUN_FIELDS.values())
_TIME_PATHS = frozenset(path for path, shows in RUN_FIELDS.values() if shows is _TIME)


# (key, how its value is shown) in RUN_FIELDS order: [0] off a model, [1] raw.
_SHOWN = tuple(tuple((key, shows[raw]) for key, (_, shows) in RUN_FIELDS.items()) for raw in (0, 1))


def _run_dict(values: Iterable, properties: dict, tags: dict, *, raw: bool) -> dict[str, Any]:
    """The dictionary of one run from its values in ``RUN_FIELDS`` order, read off a
    model instance or (``raw``) as the database driver handed them over."""
    data = {
        key: value if show is None else show(value)
        for (key, show), value in zip(_SHOWN[raw], values, strict=True)
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


def _getter(path: str):
    """Reads ``path`` off a run: a field in C (``attrgetter``), a related object's
    field through ``_follow`` (which stops at a missing parent)."""
    return attrgetter(path) if "__" not in path else partial(_follow, path=path)


_GETTERS = tuple(_getter(path) for path in _PATHS)


def run_to_dict(
    run: Run, labels: tuple[dict[str, str | None], dict[str, str]] | None = None
) -> dict[str, Any]:
    """Expects ``tags`` and ``properties`` prefetched (selectors do it), or given as
    ``labels`` (tags, properties: ``selectors.run_labels``)."""
    if labels is None:
        labels = (
            {t.key: t.value for t in run.tags.all()},
            {p.key: p.value for p in run.properties.all()},
        )
    return _run_dict([get(run) for get in _GETTERS], labels[1], labels[0], raw=False)


@dataclass(slots=True)
class RunRow:
    """A run of a page read as values: what a runs list needs of it (its primary
    key, status and sort value) and its dictionary."""

    pk: int
    status: str
    _sort: object
    data: dict[str, Any]


# A related object's name is read by its key (``_Referred``): the page's query joins
# nothing (on PostgreSQL, planning three joins took longer than running the query).
_BY_KEY = {
    "workspace__name": "workspace_id",
    "experiment__name": "experiment_id",
    "parent__run_id": "parent_id",
}
_ROW_PATHS = tuple(_BY_KEY.get(path, path) for path in _PATHS)
# Shown by ``_run_dict`` from what the driver hands over, not by Django's converters
# (which took most of a page's time on SQLite: a datetime parsed, made aware and
# formatted back, per time, per run).
_RAW = {path for path, shows in RUN_FIELDS.values() if shows[1]}


def run_rows(qs: QuerySet[Run]) -> list[RunRow]:
    """The runs of ``qs`` (in its order, with its ``_sort`` if it has one) as
    ``RunRow``s, in two queries: the runs, then everything they refer to (tags,
    properties, their experiments' and workspaces' names, their parents' ids)."""
    sort = ("_sort",) if "_sort" in qs.query.annotations else ()
    rows = _values(qs, ("pk", *sort, *_ROW_PATHS))
    if not rows:
        return []
    start = 1 + len(sort)
    workspace, experiment, parent = (
        _ROW_PATHS.index(key) for key in ("workspace_id", "experiment_id", "parent_id")
    )
    referred = _Referred.of(
        runs=[row[0] for row in rows],
        experiments={row[start + experiment] for row in rows},
        parents={row[start + parent] for row in rows} - {None},
        using=qs.db,
    )
    status = _PATHS.index("status")
    made = []
    for row in rows:
        values = list(row[start:])
        values[workspace] = referred.workspaces.get(values[experiment])
        values[experiment] = referred.experiments.get(values[experiment])
        values[parent] = referred.parents.get(values[parent])
        pk = row[0]
        data = _run_dict(values, referred.properties[pk], referred.tags[pk], raw=True)
        made.append(RunRow(pk, values[status], row[1] if sort else None, data))
    return made


@dataclass
class _Referred:
    """What a page's runs refer to, read in one query."""

    properties: dict[int, dict]  # run pk -> {key: value}, in key order
    tags: dict[int, dict]
    experiments: dict[int, str]  # experiment pk -> its name
    workspaces: dict[int, str]  # experiment pk -> its workspace's name
    parents: dict[int, str]  # run pk -> run id

    PROPERTY, TAG, EXPERIMENT, PARENT = range(4)

    @classmethod
    def of(
        cls, *, runs: list[int], experiments: set[int], parents: set[int], using: str
    ) -> _Referred:
        found = cls({pk: {} for pk in runs}, {pk: {} for pk in runs}, {}, {}, {})
        with connections[using].cursor() as cursor:
            cursor.execute(cls._sql(connections[using], runs, experiments, parents))
            rows = cursor.fetchall()
        for pk, key, value, what in sorted(rows, key=lambda r: r[1]):
            if what == cls.PROPERTY:
                found.properties[pk][key] = value
            elif what == cls.TAG:
                found.tags[pk][key] = value
            elif what == cls.EXPERIMENT:
                found.experiments[pk], found.workspaces[pk] = key, value
            else:
                found.parents[pk] = key
        return found

    @classmethod
    def _sql(cls, connection, runs, experiments, parents) -> str:
        """A UNION ALL of (pk, key, value, what) rows. Written out, not composed by the
        ORM: composing four querysets of 100 ids each cost more than running them. The
        ids are the database's own integers (``int()`` makes sure), written into the
        text: bound as 200 parameters, the driver parsed the query anew on every page."""
        quote = connection.ops.quote_name
        prop, tag, exp, ws, run = (
            quote(model._meta.db_table)
            for model in (RunProperty, RunTag, Experiment, Workspace, Run)
        )
        key = quote("key")

        def among(ids) -> str:
            return ", ".join(str(int(pk)) for pk in ids)

        parts = [
            f"SELECT run_id, {key}, value, {cls.PROPERTY} FROM {prop} WHERE run_id IN ({among(runs)})",
            f"SELECT run_id, {key}, value, {cls.TAG} FROM {tag} WHERE run_id IN ({among(runs)})",
            f"SELECT e.id, e.name, w.name, {cls.EXPERIMENT} FROM {exp} e "
            f"JOIN {ws} w ON w.id = e.workspace_id WHERE e.id IN ({among(experiments)})",
        ]
        if parents:
            parts.append(
                f"SELECT id, run_id, run_id, {cls.PARENT} FROM {run} WHERE id IN ({among(parents)})"
            )
        return " UNION ALL ".join(parts)


def _values(qs: QuerySet, names: tuple[str, ...]) -> list[tuple]:
    """``qs.values_list(*names)`` (what ``ValuesListIterable`` does), the columns in
    ``_RAW`` as the driver hands them over; on PostgreSQL, times as ``iso`` text."""
    asked = names
    if connections[qs.db].vendor == "postgresql":
        texts = {name: f"_iso_{i}" for i, name in enumerate(names) if name in _TIME_PATHS}
        qs = qs.annotate(**{alias: _IsoText(name) for name, alias in texts.items()})
        asked = tuple(texts.get(name, name) for name in names)
    compiler = qs.values_list(*asked).query.get_compiler(using=qs.db)
    results = compiler.execute_sql(MULTI)  # sets up compiler.select, in names' order
    fields = [s[0] for s in compiler.select[: compiler.col_count]]
    converters = {
        i: found for i, found in compiler.get_converters(fields).items() if names[i] not in _RAW
    }
    rows = chain.from_iterable(results)
    if converters:
        rows = compiler.apply_converters(rows, converters)
    return [tuple(row) for row in rows]


def workspace_to_dict(workspace: Workspace, role: str | None = None) -> dict[str, Any]:
    """A workspace as the API and the SDK show it; ``role``: the caller's, if known."""
    return {
        "name": workspace.name,
        "archived": workspace.archived,
        "created": iso(workspace.created_at),
        "role": role,
    }


def experiment_to_dict(experiment: Experiment) -> dict[str, Any]:
    return {
        "name": experiment.name,
        "workspace": experiment.workspace.name,
        "created": iso(experiment.created_at),
        "run_count": experiment.run_counter,
        "last_activity": iso(experiment.last_activity_at),
    }
