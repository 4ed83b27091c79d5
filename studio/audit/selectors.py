"""Reads of the audit log."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from studio.audit.models import SIGNIN_ACTIONS, AuditEntry
from studio.tracking.models import Workspace


def audit_entries_for_workspace(*, workspace: Workspace) -> QuerySet[AuditEntry]:
    """What an owner of ``workspace`` reads: the entries about it, and the sign-ins
    (failed ones too) of its members, newest first."""
    members = workspace.memberships.values("user_id")
    return (
        AuditEntry.objects.filter(
            Q(workspace=workspace) | Q(action__in=SIGNIN_ACTIONS, actor_id__in=members)
        )
        .select_related("actor", "workspace")
        .order_by("-created_at", "-id")
    )
