"""The sweep panels of a runs list as data: parallel coordinates over the chosen
properties, tags and metrics, and a scatter of two of them, for the list's first
1,000 runs in its order. The page embeds this with ``json_script``;
``static/studio/js/sweep.js`` draws it with plotly's SVG ``scatter`` (the parallel
coordinates too: plotly's ``parcoords`` compiles WebGL shaders with eval(), which the
CSP refuses) and turns a brushed range into the filter language, so the narrowed list
is a link like any other.

Names and values are user text: what plotly shows goes through ``plotly_text``; the
raw values travel beside them only to be written into a filter expression (a quoted
string of the filter language), never into markup."""

from __future__ import annotations

import math

from studio.rules.runquery import Column
from studio.tracking.runlist import sweep
from studio.tracking.runlist.groups import quote
from studio.tracking.runlist.state import ListState
from studio.web.charts import plotly_text
from studio.web.runlist.links import ListLinks


def field(column: Column) -> str:
    """The filter-language field of an axis."""
    if column.kind == "metric":
        return f"metrics.{quote(column.arg)}" + ("" if column.stat == "last" else f".{column.stat}")
    return f"{'properties' if column.kind == 'prop' else 'tags'}.{quote(column.arg)}"


def _number(value) -> float | None:
    if isinstance(value, float):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _dimension(column: Column, values: list) -> dict:
    label = plotly_text(f"tag {column.arg}" if column.kind == "tag" else column.label)
    common = {"key": column.key, "label": label, "field": field(column)}
    present = [v for v in values if v is not None]
    numbers = [_number(v) for v in values]
    if column.kind == "metric" or (
        present
        and all(n is not None for n, v in zip(numbers, values, strict=True) if v is not None)
    ):
        return {**common, "kind": "number", "values": numbers}
    categories = sorted(set(present))
    codes = {c: i for i, c in enumerate(categories)}
    none = -1
    if len(present) < len(values):
        none = len(categories)
    return {
        **common,
        "kind": "category",
        "values": [none if v is None else codes[v] for v in values],
        "categories": categories,  # raw: only ever written into a quoted filter string
        "ticktext": [plotly_text(c) for c in categories] + (["(none)"] if none >= 0 else []),
        "none": none,
    }


def panels(runs, state: ListState, links: ListLinks) -> dict | None:
    """The panels' data, or None when the state chose no axes."""
    axes = list(dict.fromkeys([*state.axes, *state.scatter]))
    if not axes or runs is None:
        return None
    found = sweep.sweep_values(runs, state.sort, axes)
    return {
        "limit": sweep.MAX_RUNS,
        "capped": found.capped,
        "ids": [r.run_id for r in found.runs],
        "names": [plotly_text(r.label) for r in found.runs],
        "dims": [
            _dimension(column, [r.values[i] for r in found.runs]) for i, column in enumerate(axes)
        ],
        "parcoords": [axes.index(c) for c in state.axes],
        "scatter": [axes.index(c) for c in state.scatter],
        # What a brush adds its condition to, and the link it then opens.
        "filter": (state.filters.get("q") or [""])[0],
        "path": links.path,
        "pairs": [[k, v] for k, v in links.extra + state.to_query() if k != "q"],
    }
