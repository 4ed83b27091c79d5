"""The change feed open pages follow (``tracking.live``): one row per change to a run
that a list or run page shows as it happens."""

from __future__ import annotations

from django.db import models

from studio.tracking.models.runs import Run, Workspace


class ChangeKind(models.TextChoices):
    CREATED = "created"  # a run was created (data: its status, whether it has a parent)
    STATUS = "status"  # a run's status changed (data: status, reason, started/ended)
    POINTS = "points"  # scalar metric points were stored (data: series tails, summaries)
    LOG = "log"  # the live log grew (data: its size in bytes)


class RunChange(models.Model):
    """One change to a run, written by the tracking services in the transaction that
    makes it. The id is the change cursor: pages resume from the last id they saw
    (SSE ``Last-Event-ID``), and one poller per server process reads ``id > cursor``
    for every open stream. Rows are kept ``tracking.services.changes.RETENTION``."""

    id = models.BigAutoField(primary_key=True)
    # Not indexed: the feed is read by id; only a workspace's deletion looks changes up
    # by workspace, in a table pruned to minutes. Every metric batch and every run's
    # start and end writes a change, and each index costs each of them a page write.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    experiment_id = models.BigIntegerField()
    # Indexed by the (run, batch_id) constraint, whose first column it is.
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="changes", db_index=False)
    # The run's parent (null for a top-level run): lists show top-level runs only.
    parent_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=10, choices=ChangeKind.choices)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # The metric batch a points change stores (null for other changes): its row notes
    # the batch id, so a retried batch is recognised without a row of its own
    # (``MetricBatch`` takes the id over when the feed prunes the change).
    batch_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["created_at"], name="run_change_created")]
        constraints = [
            models.UniqueConstraint(fields=["run", "batch_id"], name="run_change_batch_unique")
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.kind} {self.run_id}"
