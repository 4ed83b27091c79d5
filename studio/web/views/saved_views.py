"""Saved views in the studio: the list, saving the current list state, opening a
view at its stable link (/views/<id>/), and changing, sharing, deleting or making
it the workspace's default. Access: ``accounts.access.access_view``."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from studio.accounts.access import access_view, allows, role_in, view_permissions
from studio.accounts.routes import CURRENT, route
from studio.errors import StudioError
from studio.tracking import saved_views
from studio.tracking.models import SavedView, Workspace
from studio.tracking.runlist.state import ListState
from studio.web.common import back, frame
from studio.web.runlist import tables
from studio.web.runlist.links import ListLinks

MAX_STATE_LENGTH = 20_000


def _posted_state(request: HttpRequest) -> dict:
    """The list state a form carried as a query string (``state``), in stored form;
    ``clean_state`` checks it again in the service."""
    raw = request.POST.get("state", "")[:MAX_STATE_LENGTH]
    return ListState.from_query(QueryDict(raw)).to_stored()


@route("read", post="write", workspace=CURRENT)
@require_http_methods(["GET", "POST"])
def view_list(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    """GET: the workspace's views, shared first. POST: save the current list state as
    a new view (contributors and owners)."""
    if request.method == "POST":
        try:
            view = saved_views.view_create(
                workspace=workspace,
                owner=request.user,
                name=request.POST.get("name", ""),
                state=_posted_state(request),
                shared=request.POST.get("shared") == "1",
            )
        except StudioError as exc:
            messages.error(request, f"The view was not saved: {exc.message}")
            return redirect(back(request, reverse("view-list")))
        messages.success(request, f"Saved the view {view.name}.")
        return redirect("view-detail", view.pk)
    views = saved_views.views_visible(user=request.user, workspace=workspace) if workspace else []
    context = {"views": views, "can_write": workspace and allows(request.user, workspace, "write")}
    return render(request, "web/views.html", {**context, **frame(request, workspace, "views")})


@route("read", view="view_id")
@require_safe
def view_detail(request: HttpRequest, view: SavedView) -> HttpResponse:
    """A view at its stable link: its saved state, or, with a query string, that
    state changed (the page then offers to save the change)."""
    workspace = view.workspace
    if request.session.get("workspace") != workspace.name:
        request.session["workspace"] = workspace.name  # the frame shows the view's workspace
    path = reverse("view-detail", args=[view.pk])
    if target := tables.normalized_url(request, path, workspace):
        return redirect(target)
    modified = tables.has_state(request.GET)
    state = ListState.from_query(request.GET) if modified else ListState.from_stored(view.state)
    links = ListLinks(path, state)
    table = tables.runs_table(request, workspace=workspace, state=state, links=links)
    context = {
        "saved_view": view,
        "modified": modified and state.to_stored() != ListState.from_stored(view.state).to_stored(),
        "allowed": view_permissions(request.user, view, role_in(request.user, workspace)),
        "table": table,
        **frame(request, workspace, "views"),
    }
    return render(request, "web/runs.html", context)


@route("write", view="view_id")
@require_POST
def view_edit(request: HttpRequest, view: SavedView) -> HttpResponse:
    """Rename a view, save a changed state into it (``write``), or share or unshare it
    (``owner``: the view's owner, or a workspace owner for a shared view)."""
    sharing = "shared" in request.POST
    if sharing:
        access_view(request.user, view.pk, need="owner")
    try:
        saved_views.view_update(
            view=view,
            name=request.POST.get("name") or None,
            state=_posted_state(request) if "state" in request.POST else None,
            shared=request.POST.get("shared") == "1" if sharing else None,
        )
    except StudioError as exc:
        messages.error(request, f"The view was not changed: {exc.message}")
    else:
        messages.success(request, f"Saved the view {view.name}.")
    return redirect("view-detail", view.pk)


@route("owner", view="view_id")
@require_POST
def view_delete(request: HttpRequest, view: SavedView) -> HttpResponse:
    saved_views.view_delete(view=view)
    messages.success(request, f"Deleted the view {view.name}.")
    return redirect("view-list")


@route("owner", view="view_id")
@require_POST
def view_default(request: HttpRequest, view: SavedView) -> HttpResponse:
    """Make a shared view what /runs/ opens with in its workspace (owners), or stop."""
    access_view(request.user, view.pk, need="default")
    make = request.POST.get("default") == "1"
    saved_views.view_set_default(workspace=view.workspace, view=view if make else None)
    text = "is now" if make else "is no longer"
    messages.success(request, f"{view.name} {text} the default view of {view.workspace.name}.")
    return redirect(back(request, reverse("view-detail", args=[view.pk])))
