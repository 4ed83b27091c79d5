"""HTML views of the runs list: thin functions over access helpers, the list state,
selectors and services. The run page and compare live in ``run_page.py``; saved
views, experiments and members in their own modules."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from studio.accounts.routes import CURRENT, route
from studio.tracking import saved_views
from studio.tracking.models import Run, Workspace
from studio.tracking.runlist.state import ListState
from studio.web.common import frame
from studio.web.runlist import bulk, export, tables
from studio.web.runlist.links import ListLinks


@route("public")
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return redirect("run-list")


@route("read", workspace=CURRENT)
@require_safe
def run_list(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    """Every run of the current workspace: filters, search, columns, sort and a
    keyset page, all in the URL; the workspace's default view when the URL says
    nothing (``?all=1`` for everything)."""
    if workspace is None:
        return render(request, "web/runs.html", frame(request, None, "runs"))
    path = reverse("run-list")
    if target := tables.normalized_url(request, path, workspace):
        return redirect(target)
    default = None
    if not tables.has_state(request.GET) and "all" not in request.GET:
        default = saved_views.view_default(workspace=workspace)
    state = ListState.from_stored(default.state) if default else ListState.from_query(request.GET)
    links = ListLinks(path, state, [("ws", workspace.name)])
    table = tables.runs_table(request, workspace=workspace, state=state, links=links)
    context = {"table": table, "default_view": default, **frame(request, workspace, "runs")}
    return render(request, "web/runs.html", context)


@route("read", workspace=CURRENT)
@require_safe
def run_export(request: HttpRequest, workspace: Workspace | None) -> StreamingHttpResponse:
    """The filtered, sorted list as CSV with the chosen columns, streamed a keyset
    page at a time (memory stays flat on 100,000 runs)."""
    state = ListState.from_query(request.GET)
    _, runs = tables.filtered(workspace, state) if workspace else (None, Run.objects.none())
    response = StreamingHttpResponse(
        export.csv_lines(runs, state), content_type="text/csv; charset=utf-8"
    )
    name = workspace.name if workspace else "runs"
    response["Content-Disposition"] = f'attachment; filename="{name}-runs.csv"'
    return response


@route("read", run="run_id")
@require_safe
def run_children_rows(request: HttpRequest, run: Run) -> HttpResponse:
    """Rows of a run's children, for expanding it in place (the same partial as the
    table's rows), 50 at a time, oldest first."""
    context = tables.children_rows(request, run)
    return render(request, "web/_run_rows_fragment.html", context)


@route("read", workspace=CURRENT)
@require_POST
def run_bulk(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    """Selected runs: compare them, tag them or cancel them (contributors and owners)."""
    return bulk.act(request, workspace)
