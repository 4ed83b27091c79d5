"""Reads of the accounts domain: invitations, a user's profile."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from studio.accounts.models import ApiToken, Invitation, Membership
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
