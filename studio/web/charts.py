"""Plotly figures as data: pure functions from chart data (``selectors.metric_chart_data``)
to ``{"data": [...], "layout": {...}}``, embedded in pages with ``json_script`` and
drawn by ``static/studio/js/run.js`` with the self-hosted plotly.js.

A reduced series (min/max per bucket) is drawn as a thin band from each bucket's
min to its max, so every peak and dip stays visible, with a line through the
bucket middles; raw points are drawn as they are. Non-finite values become gaps
(``None``): the JSON a browser parses never holds ``NaN``.

This is also the one chart-layout module: colours, the shared layout, and
``plotly_text``, through which every title, legend name, hover text and axis title
passes (``studio/web/runlist/charts.py`` builds its figures with them too).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Colour per run, by its place on the page: the same run has the same colour in
# every chart of a page (colour-blind-safe order, then more).
PALETTE = (
    "#2f5bd3", "#d9730d", "#16803c", "#c0392b", "#7b4fbf", "#8c564b", "#c2408e",
    "#4d5663", "#9a8c00", "#138a9e",
)  # fmt: skip
X_AXES = ("step", "time")
# plotly.js injects maplibre's CSS into a <style> (which the CSP blocks) unless an
# element with this id exists; the pages that draw charts carry one.
PLOTLY_MAPLIBRE_STYLE_ID = "9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53"
MAX_SMOOTHING = 0.99


# The status badges' colours (studio.css), so a chart by status reads like the table.
STATUS_COLOURS = {
    "Completed": "#16703a",
    "Failed": "#b3261e",
    "Running": "#1f5fc9",
    "Canceled": "#59616b",
    "CancelRequested": "#59616b",
}
OTHER_STATUS_COLOUR = "#8a5a00"  # queued, preparing, starting ...


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def status_color(status: str) -> str:
    return STATUS_COLOURS.get(status, OTHER_STATUS_COLOUR)


def plotly_text(text: str) -> str:
    """Text as plotly.js shows it, typed and never read as markup. Run and metric names
    are user text, and plotly.js reads a few tags in titles, legends and hover text
    (``<a href>``, ``<b>``, ``<br>``): entity-escaped (``& < > " '``), they show as
    typed and no link can be injected into a chart (docs/requirements.md A7)."""
    return html.escape(str(text), quote=True)


def layout(title: str, *, x_title: str, y_title: str = "", height: int = 260) -> dict[str, Any]:
    """The layout every chart shares; its texts go through ``plotly_text``. Callers add
    what is theirs (legend, margins, axis types)."""
    axis = {"gridcolor": "#eceff3", "zeroline": False, "automargin": True}
    return {
        "title": {"text": plotly_text(title), "x": 0.01, "xanchor": "left", "font": {"size": 13}},
        "height": height,
        "xaxis": {**axis, "title": {"text": plotly_text(x_title)}},
        "yaxis": {**axis, "title": {"text": plotly_text(y_title)}},
        "hovermode": "closest",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif", "size": 11, "color": "#1d2433"},
    }


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _finite(values: Any) -> list[float | None]:
    arr = np.asarray(values, dtype=np.float64)
    return [v if math.isfinite(v) else None for v in arr.tolist()]


def smooth(values: Sequence[float | None], weight: float) -> list[float | None]:
    """Exponential moving average with TensorBoard's debiasing: the first points are
    not dragged towards zero. Gaps stay gaps and do not reset the average."""
    if not 0 < weight <= MAX_SMOOTHING:
        return list(values)
    out: list[float | None] = []
    last, count = 0.0, 0
    for v in values:
        if v is None:
            out.append(None)
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out.append(last / (1 - weight**count))
    return out


@dataclass(frozen=True)
class ChartOptions:
    """What the user chose above the charts; all of it is in the page's URL."""

    x: str = "step"
    smoothing: float = 0.0
    log_y: bool = False

    @classmethod
    def from_query(cls, query) -> ChartOptions:
        x = query.get("x", "step")
        try:
            smoothing = float(query.get("smooth", 0) or 0)
        except ValueError:
            smoothing = 0.0
        if not math.isfinite(smoothing):
            smoothing = 0.0
        return cls(
            x=x if x in X_AXES else "step",
            smoothing=min(max(smoothing, 0.0), MAX_SMOOTHING),
            log_y=query.get("log") in ("1", "true", "on"),
        )


@dataclass(frozen=True)
class Series:
    """One run's chart data for one metric, with its legend label and colour.
    ``times`` holds the time of each x (raw points, or bucket middles) when the x
    axis is time."""

    label: str
    color: str
    data: dict[str, Any]
    times: Any = None


def _times_text(times: Any, n: int) -> list[str]:
    if times is None:
        return [""] * n
    t = np.asarray(times, dtype=np.float64)
    ok = np.isfinite(t)
    ms = np.where(ok, t * 1000.0, 0).astype("datetime64[ms]")
    text = np.char.replace(np.datetime_as_string(ms, unit="s"), "T", " ")
    return [f"{v} UTC" if good else "" for v, good in zip(text.tolist(), ok.tolist(), strict=True)]


def _traces(series: Series, options: ChartOptions, *, group: str) -> list[dict[str, Any]]:
    data = series.data
    common = {"type": "scatter", "legendgroup": group, "name": plotly_text(series.label)}
    traces: list[dict[str, Any]] = []
    if data.get("reduced"):
        steps = bucket_middles(data)
        times = series.times
        mins, maxs = _finite(data["min"]), _finite(data["max"])
        y = [
            None if a is None or b is None else (a + b) / 2.0
            for a, b in zip(mins, maxs, strict=True)
        ]
        hover = "step ≈ %{customdata[0]}<br>middle %{y:.6g}<br>%{customdata[1]}"
    else:
        steps, times = np.asarray(data["steps"]), data.get("times")
        y = _finite(data["values"])
        hover = "step %{customdata[0]}<br>%{y:.6g}<br>%{customdata[1]}"
    if options.x == "time" and times is not None:
        x = _finite(np.asarray(times, dtype=np.float64) * 1000.0)  # epoch ms on a date axis
    else:
        x = _finite(steps)
    if data.get("reduced"):
        band = {"color": _rgba(series.color, 0.0), "width": 0}
        traces += [
            {**common, "x": x, "y": maxs, "mode": "lines", "line": band, "showlegend": False,
             "hovertemplate": "max %{y:.6g}<extra></extra>"},
            {**common, "x": x, "y": mins, "mode": "lines", "line": band, "showlegend": False,
             "fill": "tonexty", "fillcolor": _rgba(series.color, 0.22),
             "hovertemplate": "min %{y:.6g}<extra></extra>"},
        ]  # fmt: skip
    custom = [
        [int(s), t]
        for s, t in zip(np.rint(steps).tolist(), _times_text(times, len(y)), strict=True)
    ]
    line = {
        **common,
        "x": x,
        "customdata": custom,
        "mode": "lines" if len(y) > 1 else "markers",
        "line": {"color": series.color, "width": 1.5},
        "marker": {"color": series.color, "size": 6},
        "hovertemplate": hover + "<extra>%{fullData.name}</extra>",
    }
    if options.smoothing > 0:
        traces.append({**line, "y": y, "opacity": 0.3, "showlegend": False, "hoverinfo": "skip"})
        traces.append({**line, "y": smooth(y, options.smoothing)})
    else:
        traces.append({**line, "y": y})
    return traces


def _layout(title: str, options: ChartOptions, *, legend: bool) -> dict[str, Any]:
    base = layout(
        title, x_title="time" if options.x == "time" else "step", height=300 if legend else 260
    )
    if options.x == "time":
        base["xaxis"]["type"] = "date"
    base["yaxis"]["type"] = "log" if options.log_y else "linear"
    return {
        **base,
        "margin": {"l": 48, "r": 12, "t": 32, "b": 80 if legend else 36},
        "showlegend": legend,
        # Below the x axis title, with room kept for it (a legend of several runs).
        "legend": {"orientation": "h", "y": -0.32, "yanchor": "top", "font": {"size": 11}},
        "uirevision": base["title"]["text"],  # keep zoom and toggled traces across refreshes
    }


def metric_figure(name: str, series: Series, options: ChartOptions) -> dict[str, Any]:
    """One metric of one run."""
    return {
        "data": _traces(series, options, group="run"),
        "layout": _layout(name, options, legend=False),
        "reduced": bool(series.data.get("reduced")),
        "total": int(series.data.get("total", 0)),
    }


def overlay_figure(name: str, runs: Sequence[Series], options: ChartOptions) -> dict[str, Any]:
    """One metric of several runs, overlaid; a run's band and line toggle together."""
    data: list[dict[str, Any]] = []
    for i, series in enumerate(runs):
        data += _traces(series, options, group=f"run{i}")
    return {
        "data": data,
        "layout": _layout(name, options, legend=True),
        "reduced": any(s.data.get("reduced") for s in runs),
        "total": sum(int(s.data.get("total", 0)) for s in runs),
    }


def bucket_middles(data: dict[str, Any]) -> np.ndarray:
    """The steps a reduced series is drawn at, for looking up their times."""
    return (np.asarray(data["step_lo"], np.float64) + np.asarray(data["step_hi"], np.float64)) / 2
