"""Workspace members: everyone in the workspace sees who belongs to it; owners add an
existing user by username, change roles and remove members."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from studio.accounts import selectors, services
from studio.accounts.access import allows
from studio.accounts.models import Membership, Role
from studio.accounts.routes import CURRENT, route
from studio.core.client import client_address
from studio.errors import StudioError
from studio.tracking.models import Workspace
from studio.web.common import frame


@route("read", post="owner", workspace=CURRENT)
@require_http_methods(["GET", "POST"])
def member_list(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    """GET: the members of the current workspace. POST: add a user by username (owners)."""
    if workspace is None:
        raise Http404("No workspace")
    if request.method == "POST":
        try:
            membership = services.membership_add_by_username(
                username=request.POST.get("username", ""),
                workspace=workspace,
                role=request.POST.get("role", Role.READER),
                by=request.user,
                address=client_address(request),
            )
        except StudioError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Added {membership.user} as {membership.role}.")
        return redirect("member-list")
    return members_page(request, workspace)


def members_page(request: HttpRequest, workspace: Workspace, **extra) -> HttpResponse:
    """The Members page; owners also see the pending invitations (and, right after
    making one, its link: ``extra``)."""
    members = Membership.objects.filter(workspace=workspace).select_related("user")
    is_owner = allows(request.user, workspace, "owner")
    context = {
        "members": members.order_by("user__username"),
        "roles": Role.choices,
        "is_owner": is_owner,
        "invitations": selectors.invitations_pending(workspace=workspace) if is_owner else [],
        **frame(request, workspace, "members"),
        **extra,
    }
    return render(request, "web/members.html", context, status=201 if extra else 200)


@route("owner", membership="membership_id")
@require_POST
def member_change(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Change a member's role (``role``) or remove them (``remove``); owners only."""
    try:
        if request.POST.get("action") == "remove":
            services.membership_remove(membership=membership)
            messages.success(request, f"Removed {membership.user} from {membership.workspace}.")
        else:
            services.membership_set_role(
                membership=membership,
                role=request.POST.get("role", ""),
                by=request.user,
                address=client_address(request),
            )
            messages.success(request, f"{membership.user} is now {request.POST['role']}.")
    except StudioError as exc:
        messages.error(request, exc.message)
    return redirect("member-list")
