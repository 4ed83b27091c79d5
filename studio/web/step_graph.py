"""A pipeline's steps drawn as a graph: where each box and arrow goes, computed here
so the page draws it as plain SVG (no script, no style attributes). Layers run left
to right (``studio.rules.graph.layers``); an arrow goes from a step to each step
that waits for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from studio.errors import ValidationError
from studio.rules import graph

NODE_W = 176
NODE_H = 48
GAP_X = 56  # between layers: room for the arrows
GAP_Y = 16
PAD = 4  # round the drawing: the focus ring of a box stays inside
NAME_CHARS = 22  # what fits in a box at 13 px; the whole name is in its label


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def layout(steps: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Boxes and arrows for ``steps`` (dicts with ``name``, ``after`` and ``run``, as
    the run page's steps rows): None when there is nothing to draw, or when the
    stored steps do not make a graph (the table still lists them)."""
    try:
        columns = graph.layers([(s["name"], s["after"]) for s in steps])
    except ValidationError:
        return None
    if not columns:
        return None
    by_name = {s["name"]: s for s in steps}
    tallest = max(len(c) for c in columns)
    height = tallest * NODE_H + (tallest - 1) * GAP_Y
    nodes, where = [], {}
    for layer_no, column in enumerate(columns):
        x = PAD + layer_no * (NODE_W + GAP_X)
        used = len(column) * NODE_H + (len(column) - 1) * GAP_Y
        top = PAD + (height - used) // 2  # each layer centred on the tallest
        for i, name in enumerate(column):
            y = top + i * (NODE_H + GAP_Y)
            where[name] = (x, y)
            step = by_name[name]
            nodes.append(
                {
                    "name": name,
                    "short": _short(name),
                    "run": step["run"],
                    "x": x,
                    "y": y,
                    "text_x": x + 12,
                    "name_y": y + 20,
                    "status_y": y + 38,
                }
            )
    edges = []
    for step in steps:
        x2, y2 = where[step["name"]]
        for dep in step["after"]:
            x1, y1 = where[dep]
            start, end = (x1 + NODE_W, y1 + NODE_H // 2), (x2 - 2, y2 + NODE_H // 2)
            middle = (start[0] + end[0]) // 2
            edges.append(
                {
                    "source": dep,
                    "target": step["name"],
                    "d": f"M{start[0]} {start[1]} C{middle} {start[1]} "
                    f"{middle} {end[1]} {end[0]} {end[1]}",
                }
            )
    return {
        "width": 2 * PAD + len(columns) * NODE_W + (len(columns) - 1) * GAP_X,
        "height": 2 * PAD + height,
        "node_w": NODE_W,
        "node_h": NODE_H,
        "layers": columns,
        "nodes": nodes,
        "edges": edges,
    }
