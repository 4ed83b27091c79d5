"""Reads of the accounts domain: workspaces with the caller's role in each."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from studio.accounts.models import Membership, Role
from studio.tracking.models import Workspace


def workspace_list(*, user, workspaces: QuerySet[Workspace]) -> list[tuple[Workspace, str | None]]:
    """``workspaces`` (already narrowed to what ``user`` may see), by name, each with
    ``user``'s role in it, in one query (superusers: owner everywhere)."""
    role = Membership.objects.filter(user=user, workspace=OuterRef("pk")).values("role")[:1]
    rows = workspaces.annotate(my_role=Subquery(role)).order_by("name")
    return [(w, Role.OWNER if user.is_superuser else w.my_role) for w in rows]
