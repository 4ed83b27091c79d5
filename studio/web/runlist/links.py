"""Links of a runs list: each one is the page's path plus the query string of a
state, so a pasted link shows what its sender saw (filters, columns, sort, page)."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

from studio.tracking.runlist.state import ListState


class ListLinks:
    def __init__(self, path: str, state: ListState, extra: list[tuple[str, str]] = ()):
        self.path = path
        self.state = state
        self.extra = list(extra)  # kept on every link (the workspace)

    def url(self, state: ListState | None = None, *more: tuple[str, str]) -> str:
        pairs = self.extra + (state or self.state).to_query() + list(more)
        return f"{self.path}?{urlencode(pairs)}" if pairs else self.path

    def _changed(self) -> ListState:
        """A copy of the state to change (its lists and dicts copied; columns and
        sorts are frozen): a page makes a few of these per column header, where a
        deep copy cost about a millisecond each."""
        state = self.state
        return dataclasses.replace(
            state,
            filters={key: list(values) for key, values in state.filters.items()},
            columns=list(state.columns),
            charts=list(state.charts),
            pins=list(state.pins),
            widths=dict(state.widths),
            problems=list(state.problems),
        )

    def without_filter(self, key: str, value: str) -> str:
        state = self._changed()
        values = [v for v in state.filters.get(key, []) if v != value]
        if values:
            state.filters[key] = values
        else:
            state.filters.pop(key, None)
        return self.url(state)

    def without_filters(self) -> str:
        state = self._changed()
        state.filters = {}
        return self.url(state)

    def sorted_by(self, sort) -> str:
        state = self._changed()
        state.sort = sort
        return self.url(state)

    def narrowed(self, condition: str) -> str:
        """This list with ``condition`` (the filter language) added to its search
        filter, ungrouped: a group's own list, or what a brushed range leaves."""
        state = self._changed()
        state.group = None
        current = (state.filters.get("q") or [""])[0].strip()
        if condition:
            state.filters["q"] = [f"({current}) and {condition}" if current else condition]
        return self.url(state)

    def pinned(self, column, shown: list, pin: bool) -> str:
        """The list with ``column`` pinned (or unpinned), its shown columns written
        out so the link keeps them whatever the runs log later."""
        state = self._changed()
        state.columns = list(shown) + [c for c in state.columns if c not in shown]
        state.auto_columns = False
        pins = [c for c in state.pins if c != column]
        state.pins = pins + [column] if pin else pins
        return self.url(state)

    def with_baseline(self, run_id: str | None) -> str:
        state = self._changed()
        state.baseline = run_id
        return self.url(state)

    def with_constant_columns(self, show: bool) -> str:
        state = self._changed()
        state.show_constant = show
        return self.url(state)

    def page(self, *, after: str | None = None, before: str | None = None) -> str:
        if after:
            return self.url(None, ("after", after))
        if before:
            return self.url(None, ("before", before))
        return self.url()

    def query(self) -> str:
        """The state alone, as a query string (what "Save view" sends)."""
        return urlencode(self.state.to_query())
