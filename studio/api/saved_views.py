"""Saved views over the API: the views a caller may open, and the runs of one, in
the view's order (``studio run list --view``, ``exp.get_runs(view=...)``).
A view is found by name among the caller's own views, then the shared ones; it lists
runs of its own workspace only."""

from __future__ import annotations

from django.http import HttpRequest

from studio.accounts.access import access_view, scoped_views
from studio.accounts.routes import endpoint
from studio.api.base import api, page_limit
from studio.tracking import saved_views
from studio.tracking.models import Workspace
from studio.tracking.runlist import pages
from studio.tracking.schema import iso, run_rows


def _view_dict(view) -> dict:
    return {
        "id": view.pk,
        "name": view.name,
        "shared": view.shared,
        "default": view.is_default,
        "owner": view.owner.get_username(),
        "updated": iso(view.updated_at),
        "state": view.state,
    }


@api.get("/workspaces/{name}/views", tags=["views"])
@endpoint("read", workspace="name")
def view_list(request: HttpRequest, workspace: Workspace):
    views = scoped_views(
        saved_views.views_visible(user=request.user, workspace=workspace), request.auth
    )
    return {"views": [_view_dict(v) for v in views]}


@api.get("/workspaces/{name}/views/{view}/runs", tags=["views"])
@endpoint("read", workspace="name")
def view_runs(
    request: HttpRequest,
    workspace: Workspace,
    view: str,
    experiment: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
):
    """Runs of the view ``view`` (by name), in its sort order, ``limit`` per page;
    ``next`` is the cursor of the following page. ``experiment`` narrows it further."""
    named = saved_views.view_find(
        workspace=workspace, name=view, username=request.user.get_username()
    )
    found = access_view(request.user, named.pk, token=request.auth)
    runs, state = saved_views.view_runs(view=found, experiment=experiment)
    page = pages.page(
        runs, state.sort, after=cursor, size=page_limit(limit), with_total=False, load=run_rows
    )
    return {
        "runs": [r.data for r in page.runs],
        "next": page.next_cursor,
        "view": _view_dict(found),
    }
