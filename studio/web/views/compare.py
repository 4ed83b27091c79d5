"""Compare (``/compare/?runs=ID,ID,...``): two or more runs side by side, with their
properties, tags and last/min/max of each metric (differences marked) and each
metric's charts overlaid, one colour per run. The runs list links here."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from studio.accounts.access import access_run
from studio.accounts.routes import route
from studio.tracking import selectors
from studio.tracking.models import MetricKind, Run
from studio.web import charts
from studio.web.common import frame
from studio.web.run_tabs import SMOOTHING_CHOICES, chart_data

MAX_COMPARE = 10
COMPARE_CHARTS = 16


@route("read")
@require_safe
def compare(request: HttpRequest) -> HttpResponse:
    """Every run through the access helper: one the user cannot see makes it a 404."""
    ids = list(
        dict.fromkeys(i.strip() for i in request.GET.get("runs", "").split(",") if i.strip())
    )
    runs = [access_run(request.user, run_id) for run_id in ids[:MAX_COMPARE]]
    context = {
        **frame(request, runs[0].workspace if runs else None, "runs"),
        "runs": runs,
        "too_many": len(ids) > MAX_COMPARE,
    }
    if len(runs) < 2:
        return render(request, "web/run_compare.html", context, status=400)
    options = charts.ChartOptions.from_query(request.GET)
    metrics = _metric_rows(runs)
    table = _table_rows(runs, metrics, hide_equal=request.GET.get("equal") == "hide")
    context.update(**table, equal_url=_equal_toggle_url(request))
    context.update(
        options=options,
        smoothing_choices=SMOOTHING_CHOICES,
        columns=list(zip(runs, _colors(runs), strict=True)),
        charts=_overlays(runs, [m for m in metrics if m["scalar"]][:COMPARE_CHARTS], options),
        more_charts=max(0, sum(m["scalar"] for m in metrics) - COMPARE_CHARTS),
    )
    return render(request, "web/run_compare.html", context)


def _table_rows(runs: list[Run], metrics: list[dict], *, hide_equal: bool) -> dict[str, Any]:
    """The table's property, tag and metric rows; with ``hide_equal`` only the rows
    where the runs differ, and how many were left out."""
    sections = {
        "properties": _rows(
            runs, {r.pk: {p.key: p.value for p in r.properties.all()} for r in runs}
        ),
        "tags": _rows(runs, {r.pk: {t.key: t.value for t in r.tags.all()} for r in runs}),
        "metrics": metrics,
    }
    equal = sum(not row["differs"] for rows in sections.values() for row in rows)
    if hide_equal:
        sections = {k: [row for row in rows if row["differs"]] for k, rows in sections.items()}
    return {**sections, "hide_equal": hide_equal, "equal_rows": equal}


def _equal_toggle_url(request: HttpRequest) -> str:
    """This comparison with equal rows hidden, or shown again."""
    query = request.GET.copy()
    if query.get("equal") == "hide":
        query.pop("equal")
    else:
        query["equal"] = "hide"
    return f"{request.path}?{query.urlencode()}"


def _colors(runs: list[Run]) -> list[str]:
    return [charts.color(i) for i in range(len(runs))]


def _rows(runs: list[Run], values: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per key any run has; ``differs`` when the runs do not all agree
    (a missing key differs from any value, a key-only tag from an empty one)."""
    rows = []
    for key in sorted({k for run in runs for k in values[run.pk]}):
        cells = [values[run.pk].get(key, "") for run in runs]
        rows.append({"key": key, "cells": cells, "differs": len(set(map(repr, cells))) > 1})
    return rows


def _metric_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Each metric's summary per run (one query for all of them)."""
    by_name: dict[str, dict[int, Any]] = {}
    for summary in selectors.metric_summaries_of(runs=runs):
        by_name.setdefault(summary.name, {})[summary.run_id] = summary
    rows = []
    for name, by_run in sorted(by_name.items()):
        cells = [by_run.get(r.pk) for r in runs]
        lasts = {
            None if c is None else repr((c.last_value, c.last_is_nan, c.last_text)) for c in cells
        }
        scalar = any(c is not None and c.kind == MetricKind.SCALAR for c in cells)
        rows.append({"name": name, "cells": cells, "differs": len(lasts) > 1, "scalar": scalar})
    return rows


def _overlays(runs: list[Run], metrics: list[dict[str, Any]], options) -> list[dict[str, Any]]:
    """One overlaid figure per metric, each run in its colour (2-3 queries per run)."""
    figures = []
    for metric in metrics:
        series = []
        for run, color, cell in zip(runs, _colors(runs), metric["cells"], strict=True):
            if cell is None:
                continue
            data = chart_data(run, metric["name"])
            times = None
            if options.x == "time" and data["reduced"]:
                steps = charts.bucket_middles(data)
                times = selectors.metric_times_at(run=run, name=metric["name"], steps=steps)
            label = f"{run.label} ({run.run_id[-8:]})"
            series.append(charts.Series(label=label, color=color, data=data, times=times))
        figure = charts.overlay_figure(metric["name"], series, options)
        figures.append({"name": metric["name"], "id": f"figure-{len(figures)}", "figure": figure})
    return figures
