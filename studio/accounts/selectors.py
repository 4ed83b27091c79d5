"""Reads of the accounts domain: invitations, a user's profile, workspaces with the
caller's role in each."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from studio.accounts.models import ApiToken, Invitation, Membership, Preference, Role, Theme
from studio.tracking.models import Workspace


def invitations_pending(*, workspace: Workspace) -> QuerySet[Invitation]:
    """Invitations to ``workspace`` whose link still works, soonest to expire first."""
    return (
        Invitation.objects.filter(
            workspace=workspace,
            revoked_at__isnull=True,
            accepted_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("created_by")
        .order_by("expires_at")
    )


def profile(*, user: AbstractBaseUser) -> dict:
    """What a user's profile page shows: their workspaces with roles and their live
    API tokens (a job's run-scoped tokens are not theirs to manage)."""
    return {
        "memberships": Membership.objects.filter(user=user)
        .select_related("workspace")
        .order_by("workspace__name"),
        "tokens": ApiToken.objects.filter(user=user, revoked_at__isnull=True, run__isnull=True),
    }


def workspace_list(*, user, workspaces: QuerySet[Workspace]) -> list[tuple[Workspace, str | None]]:
    """``workspaces`` (already narrowed to what ``user`` may see), by name, each with
    ``user``'s role in it, in one query (superusers: owner everywhere)."""
    role = Membership.objects.filter(user=user, workspace=OuterRef("pk")).values("role")[:1]
    rows = workspaces.annotate(my_role=Subquery(role)).order_by("name")
    return [(w, Role.OWNER if user.is_superuser else w.my_role) for w in rows]


def theme_for(user) -> str:
    """``user``'s theme: "light", "dark" or "system" (anonymous users, and anyone who
    never chose). Free for request.user (loaded with it: studio.accounts.backends)."""
    if not user.is_authenticated:
        return Theme.SYSTEM
    try:
        return user.preference.theme
    except Preference.DoesNotExist:
        return Theme.SYSTEM
