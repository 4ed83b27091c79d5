"""Values of a few properties, tags and metrics for the first runs of a list, in its
sort order: what the sweep panels (parallel coordinates, scatter) draw. At most
``MAX_RUNS`` runs, read in four queries whatever the number of axes (the runs, their
properties, their tags, their metric summaries)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from studio.rules.runquery import Column, Sort
from studio.tracking.models import MetricSummary, Run, RunProperty, RunTag
from studio.tracking.runlist.pages import sorted_runs

MAX_RUNS = 1000


@dataclass
class SweepRun:
    run_id: str
    label: str
    values: list  # per axis: text (property, tag), a finite float (metric) or None


@dataclass
class SweepValues:
    axes: list[Column]
    runs: list[SweepRun]
    capped: bool  # the list holds more than MAX_RUNS runs


def sweep_values(
    runs: QuerySet[Run], sort: Sort, axes: Sequence[Column], *, limit: int = MAX_RUNS
) -> SweepValues:
    ordered, _ = sorted_runs(runs, sort)
    head = list(ordered.values_list("pk", "run_id", "display_name")[: limit + 1])
    capped = len(head) > limit
    head = head[:limit]
    pks = [pk for pk, _, _ in head]
    found: dict[tuple[str, str, int], object] = {}
    props = [c.arg for c in axes if c.kind == "prop"]
    tags = [c.arg for c in axes if c.kind == "tag"]
    metrics = [c.arg for c in axes if c.kind == "metric"]
    if pks and props:
        rows = RunProperty.objects.filter(run_id__in=pks, key__in=props)
        for run_id, key, value in rows.values_list("run_id", "key", "value"):
            found[("prop", key, run_id)] = value
    if pks and tags:
        rows = RunTag.objects.filter(run_id__in=pks, key__in=tags)
        for run_id, key, value in rows.values_list("run_id", "key", "value"):
            found[("tag", key, run_id)] = "✓" if value is None else value
    if pks and metrics:
        rows = MetricSummary.objects.filter(run_id__in=pks, name__in=metrics)
        for run_id, name, last, lo, hi in rows.values_list(
            "run_id", "name", "last_value", "min_value", "max_value"
        ):
            for stat, value in (("last", last), ("min", lo), ("max", hi)):
                if value is not None and math.isfinite(value):
                    found[(f"metric:{stat}", name, run_id)] = value
    sweep_runs = []
    for pk, run_id, name in head:
        values = []
        for column in axes:
            kind = f"metric:{column.stat}" if column.kind == "metric" else column.kind
            values.append(found.get((kind, column.arg, pk)))
        sweep_runs.append(SweepRun(run_id, name or run_id, values))
    return SweepValues(list(axes), sweep_runs, capped)
