"""The columns of a runs list as the page shows them: headers with their sort
links, and what the column picker offers. Which columns exist, and how they sort,
is ``tracking.runlist.state`` (the allowlist) and ``tracking.runlist.pages``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from studio.core.templatetags.studio_tags import reltime, run_duration
from studio.rules.runquery import BUILTIN, Column, Sort, parse_column
from studio.tracking.runlist.state import ListState
from studio.web.runlist.links import ListLinks
from studio.web.templatetags.run_tags import num

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


# --- cells ------------------------------------------------------------------------
# Built with format_html, which escapes every value it is given (names, tags and
# properties are user text): the same markup the templates would write, at a fraction
# of the cost on a 50-row page with a dozen columns.


def status_badge(run) -> str:
    lost = " · lost" if run.status_reason == "lost" else ""
    return format_html(
        '<span class="status status-{}">{}{}</span>', run.status.lower(), run.status, lost
    )


def _time(value) -> str:
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z"),
        reltime(value),
    )


def _name_cell(run, ctx: dict) -> str:
    depth = ctx["depth"]
    indent = format_html(' data-indent="{}"', depth) if depth else ""
    expander = format_html('<span class="expander-space">{}</span>', "")
    count = ""
    if run.child_count:
        n = run.child_count
        query = ctx["cols_query"] + ("&" if ctx["cols_query"] else "") + f"depth={depth + 1}"
        expander = format_html(
            '<a class="expander" href="{}?{}" data-children-url="{}?{}" aria-expanded="false" '
            'title="Show its {} child run{}"><span class="caret" aria-hidden="true"></span>'
            '<span class="visually-hidden">Show the child runs of {}</span></a>',
            reverse("run-list"),
            urlencode({"ws": ctx["workspace_name"], "parent": run.run_id}),
            reverse("run-children-rows", args=[run.run_id]),
            query,
            n,
            pluralize(n),
            run.label,
        )
        count = format_html(
            '<span class="count" title="{} child run{}, under this run">{} child{}</span>',
            n,
            pluralize(n),
            n,
            pluralize(n, "ren"),
        )
    return format_html(
        '<td><div class="name-cell"{}>{}<span class="run-number" title="Run number in {}">{}</span>'
        '<a class="name" href="/runs/{}/" title="{}">{}</a>{}</div></td>',
        indent,
        expander,
        run.experiment.name,
        run.number,
        quote(run.run_id),
        run.label,
        run.label,
        count,
    )


def _tags_cell(run) -> str:
    tags = list(run.tags.all())
    title = ", ".join(t.key if t.value is None else f"{t.key}={t.value}" for t in tags)
    chips = format_html_join(
        "",
        '<span class="chip">{}{}</span>',
        (
            (
                t.key,
                ""
                if t.value is None
                else format_html('<span class="chip-value">{}</span>', t.value),
            )
            for t in tags
        ),
    )
    return format_html('<td class="cut tags" title="{}">{}</td>', title, chips)


def cell(run, column: Column, value, ctx: dict) -> str:
    """One ``<td>`` of a run's row."""
    kind = column.kind
    if kind == "name":
        return _name_cell(run, ctx)
    if kind == "id":
        return format_html(
            '<td class="mono" title="{0}"><div class="run-id"><span class="run-id-head">{1}</span>'
            "<span>{2}</span></div></td>",
            run.run_id,
            run.run_id[:-8],
            run.run_id[-8:],
        )
    if kind == "experiment":
        return format_html(
            '<td class="cut" title="{0}"><a class="plain" href="{1}">{0}</a></td>',
            run.experiment.name,
            reverse("experiment-detail", args=[run.experiment.name]),
        )
    if kind == "status":
        return format_html('<td data-col="status">{}</td>', status_badge(run))
    if kind == "created":
        return format_html("<td>{}</td>", _time(run.created_at))
    if kind == "duration":
        return format_html('<td class="num" data-col="duration">{}</td>', run_duration(run))
    if kind == "tags":
        return _tags_cell(run)
    if kind == "description":
        short = Truncator(run.description)
        return format_html(
            '<td class="cut muted" title="{}">{}</td>', short.chars(400), short.chars(120)
        )
    if kind == "metric":
        # data-metric/data-stat: live.js updates the cell as the run logs.
        if value is None:
            return format_html(
                '<td class="num" data-metric="{}" data-stat="{}" title="{}: not logged">'
                '<span class="muted">—</span></td>',
                column.arg,
                column.stat,
                column.label,
            )
        return format_html(
            '<td class="num" data-metric="{}" data-stat="{}" title="{}: {}">{}</td>',
            column.arg,
            column.stat,
            column.label,
            value,
            num(value),
        )
    if kind in ("prop", "tag"):
        text = "" if value is None else value
        return format_html('<td class="cut" title="{0}">{0}</td>', text)
    text = getattr(run, kind, "") if kind in ("submitted_by", "compute_target", "type") else ""
    return format_html('<td class="cut" title="{0}">{0}</td>', text)


def attach_html(runs, ctx: dict) -> None:
    """``run.html_cells``: the row's cells, after ``pages.attach_cells``."""
    for run in runs:
        run.html_cells = [cell(run, column, value, ctx) for column, value in run.cells]
