"""Access helpers: every object reaches a view through one of these. A missing object
and a forbidden one look the same from outside (404)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from studio.accounts.models import Membership, Role
from studio.tracking.models import Workspace


def workspaces_for_user(user) -> QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    if user.is_superuser:
        return Workspace.objects.all()
    return Workspace.objects.filter(memberships__user=user)


def role_in(user, workspace: Workspace) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.OWNER
    return (
        Membership.objects.filter(user=user, workspace=workspace)
        .values_list("role", flat=True)
        .first()
    )


def get_workspace_for_user(user, name: str, *, write: bool = False) -> Workspace:
    workspace = workspaces_for_user(user).filter(name=name).first()
    if workspace is None:
        raise Http404("No such workspace")
    if write and role_in(user, workspace) not in (Role.CONTRIBUTOR, Role.OWNER):
        raise Http404("No such workspace")
    return workspace


def current_workspace(request: HttpRequest) -> Workspace | None:
    """The workspace named by ``?ws=`` or the session, else the user's first one."""
    name = request.GET.get("ws") or request.session.get("workspace")
    visible = workspaces_for_user(request.user)
    workspace = visible.filter(name=name).first() if name else None
    if workspace is None and name and request.GET.get("ws"):
        raise Http404("No such workspace")
    workspace = workspace or visible.order_by("name").first()
    if workspace is not None:
        request.session["workspace"] = workspace.name
    return workspace
