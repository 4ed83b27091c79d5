"""Compare (``/compare/?runs=ID,ID,...``): two to 200 runs side by side, with their
properties, tags and last/min/max of each metric (differences marked; ``t=1`` puts
the runs in rows), and each metric's chart overlaid in the panel grid of
``static/studio/js/charts.js``, which fetches the series as JSON (``/charts/series/``):
nothing of them is inlined in the page. The runs list links here."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from studio.accounts.access import access_run_set
from studio.accounts.routes import route
from studio.errors import StudioError
from studio.tracking import selectors
from studio.tracking.models import MetricKind, Run
from studio.tracking.runlist.state import DEFAULT_CHART_OPTIONS, parse_chart_options
from studio.web import descriptions
from studio.web.common import frame
from studio.web.runlist.tables import smoothing_choices
from studio.web.series import MAX_RUNS, colour_index, legend_labels

MAX_COMPARE = MAX_RUNS
COMPARE_CHARTS = 30


@route("read")
@require_safe
def compare(request: HttpRequest) -> HttpResponse:
    """Every run through one access query: one the user cannot see makes it a 404."""
    ids = list(
        dict.fromkeys(i.strip() for i in request.GET.get("runs", "").split(",") if i.strip())
    )
    runs = access_run_set(request.user, ids[:MAX_COMPARE], related=True) if ids else []
    context = {
        **frame(request, runs[0].workspace if runs else None, "runs"),
        "runs": runs,
        "too_many": len(ids) > MAX_COMPARE,
    }
    if len(runs) < 2:
        return render(request, "web/run_compare.html", context, status=400)
    metrics = _metric_rows(runs)
    table = _table_rows(runs, metrics, hide_equal=request.GET.get("equal") == "hide")
    context.update(**table, equal_url=_equal_toggle_url(request))
    context.update(
        transpose=request.GET.get("t") == "1",
        columns=list(zip(runs, _colors(runs), strict=True)),
        panels=_panels(request, runs, [m for m in metrics if m["scalar"]]),
        more_charts=max(0, sum(m["scalar"] for m in metrics) - COMPARE_CHARTS),
        keep=[("runs", ",".join(r.run_id for r in runs))],
    )
    if context["transpose"]:
        context["transposed"] = _transposed(context)
    return render(request, "web/run_compare.html", context)


def _transposed(context: dict[str, Any]) -> list[tuple]:
    """One row per run: (run, colour, property cells, tag cells, metric cells)."""
    return [
        (
            run,
            color,
            [row["cells"][i] for row in context["properties"]],
            [row["cells"][i] for row in context["tags"]],
            [row["cells"][i] for row in context["metrics"]],
        )
        for i, (run, color) in enumerate(context["columns"])
    ]


def _labels(runs: list[Run]) -> list[str]:
    return legend_labels([r.label for r in runs], [r.run_id for r in runs])


def _colors(runs: list[Run]) -> list[int]:
    """Each run's colour in the charts (its own, as on the runs list): the index of
    its swatch class."""
    return [colour_index(r.pk) for r in runs]


def _panels(request: HttpRequest, runs: list[Run], scalars: list[dict]) -> dict[str, Any]:
    """The panel grid's config: every scalar metric (up to COMPARE_CHARTS), those
    whose last values differ, and the chart options of the URL (wrong ones: the
    defaults)."""
    raw = {
        k: request.GET[p]
        for k, p in (("x", "cx"), ("smooth", "smooth"), ("log", "log"))
        if request.GET.get(p)
    }
    try:
        options = parse_chart_options(raw)
    except StudioError:
        options = dict(DEFAULT_CHART_OPTIONS)
    names = [m["name"] for m in scalars[:COMPARE_CHARTS]]
    differs = [m["name"] for m in scalars[:COMPARE_CHARTS] if m["differs"]]
    diff_only = request.GET.get("diff") == "1"
    return {
        "endpoint": reverse("chart-series"),
        "runs": [
            {
                "id": r.run_id,
                "label": label,
                "c": colour_index(r.pk),
                "desc": descriptions.legend_excerpt(r.description),
            }
            for r, label in zip(runs, _labels(runs), strict=True)
        ],
        "panels": [n for n in names if n in differs] if diff_only else names,
        "all_panels": names,
        "metrics": names,
        "differs": differs,
        "diff_only": diff_only,
        "options": {**options, "diff": diff_only},
        "group": None,
        "compare": True,
        "smoothing_choices": smoothing_choices(options["smooth"]),
    }


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
