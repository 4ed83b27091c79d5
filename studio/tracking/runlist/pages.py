"""Reading a runs list: sorted by any column, in keyset pages, with the values of
property, tag and metric columns.

A page costs a fixed number of queries whatever the number of rows: the page itself
(the sort value joined in: one LEFT JOIN on the metric summary, property or tag
row of the sort key), its tags and properties (prefetched), one query for the
metric columns shown, and the list's size. That size is counted up to
``COUNT_LIMIT`` runs past the page's start and no further: beyond it the page says
"1,000+" (``Page.total_more``), since an exact count of 100,000 matches costs more
than everything else the page does (each run a filter keeps is a lookup). On a
first page the count reads the ids of the list's newest runs, which the column
catalog then samples without finding them again. The rows themselves are read in
the order an index gives (``_following``), never by sorting every matching run.

Pages are cut by keyset (the sort value and the primary key
of the last row), so page 2,000 costs what page 1 does, and a run created while
someone reads the list does not shift what the next page shows. Missing values
(a run without the metric) sort last in both directions.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    F,
    FilteredRelation,
    Q,
    QuerySet,
)

from studio.errors import ValidationError
from studio.rules.runquery import (
    MAX_DATE,
    MAX_PAGE,
    MIN_DATE,
    Column,
    Sort,
    check_limit,
    page_size,
)
from studio.tracking.models import MetricSummary, Run, RunProperty, RunTag
from studio.tracking.runlist.language import MAX_SECONDS
from studio.tracking.services import liveness

PAGE_SIZE = 50
MAX_PAGE_SIZE = MAX_PAGE
# A list's size is counted exactly up to this many runs from the page's start; past
# it the count stops there and is shown as a lower bound ("1,000+"). At least the
# catalog's SAMPLE: a first page's count ids are its sample.
COUNT_LIMIT = 1_000
# Built-in sort keys: (expression, may be null).
_FIELDS: dict[str, tuple[str, bool]] = {
    "name": ("display_name", False),
    "id": ("run_id", False),
    "experiment": ("experiment__name", False),
    "status": ("status", False),
    "created": ("created_at", False),
    "submitted_by": ("submitted_by", False),
    "compute_target": ("compute_target", False),
    "description": ("description", False),
    "type": ("type", False),
}
_STAT_FIELDS = {"last": "last_value", "min": "min_value", "max": "max_value"}


def _with_sort_value(qs: QuerySet[Run], column: Column) -> tuple[QuerySet[Run], bool]:
    """``qs`` with the sort value as ``_sort``; and whether it may be null. The alias
    names are ours; the user's key or metric name is only ever a bound parameter."""
    if column.kind in _FIELDS:
        path, nullable = _FIELDS[column.kind]
        return qs.annotate(_sort=F(path)), nullable
    if column.kind == "duration":
        return qs.annotate(_sort=Run.duration_expression()), True
    if column.kind == "metric":
        rel = FilteredRelation("metric_summaries", condition=Q(metric_summaries__name=column.arg))
    else:
        relation = "properties" if column.kind == "prop" else "tags"
        rel = FilteredRelation(relation, condition=Q(**{f"{relation}__key": column.arg}))
    return qs.alias(_sr=rel).annotate(_sort=F(f"_sr__{_related_value(column)}")), True


def _related_value(column: Column) -> str:
    """The field of a metric summary, property or tag row the sort value is."""
    return _STAT_FIELDS[column.stat] if column.kind == "metric" else "value"


def _with_present_value(qs: QuerySet[Run], column: Column) -> QuerySet[Run]:
    """``qs``'s runs that have a (non-null) value of a metric, property or tag sort
    column, with it as ``_sort``: an INNER JOIN, which the database may drive from
    the value's index."""
    relation, name = {"metric": ("metric_summaries", "name"), "prop": ("properties", "key")}.get(
        column.kind, ("tags", "key")
    )
    value = f"{relation}__{_related_value(column)}"
    found = qs.filter(**{f"{relation}__{name}": column.arg, f"{value}__isnull": False})
    return found.annotate(_sort=F(value))


def sorted_runs(qs: QuerySet[Run], sort: Sort) -> tuple[QuerySet[Run], bool]:
    qs, nullable = _with_sort_value(qs, sort.column)
    if sort.descending:
        order = [F("_sort").desc(nulls_last=True) if nullable else F("_sort").desc(), "-pk"]
    else:
        order = [F("_sort").asc(nulls_last=True) if nullable else F("_sort").asc(), "pk"]
    return qs.order_by(*order), nullable


