"""Saved views over the API: the views a caller may open, and the runs of one, in
the view's order (``studio run list --view``, ``exp.get_runs(view=...)``).
A view is found by name among the caller's own views, then the shared ones; it lists
runs of its own workspace only."""

from __future__ import annotations

from django.http import HttpRequest

from studio.accounts.access import access_workspace
from studio.api.base import api, page_limit
from studio.core.policy import policy
from studio.tracking import saved_views
from studio.tracking.runlist import pages
from studio.tracking.schema import iso, run_to_dict


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
@policy("read")
def view_list(request: HttpRequest, name: str):
    workspace = access_workspace(request.user, name, token=request.auth)
    views = saved_views.views_visible(user=request.user, workspace=workspace)
    return {"views": [_view_dict(v) for v in views]}


@api.get("/workspaces/{name}/views/{view}/runs", tags=["views"])
@policy("read")
def view_runs(
    request: HttpRequest,
    name: str,
    view: str,
    experiment: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
):
    """Runs of the view ``view`` (by name), in its sort order, ``limit`` per page;
    ``next`` is the cursor of the following page. ``experiment`` narrows it further."""
    workspace = access_workspace(request.user, name, token=request.auth)
    found = saved_views.view_find(
        workspace=workspace, name=view, username=request.user.get_username()
    )
    runs, state = saved_views.view_runs(view=found, experiment=experiment)
    page = pages.page(runs, state.sort, after=cursor, size=page_limit(limit), with_total=False)
    return {
        "runs": [run_to_dict(r) for r in page.runs],
        "next": page.next_cursor,
        "view": _view_dict(found),
    }
