"""The columns of a runs list as the page shows them: headers with their sort
links, and what the column picker offers. Which columns exist, and how they sort,
is ``tracking.runlist.state`` (the allowlist) and ``tracking.runlist.pages``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from studio.core.markdown import format_markup, join_markup
from studio.core.templatetags.studio_tags import reltime, run_duration
from studio.rules.runquery import BUILTIN, Column, Sort, parse_column
from studio.tracking.runlist import pages
from studio.tracking.runlist.catalog import Catalog, ascending_first, lower_is_better
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
    pinned: bool = False
    pin_url: str = ""  # pins the column, or unpins a pinned one
    px: int | None = None  # a width the list state sets


def first_descending(column: Column) -> bool:
    """The first click's direction: newest/longest first for times, largest first
    for numbers, except smallest first for a metric's ``min`` and loss-like names;
    A-Z for text."""
    if column.kind == "metric":
        return not ascending_first(column)
    return column.kind in ("created", "duration") or column.numeric


def headers(state: ListState, links: ListLinks, shown: list[Column]) -> list[Header]:
    """The headers of the ``shown`` columns (pinned first)."""
    found = []
    pinned = set(state.pins)
    for column in shown:
        active = state.sort.column == column
        aria = "none"
        if active:
            aria = "descending" if state.sort.descending else "ascending"
        url = None
        if column.sortable:
            descending = not state.sort.descending if active else first_descending(column)
            url = links.sorted_by(Sort(column, descending))
        found.append(
            Header(
                column,
                url,
                aria,
                "w-delta"
                if column.kind == "metric" and state.baseline
                else WIDTH.get(column.kind, "w-custom"),
                column in pinned,
                links.pinned(column, shown, column not in pinned),
                state.widths.get(column.key),
            )
        )
    return found


@dataclass(frozen=True)
class Choice:
    """A column the picker offers: its key, label, whether shown, runs having it."""

    column: Column
    shown: bool
    runs: int | None = None


def picker(state: ListState, catalog: Catalog | None = None) -> dict:
    """The built-in columns (with whether each is shown), the shown custom ones,
    and every metric (last/min/max), property and tag key the listed runs have,
    with the number of runs that have it."""
    shown = {c.key for c in state.columns}
    builtin = [(parse_column(key), key in shown) for key in BUILTIN]
    custom = [c for c in state.columns if c.custom]
    found = {"builtin": builtin, "custom": custom, "metrics": [], "props": [], "tags": []}
    if catalog is None:
        return found
    for key in catalog.metrics:
        stats = [parse_column(f"metric:{s}:{key.name}") for s in ("last", "min", "max")]
        found["metrics"].append((key, [Choice(c, c.key in shown, key.runs) for c in stats]))
    for kind in ("props", "tags"):
        prefix = kind[:-1] if kind == "tags" else "prop"
        found[kind] = [
            Choice(parse_column(f"{prefix}:{k.name}"), f"{prefix}:{k.name}" in shown, k.runs)
            for k in getattr(catalog, kind)
        ]
    found["sampled"] = catalog.sampled
    found["capped"] = catalog.capped
    return found


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
# Built with ``_html`` (the sanitizer module's ``format_markup``), which escapes every
# value it is given as format_html does
# (names, tags and properties are user text): the same markup the templates would
# write, at a fraction of the cost on a 50-row page with a dozen columns.


_html = format_markup


def status_badge(run) -> str:
    lost = " · lost" if run.status_reason == "lost" else ""
    return _html('<span class="status status-{}">{}{}</span>', run.status.lower(), run.status, lost)


def _time(value) -> str:
    return _html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z"),
        reltime(value),
    )


def _name_cell(run, ctx: dict) -> str:
    depth = ctx["depth"]
    indent = _html(' data-indent="{}"', depth) if depth else ""
    expander = _html('<span class="expander-space">{}</span>', "")
    count = ""
    if run.child_count:
        n = run.child_count
        query = ctx["cols_query"] + ("&" if ctx["cols_query"] else "") + f"depth={depth + 1}"
        expander = _html(
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
        count = _html(
            '<span class="count" title="{} child run{}, under this run">{} child{}</span>',
            n,
            pluralize(n),
            n,
            pluralize(n, "ren"),
        )
    if run.pk == ctx.get("baseline_pk"):
        count = _html(
            '{}<span class="chip baseline-chip" title="Metric columns compare with this run">'
            "baseline</span>",
            count,
        )
    return _html(
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
    tags = pages.keyed_rows(run, "tags")
    title = ", ".join(t.key if t.value is None else f"{t.key}={t.value}" for t in tags)
    chips = join_markup(
        _html(
            '<span class="chip">{}{}</span>',
            t.key,
            "" if t.value is None else _html('<span class="chip-value">{}</span>', t.value),
        )
        for t in tags
    )
    return _html('<td class="cut tags" title="{}">{}</td>', title, chips)


def cell(run, column: Column, value, ctx: dict) -> str:
    """One ``<td>`` of a run's row."""
    kind = column.kind
    if kind == "name":
        return _name_cell(run, ctx)
    if kind == "id":
        return _html(
            '<td class="mono" title="{0}"><div class="run-id"><span class="run-id-head">{1}</span>'
            "<span>{2}</span></div></td>",
            run.run_id,
            run.run_id[:-8],
            run.run_id[-8:],
        )
    if kind == "experiment":
        return _html(
            '<td class="cut" title="{0}"><a class="plain" href="{1}">{0}</a></td>',
            run.experiment.name,
            reverse("experiment-detail", args=[run.experiment.name]),
        )
    if kind == "status":
        return _html('<td data-col="status">{}</td>', status_badge(run))
    if kind == "created":
        return _html("<td>{}</td>", _time(run.created_at))
    if kind == "duration":
        return _html('<td class="num" data-col="duration">{}</td>', run_duration(run))
    if kind == "tags":
        return _tags_cell(run)
    if kind == "description":
        short = Truncator(run.description)
        return _html('<td class="cut muted" title="{}">{}</td>', short.chars(400), short.chars(120))
    if kind == "metric":
        # data-metric/data-stat: live.js updates the cell as the run logs.
        if value is None:
            return _html(
                '<td class="num" data-metric="{}" data-stat="{}" title="{}: not logged">'
                '<span class="muted">—</span></td>',
                column.arg,
                column.stat,
                column.label,
            )
        base = ctx.get("baseline_values", {}).get(column.key)
        if base is not None and run.pk != ctx.get("baseline_pk"):
            return _metric_delta_cell(column, value, base)
        return _html(
            '<td class="num" data-metric="{}" data-stat="{}" title="{}: {}" data-value="{}">{}</td>',
            column.arg,
            column.stat,
            column.label,
            value,
            value,
            num(value),
        )
    if kind in ("prop", "tag"):
        text = "" if value is None else value
        return _html('<td class="cut" title="{0}">{0}</td>', text)
    text = getattr(run, kind, "") if kind in ("submitted_by", "compute_target", "type") else ""
    return _html('<td class="cut" title="{0}">{0}</td>', text)


