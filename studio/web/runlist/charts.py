"""Charts of a metric across runs, as data: pure functions from (run, value) points
to a plotly figure ``{"data": [...], "layout": {...}}``. Templates embed the figure
with ``json_script``; ``static/studio/js/list.js`` hands it to plotly.js.

Run and metric names are user text: they travel as JSON data, never as markup, and
reach plotly through ``charts.plotly_text`` (the one chart-layout module), so they show
as typed. Non-finite values become gaps (``None``), so the JSON never holds ``NaN``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from studio.web.charts import layout, plotly_text, status_color


@dataclass(frozen=True)
class Point:
    number: int
    label: str
    status: str
    value: float | None


def _finite(value) -> float | None:
    if value is None or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _layout(title: str, x_title: str, y_title: str) -> dict:
    return {
        **layout(title, x_title=x_title, y_title=y_title),
        "margin": {"l": 56, "r": 16, "t": 36, "b": 44},
        "showlegend": True,
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    }


def _by_status(points: Sequence[Point]) -> dict[str, list[Point]]:
    groups: dict[str, list[Point]] = {}
    for point in points:
        groups.setdefault(point.status, []).append(point)
    return groups


def metric_across_runs(points: Sequence[Point], metric: str, stat: str) -> dict:
    """A metric's value per run against the run number: one trace per status, so
    the legend toggles failed or running runs away."""
    label = metric if stat == "last" else f"{metric} ({stat})"
    data = []
    for status, group in sorted(_by_status(points).items()):
        group = sorted(group, key=lambda p: p.number)
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": plotly_text(status),
                "x": [p.number for p in group],
                "y": [_finite(p.value) for p in group],
                "text": [plotly_text(p.label) for p in group],
                "hovertemplate": "%{text}<br>run %{x}<br>" + "%{y:.4g}<extra></extra>",
                "marker": {"color": status_color(status), "size": 7},
            }
        )
    return {"data": data, "layout": _layout(f"{label} by run", "run number", label)}
