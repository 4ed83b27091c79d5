"""Metric storage built for large series.

Scalar series are stored in chunks of packed arrays (``MetricChunk``): a
1,000,000-point series is about 250 rows, and each chunk carries min/max buckets so
an overview chart reads kilobytes, not the whole series. ``MetricSummary`` keeps
last/min/max/count per (run, metric) for sorting and filtering run lists.
Lists, rows, tables and images are small and stored as JSON records.
"""

from __future__ import annotations

from django.db import models

from studio.tracking.models.runs import Run


class MetricKind(models.TextChoices):
    SCALAR = "scalar"
    TEXT = "text"
    LIST = "list"
    ROW = "row"
    TABLE = "table"
    IMAGE = "image"


class MetricSummary(models.Model):
    """Last/min/max/count of one metric of one run, updated on every ingest."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metric_summaries")
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=MetricKind.choices)
    count = models.BigIntegerField(default=0)
    # SQLite binds NaN as NULL, so a NaN last value is NULL plus last_is_nan.
    last_value = models.FloatField(null=True, blank=True)
    last_is_nan = models.BooleanField(default=False)
    last_text = models.TextField(null=True, blank=True)
    last_step = models.BigIntegerField(null=True, blank=True)
    last_time = models.FloatField(null=True, blank=True)
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name"], name="metric_summary_unique")
        ]
        indexes = [
            # The runs list sorts by a metric in index order (name, value, run): see
            # runlist.pages._following.
            models.Index(fields=["name", "last_value", "run"], name="metric_summary_last_run"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.name}"


class MetricChunk(models.Model):
    """Up to ``metricdata.CHUNK_POINTS`` points of one series, in arrival order."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metric_chunks")
    name = models.CharField(max_length=255)
    seq = models.PositiveIntegerField()
    count = models.PositiveIntegerField()
    encoding = models.CharField(max_length=8, default="f8")  # "f8" numbers, "json" text
    first_step = models.BigIntegerField()
    last_step = models.BigIntegerField()
    # Per bucket of BUCKET_POINTS points: (step_lo, step_hi, min, max) as float64.
    # Declared before the point arrays: SQLite reads a row's columns in order, so an
    # overview that needs only the buckets never steps over ~100 KB of points.
    buckets = models.BinaryField(default=b"")
    steps = models.BinaryField()
    values = models.BinaryField()
    times = models.BinaryField()

    class Meta:
        ordering = ["run", "name", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name", "seq"], name="metric_chunk_unique")
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.name}#{self.seq}"


class MetricRecord(models.Model):
    """One logged list, row, table or image reference."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metric_records")
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=MetricKind.choices)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "name"], name="metric_record_run_name")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.name}"


class MetricBatch(models.Model):
    """Batch ids already stored: a retried batch is recognised and skipped. A batch
    of numbers is noted by its live change (``RunChange.batch_id``, one row for both)
    and its id moves here when the change feed prunes that row; a batch with nothing
    to show live is noted here at once."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metric_batches")
    batch_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "batch_id"], name="metric_batch_unique")
        ]

    def __str__(self) -> str:
        return self.batch_id
