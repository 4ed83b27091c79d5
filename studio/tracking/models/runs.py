"""Workspaces, experiments, runs and what hangs off a run (properties, tags, files)."""

from __future__ import annotations

import re
import uuid

from django.db import models
from django.db.models import DurationField, ExpressionWrapper, F, Prefetch
from django.db.models.functions import Coalesce, Now

from studio.rules import transitions
from studio.rules.runquery import TYPES


class WorkspaceQuerySet(models.QuerySet):
    def visible_to(self, user) -> WorkspaceQuerySet:
        """The workspaces ``user`` is a member of (all of them for a superuser)."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(memberships__user=user)


class Workspace(models.Model):
    """A team's space; members and their roles live in ``accounts.Membership``."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Archived: read-only for everyone (studio.accounts.access refuses writes), left
    # out of the workspace switcher; its runs are kept.
    archived = models.BooleanField(default=False)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Experiment(models.Model):
    """A named group of runs inside a workspace, created on first use."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    # Last number handed to a run of this experiment; bumped with F() inside the
    # run-creating transaction so concurrent creators get distinct numbers.
    run_counter = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="experiment_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


# The statuses are spelled once, in the transition table (no Django there: the SDK
# reads them too); the model's choices are made from it (NotStarted -> NOT_STARTED).
RunStatus = models.TextChoices(
    "RunStatus",
    [(re.sub(r"(?<!^)(?=[A-Z])", "_", status).upper(), status) for status in transitions.STATUSES],
)


# Run types, like statuses, are spelled once where the SDK can read them too.
RunType = models.TextChoices("RunType", [(t.upper(), t) for t in TYPES])


class RunQuerySet(models.QuerySet):
    def visible_to(self, user) -> RunQuerySet:
        """Runs of the workspaces ``user`` is a member of (one subquery)."""
        return self.filter(workspace__in=Workspace.objects.visible_to(user))

    def with_related(self) -> RunQuerySet:
        """What a run's row shows without a query per run: its experiment, workspace
        and parent joined, tags and properties prefetched in key order."""
        return self.select_related("experiment", "workspace", "parent").prefetch_related(
            Prefetch("tags", queryset=RunTag.objects.order_by("key")),
            Prefetch("properties", queryset=RunProperty.objects.order_by("key")),
        )

    def with_duration(self) -> RunQuerySet:
        """``duration``: from start to end, or to now while the run is going."""
        return self.annotate(duration=Run.duration_expression())


class RunManager(models.Manager.from_queryset(RunQuerySet)):
    """``Run.objects``: the runs that exist for everyone, i.e. not in a trash. A run
    in the trash (``deleted_at`` set) is left out of every list, search, compare,
    API and SDK read and its pages answer 404; only ``Run.all_objects`` (the trash
    page, restore, the purge, workspace deletion) reaches it."""

    def get_queryset(self) -> RunQuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class Run(models.Model):
    """One training attempt. ``run_id`` is the public id; ``uuid`` names its files."""

    run_id = models.CharField(max_length=300, unique=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No single-column indexes: run_ws_* and run_exp_created below begin with these
    # columns and serve every lookup by them; each index a run does not need costs
    # every run's INSERT a page written (issue 16).
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    number = models.PositiveIntegerField()
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    # The top of the tree this run belongs to (null for a top-level run): one
    # indexed query fetches a whole tree of any depth.
    root = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="descendants"
    )
    display_name = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=RunType.choices, default=RunType.INTERACTIVE)
    status = models.CharField(
        max_length=20, choices=RunStatus.choices, default=RunStatus.NOT_STARTED
    )
    status_reason = models.CharField(max_length=255, blank=True)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.CharField(max_length=150, blank=True)
    compute_target = models.CharField(max_length=100, blank=True, default="local")
    script = models.CharField(max_length=500, blank=True)
    arguments = models.JSONField(default=list, blank=True)
    child_count = models.PositiveIntegerField(default=0)
    # The client that logged the run when it was not Studio's own SDK, from its
    # user agent ("azureml-core 1.61.0", "mlflow 3.17.2"): the run page says so.
    logged_with = models.CharField(max_length=100, blank=True)
    # Archived: left out of lists unless the filter asks for it (``archived``);
    # everything else about the run stays as it was.
    archived = models.BooleanField(default=False)
    # In the workspace's trash since then (``services.trash``): out of sight
    # everywhere but the trash, purged with its files after TRASH_DAYS.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = RunManager()
    all_objects = RunQuerySet.as_manager()  # the trash's runs too

    class Meta:
        # Related lookups (a run's parent, cascades) see trashed runs too.
        base_manager_name = "all_objects"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "number"], name="run_unique_number"),
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="run_ws_created"),
            models.Index(fields=["experiment", "-created_at"], name="run_exp_created"),
            models.Index(fields=["workspace", "status"], name="run_ws_status"),
            # The runs list shows top-level runs newest first: found and ordered by one index.
            models.Index(
                fields=["workspace", "parent", "-created_at", "-id"], name="run_ws_parent_created"
            ),
            # The trash page and the purge: a workspace's trashed runs, oldest first.
            models.Index(fields=["workspace", "deleted_at"], name="run_ws_deleted"),
        ]

    def __str__(self) -> str:
        return self.run_id

    @property
    def label(self) -> str:
        """What people call the run: its display name, else "Run <number>"."""
        return self.label_of(self.display_name, self.number)

    @staticmethod
    def label_of(display_name: str, number: int) -> str:
        """The same rule for a run read as values (``values_list``), not as a model."""
        return display_name or f"Run {number}"

    @staticmethod
    def duration_expression() -> ExpressionWrapper:
        return ExpressionWrapper(
            Coalesce(F("ended_at"), Now()) - F("started_at"), output_field=DurationField()
        )

    @property
    def is_terminal(self) -> bool:
        from studio.rules.transitions import TERMINAL

        return self.status in TERMINAL


class RunProperty(models.Model):
    """An immutable key/value string: the run's audit record."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="properties")
    key = models.CharField(max_length=255)
    value = models.TextField()

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="property_unique_key")]
        # Covering: a filter on a property reads its runs from the index alone.
        indexes = [models.Index(fields=["key", "value", "run"], name="property_key_value_run")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class RunTag(models.Model):
    """A mutable key/value string; ``value`` is null for a key-only tag."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="tags")
    key = models.CharField(max_length=255)
    value = models.TextField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="tag_unique_key")]
        # Covering: a filter on a tag reads its runs from the index alone.
        indexes = [models.Index(fields=["key", "value", "run"], name="tag_key_value_run")]

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


class RunFile(models.Model):
    """A file of a run. ``name`` is what users see (``outputs/model.pkl``); the bytes
    live at ``storage_key``, which is built from server ids only."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=1024)
    storage_key = models.CharField(max_length=255, unique=True)
    size = models.BigIntegerField(default=0)
    # A live log is stored as chunks (``LogChunk``), not one object at storage_key:
    # an object store cannot append, and its tail must open without reading it all.
    chunked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="file_unique_name")]

    def __str__(self) -> str:
        return self.name


class LogChunk(models.Model):
    """One shipped piece of a chunked run file: bytes ``offset .. offset+size`` of
    it, stored as one object at ``storage_key``. The rows of a file are its index:
    the chunk holding any byte is one indexed query away, whatever the file's size."""

    run_file = models.ForeignKey(RunFile, on_delete=models.CASCADE, related_name="chunks")
    offset = models.BigIntegerField()
    size = models.IntegerField()
    storage_key = models.CharField(max_length=255, unique=True)

    class Meta:
        ordering = ["run_file", "offset"]
        constraints = [
            models.UniqueConstraint(fields=["run_file", "offset"], name="logchunk_unique_offset")
        ]

    def __str__(self) -> str:
        return f"{self.run_file_id}@{self.offset}+{self.size}"


class LeaseWatch(models.Model):
    """The reaper's watch over heartbeats (one row, pk 1): since when it has looked
    without a break longer than the lease. A run is judged lost only by a watch at
    least one lease old; see ``tracking.services.liveness``."""

    # None: no break seen since the database was made.
    since = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"watching since {self.since or 'the start'}, last look {self.seen_at}"
