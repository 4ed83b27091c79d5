"""Who belongs to which workspace, and with which role."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.tracking.models import Workspace


class Role(models.TextChoices):
    READER = "reader"
    CONTRIBUTOR = "contributor"
    OWNER = "owner"


class Membership(models.Model):
    """A user's role in a workspace. No membership, no access (superusers aside)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in (Role.CONTRIBUTOR, Role.OWNER)


class ApiToken(models.Model):
    """A bearer token for the API and the SDK's REST store. Only a SHA-256 hash of
    the secret is stored; the secret is shown once, when the token is created. A
    token may be narrowed to one workspace or to one run (a submitted job's token)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)  # shown in lists so users can tell tokens apart
    key_hash = models.CharField(max_length=64, unique=True)
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    run = models.ForeignKey(
        "tracking.Run", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Invitation(models.Model):
    """A one-time link into a workspace with a role. Only a SHA-256 hash of the link's
    secret is stored; the link is shown once, to the owner who made it. It expires,
    can be revoked, and is spent by the first person who accepts it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READER)
    note = models.CharField(max_length=200, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "expires_at"], name="invitation_pending")]

    def __str__(self) -> str:
        return f"invitation to {self.workspace} as {self.role}"


class Theme(models.TextChoices):
    SYSTEM = "system"  # follow the browser's prefers-color-scheme
    LIGHT = "light"
    DARK = "dark"


class Preference(models.Model):
    """A user's choices about how the studio looks; no row means the defaults.

    Loaded with the user on every request (``studio.accounts.backends``), so reading it
    costs no query."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    theme = models.CharField(max_length=10, choices=Theme.choices, default=Theme.SYSTEM)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.theme} theme"
