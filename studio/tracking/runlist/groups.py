"""A runs list grouped by a property, a tag or the experiment: one row per group
with its run count and, for each metric column, the mean, sample standard deviation,
minimum and maximum over the group's runs.

Computed in the database, over every run the list's filters select (not only one
page): one GROUP BY query gives count, mean, min and max, a second one the sum of
squared deviations from each group's mean (the two-pass formula: no cancellation
when values are large and close together, as sum-of-squares minus square-of-sum
would have), so no run travels to Python and the cost is one scan of the listed runs
whatever their number. (Django's StdDev is no help: SQLite's version fails on a
group of one and on missing values.) Only finite values count: a run whose metric is
missing, NaN or infinite is in the group's run count but not in that metric's ``n``.

A key with more distinct values than ``MAX_GROUPS`` (a seed, a run id) shows its
``MAX_GROUPS`` largest groups and says how many there are, so the page stays bounded.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    FilteredRelation,
    FloatField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)

from studio.errors import ValidationError
from studio.rules.runquery import Column, Sort
from studio.tracking.models import Run
from studio.tracking.runlist.state import GROUP_KINDS

MAX_GROUPS = 100
MAX_METRICS = 12  # metric columns aggregated per group (one join each)
_STAT_FIELDS = {"last": "last_value", "min": "min_value", "max": "max_value"}
_FINITE = sys.float_info.max  # NaN and infinities lie outside +-this on both backends


@dataclass(frozen=True)
class Stats:
    """Of one metric column over one group's runs that have a finite value."""

    n: int
    mean: float | None
    std: float | None  # sample standard deviation (n - 1); None below two values
    min: float | None
    max: float | None


@dataclass
class Group:
    value: str | None  # the property's, tag's or experiment's value; None: no value
    present: bool  # the run has the key (a key-only tag: present, value None)
    count: int
    stats: list[Stats] = field(default_factory=list)  # one per metric column, in order

    @property
    def label(self) -> str:
        if not self.present:
            return "(none)"
        return "(no value)" if self.value is None else self.value


@dataclass
class Grouping:
    column: Column
    metrics: list[Column]
    groups: list[Group]
    runs: int  # runs in the shown groups
    distinct: int  # groups the key has among the listed runs
    capped: bool

    @property
    def message(self) -> str | None:
        if not self.capped:
            return None
        return (
            f"{self.column.label} has {self.distinct:,} distinct values among these runs; "
            f"showing the {len(self.groups)} largest groups. Group by a key with fewer "
            "values, or filter the list first."
        )


def ordered(grouping: Grouping, sort: Sort) -> list[Group]:
    """The groups in the order a list sorted by ``sort`` shows them: by the mean of
    the sort column when it is an aggregated metric column (the best group first),
    else by value (as numbers when every value is one); "(none)" and groups without
    a value last."""
    if sort.column in grouping.metrics:
        i = grouping.metrics.index(sort.column)
        valued = [g for g in grouping.groups if g.stats[i].mean is not None]
        rest = [g for g in grouping.groups if g.stats[i].mean is None]
        valued.sort(key=lambda g: g.stats[i].mean, reverse=sort.descending)
        return valued + rest
    valued = [g for g in grouping.groups if g.value is not None]
    rest = [g for g in grouping.groups if g.value is None]
    numbers = {id(g): _number(g.value) for g in valued}
    if all(n is not None for n in numbers.values()):
        valued.sort(key=lambda g: numbers[id(g)])
    else:
        valued.sort(key=lambda g: g.value)
    return valued + sorted(rest, key=lambda g: not g.present)


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def quote(text: str) -> str:
    """``text`` as a quoted string of the filter language."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def group_filter(column: Column, group: Group) -> str:
    """The filter-language condition that selects ``group``'s runs (what opening a
    group, as rows in place or as its own list, adds to the list's filter)."""
    if column.kind == "experiment":
        return f"experiment = {quote(group.value or '')}"
    field = f"{'properties' if column.kind == 'prop' else 'tags'}.{quote(column.arg)}"
    if not group.present:
        return f"not has {field}"
    if group.value is None:  # a key-only tag: has the key, no value (~ '' needs one)
        return f"has {field} and not {field} ~ ''"
    return f"{field} = {quote(group.value)}"


def _keyed(runs: QuerySet[Run], column: Column) -> tuple[QuerySet[Run], list[str]]:
    """``runs`` with the group value as ``_g`` (and, for a property or tag, the key
    as ``_gk``: null when the run lacks it), and the names to group by."""
    if column.kind not in GROUP_KINDS:
        raise ValidationError(
            "Group by a property (prop:KEY), a tag (tag:KEY) or the experiment.", field="group"
        )
    if column.kind == "experiment":
        return runs.annotate(_g=F("experiment__name")), ["_g"]
    relation = "properties" if column.kind == "prop" else "tags"
    rel = FilteredRelation(relation, condition=Q(**{f"{relation}__key": column.arg}))
    keyed = runs.alias(_gr=rel).annotate(_g=F("_gr__value"), _gk=F("_gr__key"))
    return keyed, ["_g", "_gk"]


