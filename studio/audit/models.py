"""The audit log: who did what, when, from where. Rows are only ever added."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.tracking.models import Workspace


class Action(models.TextChoices):
    SIGNIN = "signin", "signed in"
    SIGNIN_FAILED = "signin_failed", "failed to sign in"
    TOKEN_CREATE = "token_create", "created an API token"
    ROLE_CHANGE = "role_change", "changed a role"
    INVITATION_CREATE = "invitation_create", "invited someone"
    INVITATION_ACCEPT = "invitation_accept", "joined through an invitation"
    INVITATION_REVOKE = "invitation_revoke", "revoked an invitation"
    RUN_ARCHIVE = "run_archive", "archived runs"
    RUN_UNARCHIVE = "run_unarchive", "unarchived runs"
    RUN_DELETE = "run_delete", "moved runs to the trash"
    RUN_RESTORE = "run_restore", "restored runs from the trash"
    RUN_PURGE = "run_purge", "deleted runs for good"


SIGNIN_ACTIONS = (Action.SIGNIN, Action.SIGNIN_FAILED)


class AuditEntry(models.Model):
    """One audited event. ``actor`` is the account it concerns (for a failed sign-in,
    the account whose name was typed, when there is one); ``username`` keeps the name
    as typed, so entries outlive deleted accounts and record names that match none."""

    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="audit_workspace_time"),
            models.Index(fields=["actor", "action", "-created_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.username} {self.get_action_display()}"