def _reversed(sort: Sort, nullable: bool) -> list:
    """The exact reverse of ``sorted_runs``' order (for the page before a cursor)."""
    if sort.descending:
        return [F("_sort").asc(nulls_first=True) if nullable else F("_sort").asc(), "pk"]
    return [F("_sort").desc(nulls_first=True) if nullable else F("_sort").desc(), "-pk"]


def _beyond(sort: Sort, value, pk: int, *, forward: bool, nullable: bool) -> Q:
    """Rows after (``forward``) or before the row (value, pk) in the list's order."""
    later = "lt" if sort.descending else "gt"
    earlier = "gt" if sort.descending else "lt"
    cmp = later if forward else earlier
    if value is None:  # nulls come last
        same = Q(_sort__isnull=True) & Q(**{f"pk__{cmp}": pk})
        return same if forward else Q(_sort__isnull=False) | same
    q = Q(**{f"_sort__{cmp}": value}) | Q(_sort=value, **{f"pk__{cmp}": pk})
    if forward and nullable:
        q |= Q(_sort__isnull=True)
    return q


# --- cursors ----------------------------------------------------------------------


def _encode_value(value) -> object:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"d": value.total_seconds()}
    return value


MAX_INT = 2**63 - 1  # what the database's integers hold


def _decode_value(raw, column: Column) -> object:
    """A cursor's sort value, of the type the sort column compares (a string where
    a date belongs would make PostgreSQL fail the query, a 20-digit integer would
    overflow SQLite's)."""
    if raw is None:
        return None
    if column.kind == "created":
        if isinstance(raw, dict) and set(raw) == {"t"} and isinstance(raw["t"], str):
            value = dt.datetime.fromisoformat(raw["t"])
            if value.tzinfo is not None and MIN_DATE <= value.date() <= MAX_DATE:
                return value
    elif column.kind == "duration":
        if isinstance(raw, dict) and set(raw) == {"d"} and type(raw["d"]) in (int, float):
            if abs(raw["d"]) <= MAX_SECONDS:
                return dt.timedelta(seconds=raw["d"])
    elif column.kind == "metric":
        if type(raw) is float and math.isfinite(raw) or type(raw) is int and abs(raw) <= MAX_INT:
            return raw
    elif isinstance(raw, str) and len(raw) <= 10_000:
        return raw
    raise ValueError("bad cursor value")


def encode_cursor(sort: Sort, value, pk: int, position: int) -> str:
    body = json.dumps({"s": sort.key, "v": _encode_value(value), "k": pk, "n": position})
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> tuple[object, int, int]:
    """(value, pk, position) of a cursor this module handed out for this sort."""
    try:
        if not isinstance(cursor, str) or len(cursor) > 20_000:
            raise ValueError("not a cursor")
        body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        pk, position = body["k"], body["n"]
        if body["s"] != sort.key or type(pk) is not int or type(position) is not int:
            raise ValueError("cursor of another list")
        if not 0 < pk <= MAX_INT or not 0 <= position <= MAX_INT:
            raise ValueError("out of range")
        return _decode_value(body["v"], sort.column), pk, position
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, OverflowError):
        raise ValidationError("The page link is not valid any more.", field="cursor") from None


# --- pages ------------------------------------------------------------------------


def models(qs: QuerySet[Run]) -> list[Run]:
    """A page's runs as model instances, related rows joined or prefetched (what
    the studio's templates read); ``schema.run_rows`` reads them as dictionaries."""
    return list(qs.with_related())


# Reads the runs of a queryset, in its order; each has ``pk``, ``status`` and a
# settable ``_sort``.
Loader = Callable[[QuerySet[Run]], list[Any]]


@dataclass
class Page:
    runs: list[Any]  # what the loader made: Run instances unless told otherwise
    start: int  # 1-based position of the first run
    next_cursor: str | None
    prev_cursor: str | None
    total: int | None = None  # runs in the whole list (None when not asked for)
    # ``total`` is a lower bound: the count stopped at COUNT_LIMIT runs past the
    # page's start, and the list holds more.
    total_more: bool = False
    # A first page's count: the ids of the list's newest runs, up to COUNT_LIMIT.
    newest: list[int] | None = None

    @property
    def end(self) -> int:
        return self.start + len(self.runs) - 1


