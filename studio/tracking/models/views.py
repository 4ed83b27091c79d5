"""Saved views: a named state of a runs list (filters, search, columns, sort, charts)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from studio.tracking.models.runs import Workspace


class SavedViewQuerySet(models.QuerySet):
    def visible_to(self, user) -> SavedViewQuerySet:
        """The views ``user`` may open: shared ones and their own, in the workspaces
        they are a member of."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(workspace__in=Workspace.objects.visible_to(user)).filter(
            Q(shared=True) | Q(owner=user)
        )


class SavedView(models.Model):
    """A runs-list state saved under a name, private to its owner or shared with the
    workspace. ``state`` holds only what the list's allowlists accept
    (``tracking.runlist.state.clean_state``); it never names a workspace: a view shows
    runs of its own workspace, to members of that workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="views")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=100)
    shared = models.BooleanField(default=False)
    # The view /runs/ opens with. Only a shared view can be a workspace's default.
    is_default = models.BooleanField(default=False)
    state = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        ordering = ["-shared", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "owner", "name"], name="view_unique_owner_name"
            ),
            models.UniqueConstraint(
                fields=["workspace", "name"],
                condition=Q(shared=True),
                name="view_unique_shared_name",
            ),
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(is_default=True), name="view_one_default"
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(shared=True), name="view_default_is_shared"
            ),
        ]

    def __str__(self) -> str:
        return self.name
