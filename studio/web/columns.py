"""The columns of a runs list as the page shows them: headers with their sort
links, and what the column picker offers. Which columns exist, and how they sort,
is ``tracking.liststate`` (the allowlist) and ``tracking.listing``."""

from __future__ import annotations

from dataclasses import dataclass

from studio.tracking.liststate import BUILTIN, Column, ListState, Sort, parse_column
from studio.web.links import ListLinks

# Tailored widths (CSS classes); custom columns share one width.
WIDTH = {
    "name": "w-name",
    "id": "w-id",
    "experiment": "w-exp",
    "status": "w-status",
    "created": "w-time",
    "duration": "w-dur",
    "submitted_by": "w-user",
    "compute_target": "w-user",
    "tags": "w-tags",
    "description": "w-desc",
    "type": "w-type",
}


@dataclass(frozen=True)
class Header:
    column: Column
    sort_url: str | None
    aria_sort: str  # "ascending", "descending" or "none"
    width: str


def headers(state: ListState, links: ListLinks) -> list[Header]:
    found = []
    for column in state.columns:
        active = state.sort.column == column
        aria = "none"
        if active:
            aria = "descending" if state.sort.descending else "ascending"
        url = None
        if column.sortable:
            # First click: newest/largest first for times and numbers, A-Z for text.
            descending = (
                not state.sort.descending
                if active
                else column.kind in ("created", "duration") or column.numeric
            )
            url = links.sorted_by(Sort(column, descending))
        found.append(Header(column, url, aria, WIDTH.get(column.kind, "w-custom")))
    return found


def picker(state: ListState) -> dict:
    """The built-in columns (with whether each is shown) and the shown custom ones."""
    shown = {c.key for c in state.columns}
    builtin = [(parse_column(key), key in shown) for key in BUILTIN]
    custom = [c for c in state.columns if c.custom]
    return {"builtin": builtin, "custom": custom}


def added_columns(query) -> list[str]:
    """Column keys the picker's "add" inputs ask for (normalised into ``col=``)."""
    keys = []
    if query.get("add_metric", "").strip():
        keys.append(f"metric:{query.get('add_stat') or 'last'}:{query['add_metric'].strip()}")
    if query.get("add_prop", "").strip():
        keys.append(f"prop:{query['add_prop'].strip()}")
    if query.get("add_tag", "").strip():
        keys.append(f"tag:{query['add_tag'].strip()}")
    return keys
