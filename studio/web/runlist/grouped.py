"""A grouped runs list as the table shows it: one collapsible row per group with its
run count and, under each metric column, mean ± std and min – max. Opening a group
lists its runs in place (``static/studio/js/sweep.js`` reads them from the group's
own list, the same rows the table renders); without the script, the group's name
links to that list. Which groups, and their numbers, is ``tracking.runlist.groups``.

Semantics (docs for the list): the list's filters select the runs first, then they
are grouped, every matching run counted (not only one page); groups are ordered by
the sort column's mean when it is an aggregated metric column, else by value; the
runs inside a group come in the list's sort order, 50 at a time (the group's list
pages on from there). The pager is not shown while grouped."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString

from studio.errors import StudioError
from studio.tracking.runlist import groups
from studio.tracking.runlist.state import ListState
from studio.web.runlist.links import ListLinks
from studio.web.templatetags.run_tags import num


@dataclass
class GroupRow:
    key: str  # position in the list, for the rows opened under it
    label: str
    count: int
    url: str  # the group's own list: the list's filter and the group's condition
    span: int  # the label cell spans the selection column and the leading columns
    cells: list[SafeString]


@dataclass
class GroupedTable:
    column_label: str
    rows: list[GroupRow]
    message: str | None
    runs: int
    distinct: int


def _stats_cell(column, stats: groups.Stats, count: int) -> SafeString:
    if not stats.n:
        return format_html(
            '<td class="num agg" title="{}: no run of this group has a value">'
            '<span class="muted">—</span></td>',
            column.label,
        )
    title = (
        f"{column.label}: mean {stats.mean:.6g}"
        + (f", std {stats.std:.6g}" if stats.std is not None else "")
        + f", min {stats.min:.6g}, max {stats.max:.6g} ({stats.n} of {count} runs)"
    )
    spread = ""
    if stats.std is not None:
        spread = format_html(' <span class="agg-std">± {}</span>', num(stats.std))
    return format_html(
        '<td class="num agg" title="{}"><span class="agg-mean">{}</span>{}'
        '<span class="agg-range">{} – {}</span></td>',
        title,
        num(stats.mean),
        spread,
        num(stats.min),
        num(stats.max),
    )


def grouped_table(
    runs, state: ListState, links: ListLinks, problems: list[str], columns: list | None = None
):
    """The group rows of ``state``'s list (``runs``: its filtered runs) under its
    ``columns`` as the table shows them (default: the state's), or None when the list
    is not grouped or the grouping fails (with a note in ``problems``)."""
    if state.group is None:
        return None
    columns = list(state.columns if columns is None else columns)
    metrics = [c for c in columns if c.kind == "metric"]
    try:
        grouping = groups.group_runs(runs, state.group, metrics)
    except StudioError as exc:
        problems.append(exc.message)
        return None
    lead = 0
    for column in columns:
        if column.kind == "metric":
            break
        lead += 1
    rows = []
    for i, group in enumerate(groups.ordered(grouping, state.sort)):
        by_column = dict(zip(grouping.metrics, group.stats, strict=True))
        cells = []
        for column in columns[lead:]:
            if column in by_column:
                cells.append(_stats_cell(column, by_column[column], group.count))
            else:
                cells.append(format_html("<td>{}</td>", ""))
        condition = groups.group_filter(state.group, group)
        rows.append(
            GroupRow(str(i), group.label, group.count, links.narrowed(condition), lead + 1, cells)
        )
    return GroupedTable(state.group.label, rows, grouping.message, grouping.runs, grouping.distinct)