def _with_metrics(runs: QuerySet[Run], metrics: Sequence[Column]) -> tuple[QuerySet[Run], list]:
    """``runs`` joined to each metric's summary row; the value field of each column."""
    joins: dict[str, str] = {}
    for column in metrics:
        if column.arg not in joins:
            alias = f"_m{len(joins)}"
            joins[column.arg] = alias
            condition = Q(metric_summaries__name=column.arg)
            runs = runs.alias(**{alias: FilteredRelation("metric_summaries", condition=condition)})
    fields = [f"{joins[c.arg]}__{_STAT_FIELDS[c.stat]}" for c in metrics]
    return runs, fields


def _finite(path: str) -> Q:
    return Q(**{f"{path}__gte": -_FINITE, f"{path}__lte": _FINITE})


def _is_group(group: Group, names: list[str]) -> Q:
    q = Q(_g=group.value) if group.value is not None else Q(_g__isnull=True)
    if "_gk" in names:
        q &= Q(_gk__isnull=not group.present)
    return q


def group_runs(
    runs: QuerySet[Run], column: Column, metrics: Sequence[Column], *, limit: int = MAX_GROUPS
) -> Grouping:
    """``runs`` (a list's filtered runs) grouped by ``column``: at most ``limit``
    groups, the largest first, with count and per-metric stats; or a ValidationError
    for a key a list cannot be grouped by."""
    metrics = [c for c in metrics if c.kind == "metric"][:MAX_METRICS]
    keyed, names = _keyed(runs.order_by(), column)
    keyed, fields = _with_metrics(keyed, metrics)
    aggregates = {"_n": Count("pk")}
    for i, path in enumerate(fields):
        finite = _finite(path)
        aggregates |= {
            f"_c{i}": Count(path, filter=finite),
            f"_a{i}": Avg(path, filter=finite),
            f"_lo{i}": Min(path, filter=finite),
            f"_hi{i}": Max(path, filter=finite),
        }
    rows = list(keyed.values(*names).annotate(**aggregates).order_by("-_n", *names)[: limit + 1])
    capped = len(rows) > limit
    rows = rows[:limit]
    groups = [
        Group(
            value=row["_g"],
            present=row["_g"] is not None or bool(row.get("_gk", True)),
            count=row["_n"],
        )
        for row in rows
    ]
    spreads = _squared_deviations(keyed, names, fields, groups, rows) if fields else {}
    for group, row in zip(groups, rows, strict=True):
        for i in range(len(fields)):
            n = row[f"_c{i}"]
            squares = spreads.get((id(group), i))
            std = math.sqrt(max(squares, 0.0) / (n - 1)) if n > 1 and squares is not None else None
            group.stats.append(Stats(n, row[f"_a{i}"], std, row[f"_lo{i}"], row[f"_hi{i}"]))
    distinct = len(groups)
    if capped:
        distinct = keyed.values(*names).distinct().count()
    return Grouping(
        column=column,
        metrics=list(metrics),
        groups=groups,
        runs=sum(g.count for g in groups),
        distinct=distinct,
        capped=capped,
    )


def _squared_deviations(
    keyed: QuerySet[Run], names: list[str], fields: list[str], groups: list[Group], rows: list
) -> dict[tuple[int, int], float]:
    """(group, metric index) -> the sum of (value - the group's mean)^2: the second
    pass, one query, the group means passed in as a CASE on the group value."""
    aggregates = {}
    for i, path in enumerate(fields):
        whens = [
            When(_is_group(group, names), then=Value(row[f"_a{i}"], output_field=FloatField()))
            for group, row in zip(groups, rows, strict=True)
            if row[f"_a{i}"] is not None
        ]
        if not whens:
            continue
        mean = Case(*whens, default=None, output_field=FloatField())
        deviation = (F(path) - mean) * (F(path) - mean)
        aggregates[f"_s{i}"] = Sum(deviation, filter=_finite(path), output_field=FloatField())
    if not aggregates:
        return {}
    shown = Q()
    for group in groups:
        shown |= _is_group(group, names)
    found = {}
    for row in keyed.filter(shown).values(*names).annotate(**aggregates).order_by():
        for group in groups:
            if group.value == row["_g"] and (
                "_gk" not in names or group.present == (row["_gk"] is not None)
            ):
                for key, squares in row.items():
                    if key.startswith("_s") and squares is not None:
                        found[(id(group), int(key[2:]))] = squares
                break
    return found