def page(
    qs: QuerySet[Run],
    sort: Sort,
    *,
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
    with_total: bool = True,
    load: Loader = models,
) -> Page:
    """One page of ``qs`` in ``sort`` order: the first, or the one after or before
    a cursor, and the number of runs in the whole list (exact up to COUNT_LIMIT runs
    past the page's start, a lower bound beyond); ``load`` reads the runs."""
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationError(f"A page holds 1 to {MAX_PAGE_SIZE} runs.", field="size")
    ordered, nullable = sorted_runs(qs, sort)
    start, total, more, runs, newest = 1, None, False, None, None
    if before:
        value, pk, position = decode_cursor(before, sort)
        beyond = _beyond(sort, value, pk, forward=False, nullable=nullable)
        keys = _keys(ordered.filter(beyond).order_by(*_reversed(sort, nullable)), size + 1)
        has_prev, has_next = len(keys) > size, True
        keys = keys[:size][::-1]
        start = max(position - len(keys), 1)
        if with_total and keys:
            # The page's runs, then those after its last one.
            rest = ordered.filter(_beyond(sort, *keys[-1][::-1], forward=True, nullable=nullable))
            total, more = _counted(rest, start - 1 + len(keys))
        elif with_total:
            total, more = _counted(qs, 0)
    else:
        cursor = None
        if after:
            value, pk, position = decode_cursor(after, sort)
            cursor = (value, pk)
            start = position + 1
        has_prev = bool(after)
        if with_total and cursor is None:
            newest = list(qs.order_by("-pk").values_list("pk", flat=True)[: COUNT_LIMIT + 1])
        if newest is not None and len(newest) <= COUNT_LIMIT:
            # The whole list is those ids: its page is read from them, sorted (at most
            # COUNT_LIMIT rows), where walking the sort column's index would read every
            # run that has a value to find a few (20 runs sorted by a metric that
            # 100,000 have: 1 ms instead of 110 on SQLite).
            runs = load(sorted_runs(qs.filter(pk__in=newest), sort)[0][: size + 1])
        else:
            # The rows themselves, in order, each part from an index the database
            # walks and stops (never a sort of every matching run).
            runs = _following(qs, sort, cursor, size + 1, load)
        has_next, runs = len(runs) > size, runs[:size]
        keys = [(run.pk, run._sort) for run in runs]
        if newest is not None:
            more = len(newest) > COUNT_LIMIT and has_next
            del newest[COUNT_LIMIT:]
            total = len(newest) if has_next else len(runs)
        elif with_total and not has_next:
            total = start - 1 + len(runs)
        elif with_total:
            rest = ordered.filter(_beyond(sort, *cursor, forward=True, nullable=nullable))
            total, more = _counted(rest, start - 1)
    if runs is None:
        runs = _rows(qs, keys, load)
    if liveness.runs_reap_lost(runs=runs):  # shown as going, process gone: Failed, "lost"
        runs = _rows(qs, keys, load)
    if not runs:
        return Page([], start, None, None, total, more, newest)
    first, last = runs[0], runs[-1]
    return Page(
        runs,
        start,
        encode_cursor(sort, last._sort, last.pk, start + len(runs) - 1) if has_next else None,
        encode_cursor(sort, first._sort, first.pk, start) if has_prev else None,
        total,
        more,
        newest,
    )


def _counted(rest: QuerySet[Run], before: int) -> tuple[int, bool]:
    """(``before`` plus the runs of ``rest``, whether there are more): ``rest`` is
    counted up to COUNT_LIMIT runs, a subquery the database stops reading there."""
    found = rest.order_by().values("pk")[: COUNT_LIMIT + 1].count()
    return before + min(found, COUNT_LIMIT), found > COUNT_LIMIT


def first_rows(qs: QuerySet[Run], sort: Sort, limit: int, load: Loader = models) -> list:
    """The first ``limit`` runs of ``qs`` in ``sort`` order, read by ``load`` (the
    top of a list, without its page or count)."""
    return _following(qs, sort, None, limit, load)


