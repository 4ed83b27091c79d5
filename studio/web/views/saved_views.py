"""Saved views in the studio: the list, saving the current list state, opening a
view at its stable link (/views/<id>/), and changing, sharing, deleting or making
it the workspace's default. Access: ``accounts.access.access_view``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from studio.accounts.access import access_view, current_workspace, role_in, view_permissions
from studio.core.policy import policy
from studio.errors import StudioError
from studio.tracking import saved_views
from studio.tracking.runlist.state import ListState
from studio.web.common import back, frame, http_errors
from studio.web.runlist import tables
from studio.web.runlist.links import ListLinks

MAX_STATE_LENGTH = 20_000


def _posted_state(request: HttpRequest) -> dict:
    """The list state a form carried as a query string (``state``), in stored form;
    ``clean_state`` checks it again in the service."""
    raw = request.POST.get("state", "")[:MAX_STATE_LENGTH]
    return ListState.from_query(QueryDict(raw)).to_stored()


@policy("member")
@require_http_methods(["GET", "POST"])
@login_required
def view_list(request: HttpRequest) -> HttpResponse:
    """GET: the workspace's views, shared first. POST: save the current list state as
    a new view (contributors and owners)."""
    workspace = current_workspace(request)
    if request.method == "POST" and workspace is not None:
        if not tables.can_write(request, workspace):
            raise PermissionDenied("Readers cannot save views.")
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
    context = {"views": views, "can_write": workspace and tables.can_write(request, workspace)}
    return render(request, "web/views.html", {**context, **frame(request, workspace, "views")})


@policy("member")
@require_safe
@login_required
def view_detail(request: HttpRequest, view_id: int) -> HttpResponse:
    """A view at its stable link: its saved state, or, with a query string, that
    state changed (the page then offers to save the change)."""
    with http_errors():
        view = access_view(request.user, view_id)
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


@policy("member")
@require_POST
@login_required
def view_edit(request: HttpRequest, view_id: int) -> HttpResponse:
    """Rename a view, save a changed state into it (``edit``), or share or unshare it
    (``manage``)."""
    sharing = "shared" in request.POST
    with http_errors():
        view = access_view(request.user, view_id, need="manage" if sharing else "edit")
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


@policy("member")
@require_POST
@login_required
def view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    with http_errors():
        view = access_view(request.user, view_id, need="manage")
    saved_views.view_delete(view=view)
    messages.success(request, f"Deleted the view {view.name}.")
    return redirect("view-list")


@policy("member")
@require_POST
@login_required
def view_default(request: HttpRequest, view_id: int) -> HttpResponse:
    """Make a shared view what /runs/ opens with in its workspace (owners), or stop."""
    with http_errors():
        view = access_view(request.user, view_id, need="default")
    make = request.POST.get("default") == "1"
    saved_views.view_set_default(workspace=view.workspace, view=view if make else None)
    text = "is now" if make else "is no longer"
    messages.success(request, f"{view.name} {text} the default view of {view.workspace.name}.")
    return redirect(back(request, reverse("view-detail", args=[view.pk])))
