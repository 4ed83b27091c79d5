"""The one write of the audit log."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from studio.audit.models import Action, AuditEntry
from studio.tracking.models import Workspace


def audit_record(
    *,
    action: Action | str,
    actor: AbstractBaseUser | None = None,
    username: str = "",
    address: str | None = None,
    workspace: Workspace | None = None,
    detail: str = "",
) -> AuditEntry:
    """Write one entry. ``username`` defaults to the actor's; ``address`` is the
    client's (``client_address(request)``), None for what no request caused."""
    if action not in Action.values:
        raise ValueError(f"Unknown audit action {action!r}")
    if actor is not None and not username:
        username = actor.get_username()
    return AuditEntry.objects.create(
        action=action,
        actor=actor,
        username=username[:150],
        address=address or None,
        workspace=workspace,
        detail=detail[:300],
    )