def _following(
    qs: QuerySet[Run],
    sort: Sort,
    cursor: tuple | None,
    limit: int,
    load: Loader,
) -> list:
    """The first ``limit`` runs of ``qs`` in ``sort`` order after ``cursor`` (value,
    pk), read by ``load``. A sort value that may be missing (a metric, property or tag)
    is read in two parts, each in an order an index gives, so the database stops at
    ``limit`` rows instead of sorting every run: the runs that have a value (a metric's
    summaries are indexed by name, value and run), then, if the page is not full, the
    runs without one, by primary key: the order ``sorted_runs`` spells."""
    ordered, nullable = sorted_runs(qs, sort)
    if not nullable or sort.column.kind not in ("metric", "prop", "tag"):
        # A built-in column (a duration may be missing too, but has no index to read).
        if cursor:
            ordered = ordered.filter(_beyond(sort, *cursor, forward=True, nullable=nullable))
        return load(ordered[:limit])
    valued, _ = _with_sort_value(qs, sort.column)
    later = "lt" if sort.descending else "gt"
    pk_order = "-pk" if sort.descending else "pk"
    runs = []
    if cursor is None or cursor[0] is not None:
        present = _with_present_value(qs, sort.column)
        if cursor:
            value, pk = cursor
            # The redundant bound lets the index scan start at the cursor's value.
            present = present.filter(**{f"_sort__{later}e": value}).filter(
                _beyond(sort, value, pk, forward=True, nullable=False)
            )
        value_order = F("_sort").desc() if sort.descending else F("_sort").asc()
        runs = load(present.order_by(value_order, pk_order)[:limit])
    if len(runs) < limit:
        missing = valued.filter(_sort__isnull=True)
        if cursor and cursor[0] is None:
            missing = missing.filter(**{f"pk__{later}": cursor[1]})
        runs += load(missing.order_by(pk_order)[: limit - len(runs)])
    return runs


def _keys(ordered: QuerySet[Run], limit: int) -> list[tuple[int, object]]:
    """(pk, sort value) of the page's rows: only these columns go through the
    database's sort, not whole rows with their joins."""
    return list(ordered.values_list("pk", "_sort")[:limit])


def _rows(qs: QuerySet[Run], keys: list[tuple[int, object]], load: Loader) -> list:
    if not keys:
        return []
    found = {r.pk: r for r in load(qs.model.objects.filter(pk__in=[k for k, _ in keys]))}
    runs = []
    for pk, value in keys:
        run = found.get(pk)
        if run is not None:  # deleted between the two queries
            run._sort = value
            runs.append(run)
    return runs


def iterate(
    qs: QuerySet[Run],
    sort: Sort,
    *,
    chunk: int = 500,
    first: int | None = None,
    limit: int | None = None,
    load: Loader = models,
) -> Iterator[list]:
    """Every run of ``qs`` in ``sort`` order, a keyset page at a time (CSV export,
    the SDK): memory stays flat however long the list. The first page holds
    ``first`` runs (default ``chunk``), the others ``chunk``; with ``limit``, at most
    that many runs in all, and no page asks for more than the limit leaves."""
    limit = check_limit(limit)
    cursor, taken, size = None, 0, first or chunk
    while limit is None or taken < limit:
        size = page_size(limit, taken, size)
        current = page(qs, sort, after=cursor, size=size, with_total=False, load=load)
        if current.runs:
            yield current.runs
        taken += len(current.runs)
        if current.next_cursor is None:
            return
        cursor, size = current.next_cursor, chunk


# --- cells ------------------------------------------------------------------------


def keyed_rows(run: Run, relation: str) -> list:
    """A run's tags or properties (``relation``), in key order: the plain list a
    page's loader left on it (``listed_tags``, ``listed_properties``), else the
    related manager's (prefetched) rows."""
    listed = run.__dict__.get(f"listed_{relation}")
    return listed if listed is not None else list(getattr(run, relation).all())


def attach_keyed_rows(runs: Sequence[Run]) -> None:
    """Set ``listed_tags`` and ``listed_properties`` on ``runs``: one query each, as
    a prefetch costs, without the related manager Django builds per run to hold a
    prefetch (a third of the time a 50-run page takes to read)."""
    for relation, model in (("tags", RunTag), ("properties", RunProperty)):
        found: dict[int, list] = {run.pk: [] for run in runs}
        if runs:
            for row in model.objects.filter(run_id__in=list(found)).order_by("key"):
                found[row.run_id].append(row)
        for run in runs:
            setattr(run, f"listed_{relation}", found[run.pk])


