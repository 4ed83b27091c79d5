"""What the runs of a list logged, for its columns: every scalar metric, property and
tag key with the number of runs that have it, and whether its values vary.

Two grouped queries whatever the size of the list (metrics; properties and tags in
one UNION), over the list's latest ``SAMPLE`` runs (their ids read first when the list
holds more): on a list of 100,000 runs the
picker's counts and the "constant" verdicts are those of its newest runs (the page
says so), and the cost stays that of ``SAMPLE`` rows per key table. At most
``MAX_KEYS`` metrics and ``MAX_KEYS`` property/tag keys come back, the most common
first; the page says when there were more.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from django.db.models import CharField, Count, F, Lookup, Max, Min, QuerySet, Value

from studio.rules.runquery import Column
from studio.tracking.models import MetricSummary, Run, RunProperty, RunTag

SAMPLE = 1_000
MAX_KEYS = 500

# Metric names where smaller is better: sorted ascending first, and a baseline
# difference below zero is an improvement.
LOWER_IS_BETTER = frozenset(
    {
        "loss",
        "error",
        "err",
        "errors",
        "mse",
        "rmse",
        "mae",
        "mape",
        "smape",
        "nll",
        "perplexity",
        "ppl",
        "wer",
        "cer",
        "ter",
        "bpc",
        "bpd",
        "fid",
        "regret",
        "latency",
    }
)
_WORD = re.compile(r"[a-z0-9]+")


def lower_is_better(name: str) -> bool:
    """Whether a metric of this name improves as it falls (``val_loss``,
    ``eval/rmse``, ``top1-err``, ``trainLoss``)."""
    words = _WORD.findall(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower())
    return any(w in LOWER_IS_BETTER for w in words) or name.lower().endswith("loss")


def ascending_first(column: Column) -> bool:
    """The useful first sort of a metric column: smallest first for a ``min`` and
    for loss-like names, largest first otherwise."""
    return column.stat == "min" or lower_is_better(column.arg)


class _AmongIds(Lookup):
    """``lhs`` is one of a list of ids, the list sent as one parameter (an array on
    PostgreSQL, a JSON array on SQLite): a thousand ids bound one by one cost more to
    build and send (~30 ms at load 4) than the query takes to run (~3 ms)."""

    lookup_name = "among_ids"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        ids = [int(i) for i in self.rhs]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, ids]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*params, json.dumps(ids)]


def _filtered(model, sample) -> QuerySet:
    """A key table's rows of the sampled runs (a list of ids, or a subquery)."""
    if isinstance(sample, list):
        return model.objects.filter(_AmongIds(F("run_id"), sample))
    return model.objects.filter(run__in=sample)


@dataclass(frozen=True)
class Key:
    kind: str  # "metric", "prop", "tag"
    name: str
    runs: int  # runs of the sample that have it
    constant: bool  # every run of the sample has it, with one value
    # metrics: whether each of last/min/max is the same for every run of the sample
    constant_stats: tuple[str, ...] = ()
    values: int = 0  # properties and tags: distinct values in the sample


@dataclass
class Catalog:
    sampled: int  # runs the counts are over (the list's newest ones)
    metrics: list[Key] = field(default_factory=list)
    props: list[Key] = field(default_factory=list)
    tags: list[Key] = field(default_factory=list)
    capped: bool = False  # more keys than MAX_KEYS of one kind

    def find(self, column: Column) -> Key | None:
        keys = {"metric": self.metrics, "prop": self.props, "tag": self.tags}.get(column.kind)
        return next((k for k in keys if k.name == column.arg), None) if keys else None

    def uninformative(self, column: Column) -> bool:
        """Whether a metric, property or tag column is empty or holds one value for
        every run of the sample (built-in columns never are)."""
        if not column.custom or not self.sampled:
            return False
        key = self.find(column)
        if key is None:
            return not self.capped  # beyond the cap: unknown, so kept
        if column.kind == "metric":
            return column.stat in key.constant_stats
        return key.constant


def catalog(
    runs: QuerySet[Run], *, total: int | None = None, newest: list[int] | None = None
) -> Catalog:
    """The keys of ``runs`` (a list's filtered runs), counted over its newest
    ``SAMPLE`` runs; ``total`` is the list's size when known (saves a count),
    ``newest`` the ids of its newest runs, newest first, when already read (at least
    ``SAMPLE`` of them, or all)."""
    if newest is not None:
        sample = newest[:SAMPLE]
        sampled = len(sample)
    elif total is not None and total <= SAMPLE:
        # The whole list: no order needed, so the database may start from whichever
        # index the filters have (top-level runs: the workspace's and parent's).
        sample = runs.order_by().values("pk")
        sampled = total
    else:
        # The ids, read once: the two grouped queries below would each find them
        # again, and under a filter that costs what the list's match costs (a metric
        # condition matching 45,000 runs: ~30 ms a time on SQLite), where sending
        # 1,000 bound parameters costs ~1 ms.
        sample = list(runs.order_by("-pk").values_list("pk", flat=True)[:SAMPLE])
        sampled = len(sample)
    if not sampled:
        return Catalog(0)
    found = Catalog(sampled)
    metrics = list(
        _filtered(MetricSummary, sample)
        .filter(kind="scalar")
        .values("name")
        .annotate(
            n=Count("pk"),
            lo_last=Min("last_value"),
            hi_last=Max("last_value"),
            lo_min=Min("min_value"),
            hi_min=Max("min_value"),
            lo_max=Min("max_value"),
            hi_max=Max("max_value"),
        )
        .order_by("-n", "name")[: MAX_KEYS + 1]
    )
    for row in metrics[:MAX_KEYS]:
        full = row["n"] >= sampled
        same = tuple(
            stat
            for stat in ("last", "min", "max")
            if full and row[f"lo_{stat}"] is not None and row[f"lo_{stat}"] == row[f"hi_{stat}"]
        )
        found.metrics.append(Key("metric", row["name"], row["n"], len(same) == 3, same))

    def grouped(model, kind: str):
        return (
            _filtered(model, sample)
            .values("key")
            .annotate(
                kind=Value(kind, output_field=CharField()),
                n=Count("pk"),
                values=Count("value", distinct=True),
            )
            .order_by()
        )

    rows = list(
        grouped(RunProperty, "prop")
        .union(grouped(RunTag, "tag"), all=True)
        .order_by("-n", "key")[: 2 * MAX_KEYS + 1]
    )
    for row in rows:
        keys = found.props if row["kind"] == "prop" else found.tags
        if len(keys) >= MAX_KEYS:
            found.capped = True
            continue
        constant = row["n"] >= sampled and row["values"] <= 1
        keys.append(Key(row["kind"], row["key"], row["n"], constant, values=row["values"]))
    found.capped = found.capped or len(metrics) > MAX_KEYS or len(rows) > 2 * MAX_KEYS
    return found