def _metric_delta_cell(column: Column, value, base) -> str:
    """A metric's value and its difference to the baseline run's, marked better or
    worse by the metric's direction (lower is better for loss-like names); the sign
    and the title say it too, not the colour alone."""
    if not isinstance(value, float | int) or not isinstance(base, float | int):
        return _html('<td class="num" title="{}: {}">{}</td>', column.label, value, num(value))
    delta = value - base
    if delta != delta:  # NaN on either side
        verdict = "same"
    elif delta == 0:
        verdict = "same"
    else:
        verdict = "better" if (delta < 0) == lower_is_better(column.arg) else "worse"
    words = {"same": "same as", "better": "better than", "worse": "worse than"}[verdict]
    sign = "+" if delta > 0 else ("±" if verdict == "same" else "−")
    return _html(
        '<td class="num" title="{}: {} ({} {} the baseline {})" data-value="{}" data-base="{}"'
        ' data-lower="{}">{}<span class="delta delta-{}">{}{}</span></td>',
        column.label,
        value,
        num(abs(delta)) if verdict != "same" else 0,
        words,
        base,
        value,
        base,
        "1" if lower_is_better(column.arg) else "",
        num(value),
        verdict,
        sign,
        num(abs(delta)) if verdict != "same" else "0",
    )


def attach_html(runs, ctx: dict) -> None:
    """``run.html_cells``: the row's cells as one piece of markup (the row template
    writes one value, not one per cell), after ``pages.attach_cells``."""
    for run in runs:
        run.html_cells = join_markup(cell(run, column, value, ctx) for column, value in run.cells)
