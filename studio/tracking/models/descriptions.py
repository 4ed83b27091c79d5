"""A run description's history: every save that changes the text is a version."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.tracking.models.runs import Run


class DescriptionVersion(models.Model):
    """The text of a run's description as one save left it, numbered from 1 per run.
    ``author`` is the user who saved it (none for the SDK's local store, a pipeline
    definition, or a user since deleted); ``restored_from`` the version a restore
    copied."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="description_versions")
    number = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="description_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.run_id} v{self.number}"
