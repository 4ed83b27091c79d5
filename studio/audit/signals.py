"""Sign-ins and failed sign-ins (Django's auth signals), and what was done to runs
as a whole (archived, trashed, restored, purged: ``run_lifecycle``), into the audit log."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from studio.audit.models import Action
from studio.audit.services import audit_record
from studio.core.client import client_address
from studio.tracking.services import run_lifecycle


@receiver(user_logged_in, dispatch_uid="studio.audit.signin")
def _signed_in(sender, request, user, **kwargs) -> None:
    audit_record(action=Action.SIGNIN, actor=user, address=client_address(request))


@receiver(user_login_failed, dispatch_uid="studio.audit.signin_failed")
def _signin_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username") or "")
    user = get_user_model().objects.filter(username=username).first() if username else None
    audit_record(
        action=Action.SIGNIN_FAILED,
        actor=user,
        username=username,
        address=client_address(request),
    )


@receiver(run_lifecycle, dispatch_uid="studio.audit.run_lifecycle")
def _run_lifecycle(sender, action, workspace, runs, by=None, address=None, **kwargs) -> None:
    shown = ", ".join(runs[:5]) + (f" and {len(runs) - 5} more" if len(runs) > 5 else "")
    audit_record(
        action=f"run_{action}",
        actor=by if getattr(by, "is_authenticated", False) else None,
        username="" if getattr(by, "is_authenticated", False) else "system",
        address=address,
        workspace=workspace,
        detail=shown,
    )
