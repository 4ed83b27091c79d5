"""The runs table shared by /runs/, an experiment's page and a saved view: the
FilterSet, the total, one keyset page with its cells, the chips, headers, picker
and links. Every query here is one per page, never one per row."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.urls import reverse

from studio.accounts.access import allows
from studio.errors import StudioError
from studio.rules.runquery import STATS, RunQuery, parse_sort
from studio.tracking import live as feed
from studio.tracking.models import Experiment, MetricSummary, Run, Workspace
from studio.tracking.runlist import language, pages
from studio.tracking.runlist import query as runlist
from studio.tracking.runlist.filters import FILTER_FIELDS
from studio.tracking.runlist.state import ListState
from studio.web.runlist import columns, filters
from studio.web.runlist.links import ListLinks

STATE_PARAMS = (*FILTER_FIELDS, "col", "sort", "chart", "after", "before")
MAX_EXPERIMENTS = 200


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
    pages.attach_cells(page.runs, state.columns)
    cols_query = urlencode([pair for pair in state.to_query() if pair[0] == "col"])
    columns.attach_html(
        page.runs, {"depth": 0, "cols_query": cols_query, "workspace_name": workspace.name}
    )
    total = page.total
    hidden = ("experiment",) if experiment else ()
    pairs = state.to_query()
    return {
        "filter_pairs": [pair for pair in pairs if pair[0] in FILTER_FIELDS],
        "keep_pairs": [pair for pair in pairs if pair[0] in ("col", "sort", "chart")],
        "current_url": links.page(after=request.GET.get("after"), before=request.GET.get("before")),
        "export_url": reverse("run-export") + "?" + urlencode(links.extra + pairs),
        "state": state,
        "links": links,
        "filterset": filterset,
        "search_error": filterset.form.errors.get("q"),
        "filter_errors": {k: v for k, v in filterset.form.errors.items() if k != "q"},
        "problems": problems,
        "total": total,
        "page": page,
        "next_url": links.page(after=page.next_cursor) if page.next_cursor else None,
        "prev_url": links.page(before=page.prev_cursor) if page.prev_cursor else None,
        "first_url": links.url() if page.start > 1 else None,
        "headers": columns.headers(state, links),
        "picker": columns.picker(state),
        "suggest": _suggestions(page.runs),
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
        # On an experiment's page the chart spans all its runs (experiments.py).
        "figures": chart_figures(state, page) if experiment is None else [],
        "live_url": _live_url(workspace, experiment),
    }


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


def _suggestions(runs: list[Run]) -> dict[str, list[str]]:
    """Keys the column picker suggests: those of the runs on the page (their tags and
    properties are already loaded; metric names cost one query)."""
    tags, props = set(), set()
    for run in runs:
        tags.update(t.key for t in run.tags.all())
        props.update(p.key for p in run.properties.all())
    metrics = (
        MetricSummary.objects.filter(run__in=[r.pk for r in runs], kind="scalar")
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()
        if runs
        else []
    )
    return {"tags": sorted(tags), "props": sorted(props), "metrics": list(metrics)[:200]}


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
    keys = [c.key for c in state.columns] + columns.added_columns(request.GET)
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
    fresh = ListState.from_query(query)
    return ListLinks(path, fresh, [("ws", workspace.name)]).url()


def page_or_first(runs: QuerySet[Run], sort, after: str | None) -> pages.Page:
    try:
        return pages.page(runs, sort, after=after)
    except StudioError:
        return pages.page(runs, sort)


def chart_figures(state: ListState, page: pages.Page) -> list[dict]:
    """One figure per chosen chart: the metric for each run of the page."""
    from studio.web.runlist.charts import Point, metric_per_listed_run

    figures = []
    for column in state.charts:
        values = pages.metric_values(
            run_ids=[r.pk for r in page.runs], name=column.arg, stat=column.stat
        )
        points = [Point(r.number, r.label, r.status, values.get(r.pk)) for r in page.runs]
        figures.append(
            {"key": column.key, "figure": metric_per_listed_run(points, column.arg, column.stat)}
        )
    return figures


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


def _page(runs: QuerySet[Run], sort, after, before, problems: list[str]) -> pages.Page:
    """The page a link asks for; a stale or edited page link gives the first page,
    with a note above the table, never an error page."""
    try:
        return pages.page(runs, sort, after=after, before=before)
    except StudioError as exc:
        problems.append(exc.message)
        return pages.page(runs, sort)
