"""Workspace members: everyone in the workspace sees who belongs to it; owners add an
existing user by username, change roles and remove members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from studio.accounts import services
from studio.accounts.access import current_workspace, role_in, workspaces_for_user
from studio.accounts.models import Membership, Role
from studio.core.policy import policy
from studio.errors import StudioError
from studio.web.common import frame


def _owner_only(request: HttpRequest, workspace) -> None:
    if role_in(request.user, workspace) != Role.OWNER:
        raise PermissionDenied("Only owners manage members.")


@policy("member")
@require_http_methods(["GET", "POST"])
@login_required
def member_list(request: HttpRequest) -> HttpResponse:
    """GET: the members of the current workspace. POST: add a user by username."""
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("No workspace")
    if request.method == "POST":
        _owner_only(request, workspace)
        try:
            membership = services.membership_add_by_username(
                username=request.POST.get("username", ""),
                workspace=workspace,
                role=request.POST.get("role", Role.READER),
            )
        except StudioError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Added {membership.user} as {membership.role}.")
        return redirect("member-list")
    members = Membership.objects.filter(workspace=workspace).select_related("user")
    context = {
        "members": members.order_by("user__username"),
        "roles": Role.choices,
        "is_owner": role_in(request.user, workspace) == Role.OWNER,
        **frame(request, workspace, "members"),
    }
    return render(request, "web/members.html", context)


@policy("member")
@require_POST
@login_required
def member_change(request: HttpRequest, membership_id: int) -> HttpResponse:
    """Change a member's role (``role``) or remove them (``remove``); owners only."""
    membership = get_object_or_404(
        Membership.objects.select_related("user", "workspace"),
        pk=membership_id,
        workspace__in=workspaces_for_user(request.user),
    )
    _owner_only(request, membership.workspace)
    try:
        if request.POST.get("action") == "remove":
            services.membership_remove(membership=membership)
            messages.success(request, f"Removed {membership.user} from {membership.workspace}.")
        else:
            services.membership_set_role(membership=membership, role=request.POST.get("role", ""))
            messages.success(request, f"{membership.user} is now {request.POST['role']}.")
    except StudioError as exc:
        messages.error(request, exc.message)
    return redirect("member-list")
