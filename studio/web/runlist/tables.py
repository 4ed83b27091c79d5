"""The runs table shared by /runs/, an experiment's page and a saved view: the
FilterSet, the total, one keyset page with its cells, the chips, headers, picker
and links. Every query here is one per page, never one per row."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, QuerySet
from django.db.models.functions import Substr
from django.http import HttpRequest, QueryDict
from django.urls import reverse

from studio.accounts.access import allows
from studio.errors import StudioError
from studio.rules.runquery import STATS, RunQuery, parse_column, parse_sort
from studio.tracking import live as feed
from studio.tracking.models import Experiment, MetricSummary, Run, Workspace
from studio.tracking.runlist import language, pages
from studio.tracking.runlist import query as runlist
from studio.tracking.runlist.catalog import Catalog, catalog
from studio.tracking.runlist.filters import FILTER_FIELDS
from studio.tracking.runlist.state import DEFAULT_COLUMNS, ListState
from studio.web import descriptions
from studio.web.runlist import columns, filters, grouped, sweep
from studio.web.runlist.links import ListLinks
from studio.web.series import colour_index, legend_labels

CHART_PARAMS = ("chart", "panel", "cx", "smooth", "log", "band", "top")
# State carried by every form of the list beside the filters (each form leaves out
# the keys it sets itself).
KEEP_PARAMS = (
    "col", "sort", *CHART_PARAMS, "group", "axis", "scatter", "pin", "width", "baseline", "constant",
)  # fmt: skip
STATE_PARAMS = (*FILTER_FIELDS, *KEEP_PARAMS, "after", "before")
MAX_EXPERIMENTS = 200
# Columns a list shows by itself (no columns in its URL or view): the built-ins,
# the most logged metrics and the properties whose values differ across the runs.
AUTO_METRICS = 3
AUTO_PROPS = 2  # the built-ins, 3 metrics and 2 properties fit 1440 px


def has_state(query_dict: QueryDict) -> bool:
    """Whether the URL says what to show (else a default view may)."""
    return any(key in query_dict for key in STATE_PARAMS)


def filtered(workspace: Workspace, state: ListState, base: QuerySet[Run] | None = None):
    """(FilterSet, its runs): the state's runs query through the one FilterSet; none
    at all while a filter is invalid (the panel shows why)."""
    try:
        query = state.query
    except StudioError as exc:
        state.problems.append(exc.message)
        return runlist.filterset(RunQuery(), workspace=workspace, base=base), Run.objects.none()
    filterset = runlist.filterset(query, workspace=workspace, base=base)
    runs = filterset.qs if filterset.is_valid() else Run.objects.none()
    return filterset, runs


def runs_table(
    request: HttpRequest,
    *,
    workspace: Workspace,
    state: ListState,
    links: ListLinks,
    experiment: Experiment | None = None,
) -> dict[str, Any]:
    base = Run.objects.filter(workspace=workspace)
    if experiment is not None:
        base = base.filter(experiment=experiment)
    filterset, runs = filtered(workspace, state, base)
    problems = list(state.problems)
    page = _page(runs, state.sort, request.GET.get("after"), request.GET.get("before"), problems)
    found = catalog(runs, total=page.total, newest=page.newest) if page.runs else Catalog(0)
    if state.auto_columns:
        state.columns = auto_columns(found)
    shown, constant = shown_columns(state, found)
    baseline = _baseline(workspace, state, shown, problems)
    pages.attach_cells(page.runs, shown)
    cols_query = urlencode([("col", c.key) for c in shown])
    ctx = {"depth": 0, "cols_query": cols_query, "workspace_name": workspace.name, **baseline}
    columns.attach_html(page.runs, ctx)
    total = page.total
    # Grouped: every run the filters select, in groups (grouped.py says why).
    grouping = grouped.grouped_table(runs, state, links, problems, shown)
    suggest = _suggestions(page.runs, found)
    hidden = ("experiment",) if experiment else ()
    pairs = state.to_query()
    picker = columns.picker(state, found)
    return {
        "filter_pairs": [pair for pair in pairs if pair[0] in FILTER_FIELDS],
        "keep_pairs": [pair for pair in pairs if pair[0] in KEEP_PARAMS],
        "current_url": links.page(after=request.GET.get("after"), before=request.GET.get("before")),
        # The CSV has the columns the page shows, those the list chose itself too.
        "export_url": reverse("run-export")
        + "?"
        + urlencode(links.extra + pairs + _chosen_columns(state)),
        "state": state,
        "links": links,
        "filterset": filterset,
        "search_error": filterset.form.errors.get("q"),
        "filter_errors": {k: v for k, v in filterset.form.errors.items() if k != "q"},
        "problems": problems,
        "total": total,
        # The count stopped at pages.COUNT_LIMIT past the page's start: "1,000+".
        "total_more": page.total_more,
        "page": page,
        "next_url": links.page(after=page.next_cursor) if page.next_cursor else None,
        "prev_url": links.page(before=page.prev_cursor) if page.prev_cursor else None,
        "first_url": links.url() if page.start > 1 else None,
        "headers": columns.headers(state, links, shown),
        "picker": picker,
        "picker_groups": [
            ("props", "Properties", picker["props"]),
            ("tags", "Tags", picker["tags"]),
        ],
        "constant_hidden": constant,
        "hidden_column_keys": [c.key for c in constant],
        "constant_url": links.with_constant_columns(not state.show_constant),
        "baseline": baseline.get("baseline_run"),
        "baseline_clear_url": links.with_baseline(None) if state.baseline else None,
        "suggest": suggest,
        "stats": STATS,
        "chips": filters.chips(state, links, hidden=hidden),
        "options": filters.panel_options(
            workspace, experiment_names=[] if experiment else _experiment_names(workspace)
        ),
        "hidden_filters": hidden,
        "experiment": experiment,
        "can_write": allows(request.user, workspace, "write"),
        "filter_hint": language.describe(),
        "children_hidden": "children" not in state.filters and "parent" not in state.filters,
        **_archived_toggle(state, links),
        "grouping": grouping,
        "group_options": _group_options(state, suggest),
        "sweep": sweep.panels(runs, state, links),
        "axis_options": _axis_options(state, suggest),
        "panels": panel_grid(state, runs, experiment=experiment, shown=page),
        # What the chart options form keeps as it is (all but the panels' own keys).
        "panel_keep": links.extra + [p for p in pairs if p[0] not in CHART_PARAMS[1:]],
        "live_url": _live_url(workspace, experiment),
    }


def _group_options(state: ListState, suggested: dict) -> list[tuple[str, str]]:
    """(key, label) of what the "Group by" menu offers: the experiment, and the
    property and tag keys of the runs on the page (and the current group)."""
    options = [("experiment", "Experiment")]
    options += [(f"prop:{k}", f"property {k}") for k in suggested["props"]]
    options += [(f"tag:{k}", f"tag {k}") for k in suggested["tags"]]
    if state.group and state.group.key not in dict(options):
        options.append((state.group.key, f"{state.group.kind} {state.group.label}"))
    return options


def _axis_options(state: ListState, suggested: dict) -> list[tuple[str, str]]:
    """(key, label) of the axes the sweep panels offer: the chosen ones, the list's
    metric columns and the properties of the runs on the page."""
    named = {"prop": "property ", "tag": "tag ", "metric": ""}
    options = [(c.key, named[c.kind] + c.label) for c in [*state.axes, *state.scatter]]
    options += [(c.key, c.label) for c in state.columns if c.kind == "metric"]
    options += [(f"prop:{k}", f"property {k}") for k in suggested["props"]]
    options += [(f"metric:last:{name}", name) for name in suggested["metrics"][:50]]
    found: dict[str, str] = {}
    for key, label in options:
        found.setdefault(key, label)
    return list(found.items())


def _live_url(workspace: Workspace, experiment: Experiment | None) -> str:
    """The page's event stream (live.js adds the live runs it lists), from the change
    cursor the page is rendered at."""
    pairs = [("ws", workspace.name)]
    if experiment is not None:
        pairs.append(("experiment", experiment.name))
    pairs.append(("since", str(feed.cursor())))
    return reverse("runs-live") + "?" + urlencode(pairs)


def _experiment_names(workspace: Workspace) -> list[str]:
    return list(
        Experiment.objects.filter(workspace=workspace)
        .order_by("name")
        .values_list("name", flat=True)[:MAX_EXPERIMENTS]
    )


def _suggestions(runs: list[Run], found: Catalog) -> dict[str, list[str]]:
    """Keys the "add" inputs suggest: those the listed runs have (the catalog), and
    the tags and properties of the runs on the page (already loaded)."""
    tags = {k.name for k in found.tags}
    props = {k.name for k in found.props}
    for run in runs:
        tags.update(t.key for t in pages.keyed_rows(run, "tags"))
        props.update(p.key for p in pages.keyed_rows(run, "properties"))
    metrics = sorted(k.name for k in found.metrics)
    return {"tags": sorted(tags), "props": sorted(props), "metrics": metrics[:200]}


def _chosen_columns(state: ListState) -> list[tuple[str, str]]:
    return [("col", c.key) for c in state.columns] if state.auto_columns else []


def auto_columns(found: Catalog) -> list:
    """The columns of a list whose URL or view names none: the built-ins, then the
    metrics most of its runs logged and the properties whose values differ across
    them (constant or empty ones tell nothing)."""
    chosen = [parse_column(k) for k in DEFAULT_COLUMNS]
    metrics = [k for k in found.metrics if "last" not in k.constant_stats][:AUTO_METRICS]
    chosen += [parse_column(f"metric:last:{k.name}") for k in metrics]
    props = [k for k in found.props if k.values > 1][:AUTO_PROPS]
    chosen += [parse_column(f"prop:{k.name}") for k in props]
    return chosen


def shown_columns(state: ListState, found: Catalog) -> tuple[list, list]:
    """(the columns shown, pinned first; the columns hidden as empty or constant for
    every listed run). Nothing is hidden on a list of one run, nor the sort column, a
    pinned one, or anything once the list asks to show them (``constant=show``)."""
    hide = not state.show_constant and found.sampled > 1
    constant = [
        c
        for c in state.columns
        if hide and c != state.sort.column and c not in state.pins and found.uninformative(c)
    ]
    shown = [c for c in state.columns if c not in constant]
    pinned = [c for c in shown if c in state.pins]
    return pinned + [c for c in shown if c not in pinned], constant


def _baseline(workspace: Workspace, state: ListState, shown: list, problems: list[str]) -> dict:
    """The baseline run of the list (one of the workspace's) and its value of each
    metric column shown, for the cells' differences; a note when it is not there."""
    if not state.baseline:
        return {}
    run = Run.objects.filter(workspace=workspace, run_id=state.baseline).first()
    if run is None:
        problems.append(f"The baseline run {state.baseline!r} is not in this workspace.")
        return {}
    values = pages.metric_column_values(run_pk=run.pk, columns=shown)
    return {"baseline_run": run, "baseline_pk": run.pk, "baseline_values": values}


ADD_PARAMS = ("add_metric", "add_prop", "add_tag", "add_chart")


def normalized_url(request: HttpRequest, path: str, workspace: Workspace) -> str | None:
    """Where to redirect when the column or chart picker's "add" inputs were sent, or a
    form sent empty fields: the same state with the new ``col=`` or ``chart=`` keys
    and no empty ones, so the address bar always holds the canonical link."""
    adding = any(request.GET.get(key, "").strip() for key in ADD_PARAMS)
    # A GET form sends its empty fields too (tag=&prop=...): drop them from the link.
    empty = any(not v.strip() for key in STATE_PARAMS for v in request.GET.getlist(key))
    if not (adding or empty):
        return None
    state = ListState.from_query(request.GET)
    added = columns.added_columns(request.GET)
    # Columns the list chooses itself stay so unless one is added.
    keys = [] if state.auto_columns and not added else [c.key for c in state.columns] + added
    charts = [c.key for c in state.charts]
    if request.GET.get("add_chart", "").strip():
        stat = request.GET.get("add_chart_stat") or "last"
        charts.append(f"metric:{stat}:{request.GET['add_chart'].strip()}")
    query = QueryDict(mutable=True)
    for key, values in state.filters.items():
        query.setlist(key, values)
    query.setlist("col", keys)
    query.setlist("chart", charts)
    query["sort"] = state.sort.key
    for key, value in state.to_query():  # grouping, pins, widths, baseline ...
        if key not in (*FILTER_FIELDS, "col", "chart", "sort"):
            query.appendlist(key, value)
    fresh = ListState.from_query(query)
    return ListLinks(path, fresh, [("ws", workspace.name)]).url()


def page_or_first(runs: QuerySet[Run], sort, after: str | None) -> pages.Page:
    try:
        return pages.page(runs, sort, after=after)
    except StudioError:
        return pages.page(runs, sort)


DEFAULT_PANELS = 4


def panel_grid(
    state: ListState,
    runs: QuerySet[Run],
    *,
    experiment: Experiment | None = None,
    shown: pages.Page | None = None,
) -> dict[str, Any] | None:
    """What the panel grid above the table draws (``static/studio/js/charts.js``):
    the top N listed runs by the list's sort (those of the table's first page when it
    is ``shown`` and holds them, else one query), the panels' metrics (the state's,
    else the metrics most of those runs logged: one query) and the chart options.
    The series themselves come from ``/charts/series/``."""
    top = state.chart_options["top"]
    cut = descriptions.EXCERPT_CHARS + 100
    if shown is not None and shown.start == 1 and (len(shown.runs) >= top or not shown.next_cursor):
        rows = [
            (r.pk, r.run_id, r.display_name, r.number, r.description[:cut])
            for r in shown.runs[:top]
        ]
    else:

        def load(qs: QuerySet[Run]) -> list[tuple]:
            fields = ("pk", "run_id", "display_name", "number", "excerpt")
            return list(qs.annotate(excerpt=Substr("description", 1, cut)).values_list(*fields))

        rows = pages.first_rows(runs, state.sort, top, load)
    if not rows:
        return None
    logged = list(
        MetricSummary.objects.filter(run__in=[r[0] for r in rows], kind="scalar")
        .values("name")
        .annotate(runs=Count("run"))
        .order_by("-runs", "name")
        .values_list("name", flat=True)[:200]
    )
    labels = legend_labels([Run.label_of(r[2], r[3]) for r in rows], [r[1] for r in rows])
    # An experiment's page keeps chart= for its chart across runs; elsewhere an old
    # chart= link opens as panels.
    chosen = state.panels if experiment is not None else state.panel_names
    panels = chosen or [n for n in logged if not n.startswith("sys/")][:DEFAULT_PANELS]
    return {
        "endpoint": reverse("chart-series"),
        "runs": [
            {
                "id": row[1],
                "label": label,
                "c": colour_index(row[0]),
                "desc": descriptions.legend_excerpt(row[4] or ""),
            }
            for row, label in zip(rows, labels, strict=True)
        ],
        "panels": panels,
        "metrics": logged,
        "options": state.chart_options,
        "group": state.group.key if state.group else None,
        "top": top,
        "smoothing_choices": smoothing_choices(state.chart_options["smooth"]),
    }


SMOOTHING = [
    ("", "None"),
    *[(f"ema:{w}", f"EMA {w}") for w in ("0.6", "0.8", "0.9", "0.95", "0.99")],
    *[(f"avg:{n}", f"Running average of {n}") for n in (5, 10, 25, 50, 100)],
]


def smoothing_choices(current: str) -> list[tuple[str, str]]:
    """The smoothing menu, with the state's own value in it if it is not a preset."""
    if current and current not in dict(SMOOTHING):
        return [*SMOOTHING, (current, current)]
    return SMOOTHING


def depth(raw: str | None) -> int:
    """How deep an expanded row sits (indentation), 1 to 8."""
    return min(max(int(raw), 1), 8) if raw and raw.isdigit() else 1


def children_rows(request: HttpRequest, parent: Run) -> dict[str, Any]:
    """A parent's children as rows of the list they open in (its columns), 50 at a
    time, oldest first, with the link to the next 50."""
    state = ListState.from_query(request.GET)
    page = page_or_first(
        Run.objects.filter(parent=parent), parse_sort("created"), request.GET.get("after")
    )
    pages.attach_cells(page.runs, state.columns)
    level = depth(request.GET.get("depth"))
    cols_query = urlencode([("col", c.key) for c in state.columns if request.GET.getlist("col")])
    ctx = {"depth": level, "cols_query": cols_query, "workspace_name": parent.workspace.name}
    columns.attach_html(page.runs, ctx)
    more = f"{request.path}?{cols_query}&depth={level}&after={page.next_cursor}"
    return {
        "runs": page.runs,
        "depth": level,
        "workspace": parent.workspace,
        "more_url": more if page.next_cursor else None,
        "remaining": parent.child_count - page.end,
    }


def table_rows(qs: QuerySet[Run]) -> list[Run]:
    """A page's runs as the table's rows read them: the experiment joined (a row
    names it), tags and properties as plain lists in key order (``pages.keyed_rows``).
    Not the parent nor the workspace ``pages.models`` joins too: no row shows them,
    and a child run's parent is a second whole run to build per row."""
    runs = list(qs.select_related("experiment"))
    pages.attach_keyed_rows(runs)
    return runs


def _page(runs: QuerySet[Run], sort, after, before, problems: list[str]) -> pages.Page:
    """The page a link asks for; a stale or edited page link gives the first page,
    with a note above the table, never an error page."""
    try:
        return pages.page(runs, sort, after=after, before=before, load=table_rows)
    except StudioError as exc:
        problems.append(exc.message)
        return pages.page(runs, sort, load=table_rows)


def _archived_toggle(state: ListState, links: ListLinks) -> dict[str, Any]:
    """ "Show archived": the list's search narrowed to ``archived``; "Hide archived":
    the search that names it dropped."""
    search = (state.filters.get("q") or [""])[0]
    if state.filters.get("parent"):
        return {"archived_shown": False, "archived_url": None}
    shown = language.names_archived(search)
    url = links.without_filter("q", search) if shown else links.narrowed("archived")
    return {"archived_shown": shown, "archived_url": url}