def attach_cells(runs: Sequence[Run], columns: Sequence[Column]) -> None:
    """Set ``run.cells``: (column, value) per column, the value of a property, tag
    or metric column (None for built-in columns, which templates read off the run).
    One query for all metric columns; tags and properties come prefetched."""
    names = {c.arg for c in columns if c.kind == "metric"}
    summaries: dict[tuple[int, str], MetricSummary] = {}
    if names and runs:
        for summary in MetricSummary.objects.filter(
            run_id__in=[r.pk for r in runs], name__in=names
        ).only(
            "run_id", "name", "last_value", "last_is_nan", "last_text", "min_value", "max_value"
        ):
            summaries[(summary.run_id, summary.name)] = summary
    for run in runs:
        tags = {t.key: t.value for t in keyed_rows(run, "tags")}
        props = {p.key: p.value for p in keyed_rows(run, "properties")}
        cells = []
        for column in columns:
            value = None
            if column.kind == "prop":
                value = props.get(column.arg)
            elif column.kind == "tag":
                value = tags.get(column.arg, None) if column.arg in tags else None
                if column.arg in tags and value is None:
                    value = "✓"  # a key-only tag
            elif column.kind == "metric":
                value = _metric_value(summaries.get((run.pk, column.arg)), column.stat)
            cells.append((column, value))
        run.cells = cells


def metric_column_values(*, run_pk: int, columns: Sequence[Column]) -> dict[str, Any]:
    """Column key -> one run's value of each metric column (one query; a baseline)."""
    metric = [c for c in columns if c.kind == "metric"]
    if not metric:
        return {}
    found = {
        s.name: s
        for s in MetricSummary.objects.filter(run_id=run_pk, name__in={c.arg for c in metric})
    }
    values = {c.key: _metric_value(found.get(c.arg), c.stat) for c in metric}
    return {key: value for key, value in values.items() if value is not None}


def _metric_value(summary: MetricSummary | None, stat: str):
    if summary is None:
        return None
    if stat == "last":
        if summary.last_is_nan:
            return float("nan")
        return summary.last_value if summary.last_value is not None else summary.last_text
    return summary.min_value if stat == "min" else summary.max_value


# --- a metric across runs (charts) ------------------------------------------------


def metric_values(*, run_ids: Sequence[int], name: str, stat: str) -> dict[int, float | None]:
    """run pk -> the metric's last, min or max value, for the runs that have it."""
    column = _STAT_FIELDS[stat]
    rows = MetricSummary.objects.filter(run_id__in=list(run_ids), name=name)
    return dict(rows.values_list("run_id", column))


MAX_CHART_RUNS = 5000


def experiment_metric_values(*, experiment, name: str, stat: str) -> list[tuple]:
    """(number, display name, status, value) of the experiment's runs that logged
    the metric, children included, the latest MAX_CHART_RUNS of them."""
    column = _STAT_FIELDS[stat]
    rows = (
        MetricSummary.objects.filter(run__experiment=experiment, name=name)
        .order_by("-run__number")
        .values_list("run__number", "run__display_name", "run__status", column)
    )
    return list(rows[:MAX_CHART_RUNS])


def experiment_metric_names(*, experiment, limit: int = 200) -> list[str]:
    """Scalar metric names logged by the experiment's latest 1,000 runs, the most
    logged first (the one worth charting by default); the system metrics every
    submitted run gets (``sys/...``) after the runs' own, so they are not the
    default while the runs log any of their own, however many runs have them."""
    from django.db.models import Case, Count, IntegerField, Value, When

    from studio.rules.validation import SYSTEM_METRIC_PREFIX

    recent = Run.objects.filter(experiment=experiment).order_by("-number").values("pk")[:1000]
    system = When(name__startswith=SYSTEM_METRIC_PREFIX, then=Value(1))
    names = (
        MetricSummary.objects.filter(run__in=recent, kind="scalar")
        .values("name")
        .annotate(
            runs=Count("pk"), system=Case(system, default=Value(0), output_field=IntegerField())
        )
        .order_by("system", "-runs", "name")
        .values_list("name", flat=True)
    )
    return list(names[:limit])


def experiments_with_counts(*, workspace):
    """The workspace's experiments with their run count, runs still going and the
    time of their latest run, most recently active first (one query); runs in the
    trash are not counted."""
    from django.db.models import Count, Max

    from studio.rules.transitions import STATUSES, TERMINAL
    from studio.tracking.models import Experiment

    kept = Q(runs__deleted_at__isnull=True)
    going = kept & Q(runs__status__in=[s for s in STATUSES if s not in TERMINAL])
    return (
        Experiment.objects.filter(workspace=workspace)
        .annotate(
            run_total=Count("runs", filter=kept),
            runs_going=Count("runs", filter=going),
            runs_failed=Count("runs", filter=kept & Q(runs__status="Failed")),
            last_run_at=Max("runs__created_at", filter=kept),
        )
        .order_by(F("last_activity_at").desc(nulls_last=True), "name")
    )
