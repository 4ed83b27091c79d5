"""Workspaces in the studio: anyone signed in creates one (and owns it); Settings →
Workspace shows the current one, where its owners rename, archive or unarchive and
delete it (typing its name)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from studio.accounts import services
from studio.accounts.access import allows, current_workspace
from studio.accounts.routes import CURRENT, route
from studio.errors import StudioError
from studio.tracking.models import Workspace
from studio.tracking.services import workspaces
from studio.web.common import frame


def _open(workspace: Workspace) -> HttpResponse:
    return redirect(reverse("run-list") + "?" + urlencode({"ws": workspace.name}))


@route("read")
@require_http_methods(["GET", "POST"])
def workspace_create(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: create the workspace; its creator becomes its owner."""
    name = request.POST.get("name", "")
    if request.method == "POST":
        try:
            workspace = services.workspace_create(name=name, owner=request.user)
        except StudioError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Created {workspace.name!r}; you are its owner.")
            return _open(workspace)
    # The switcher keeps showing the workspace one came from.
    context = {"name": name, **frame(request, current_workspace(request), "workspace-new")}
    return render(request, "web/workspace_new.html", context)


ACTIONS = {
    "rename": lambda ws, post: workspaces.workspace_rename(workspace=ws, name=post.get("name", "")),
    "archive": lambda ws, post: workspaces.workspace_set_archived(workspace=ws, archived=True),
    "unarchive": lambda ws, post: workspaces.workspace_set_archived(workspace=ws, archived=False),
    "delete": lambda ws, post: workspaces.workspace_delete(
        workspace=ws, confirm=post.get("confirm", "")
    ),
}


@route("read", post="owner", workspace=CURRENT)
@require_http_methods(["GET", "POST"])
def workspace_settings(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    """GET: the current workspace. POST ``action``: rename, (un)archive, delete (owners)."""
    if workspace is None:
        raise Http404("No workspace")
    action = ACTIONS.get(request.POST.get("action", ""))
    if request.method == "POST" and action is not None:
        try:
            action(workspace, request.POST)
        except StudioError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Done.")
            if request.POST["action"] == "delete":
                return redirect("run-list")
        return redirect(reverse("workspace-settings") + "?" + urlencode({"ws": workspace.name}))
    context = {
        "is_owner": allows(request.user, workspace, "owner"),
        **frame(request, workspace, "workspace"),
    }
    return render(request, "web/workspace.html", context)
