"""Where submitted runs execute, and what is known about the processes running them."""

from __future__ import annotations

from django.db import models

from studio.tracking.models import Run, Workspace


class ComputeKind(models.TextChoices):
    LOCAL = "local"  # the submitting machine: the built-in target ``local``, no worker
    QUEUE = "queue"  # ``studio worker --target NAME`` runs the script itself
    SLURM = "slurm"  # ``studio worker --target NAME`` on a login node submits a Slurm job


class ComputeTarget(models.Model):
    """A named target of a workspace, created on first use (kind ``queue``) or with a
    kind: ``queue`` runs are executed by ``studio worker --target NAME``, ``slurm`` ones
    are submitted by that worker (the bridge) as Slurm jobs with ``slurm``'s settings.
    ``local`` is the submitting machine and needs no row."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="targets")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ComputeKind.choices, default=ComputeKind.QUEUE)
    # partition, account, time_limit, gres, extra_sbatch_args (execution.slurm.SETTINGS)
    slurm = models.JSONField(default=dict, blank=True)
    capacity = models.PositiveIntegerField(default=4)  # parallel pipeline steps
    # What v1's AmlCompute.provisioning_configuration asked for (VM size, scaling...):
    # recorded, not applied (the target runs where its workers run).
    provisioning = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="target_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Environment(models.Model):
    """One version of a named environment of a workspace: v1's definition (Python
    packages, environment variables, Docker settings) as ``Environment`` serializes
    it. Registering the same definition again gives the same version; a changed one
    the next version. ``content_hash`` is the hash of the definition without its
    name and version, to find an unchanged one."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="environments")
    name = models.CharField(max_length=255)
    version = models.PositiveIntegerField()
    definition = models.JSONField()
    content_hash = models.CharField(max_length=64)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name", "version"], name="environment_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


class Execution(models.Model):
    """How a submitted run executes: its script, its place in a pipeline, and the
    supervisor and process group that run it (so a restarted worker can find and
    kill what it left behind, checking start times because pids get reused)."""

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="execution")
    step_name = models.CharField(max_length=255, blank=True)
    after = models.JSONField(default=list, blank=True)  # step names this step waits for
    worker = models.CharField(max_length=255, blank=True)
    host = models.CharField(max_length=255, blank=True)
    supervisor_pid = models.IntegerField(null=True, blank=True)
    supervisor_started = models.FloatField(null=True, blank=True)
    pgid = models.IntegerField(null=True, blank=True)
    script_started = models.FloatField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    signal = models.CharField(max_length=20, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The Slurm job that runs it (slurm targets): set once, never changed.
    slurm_job_id = models.CharField(max_length=32, blank=True, default="")
    # The environment the run's script runs in (None: the submitter's interpreter),
    # and the variables set in its process (the environment's and the run
    # configuration's ``environment_variables``).
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL, related_name="executions"
    )
    variables = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run"]
        indexes = [models.Index(fields=["host", "worker"], name="execution_host_worker")]

    def __str__(self) -> str:
        return f"execution of {self.run_id}"


class WorkerBeat(models.Model):
    """A worker serving a target, as of its last poll: one row per worker process
    (``host:target:pid:started``) and target, updated each time it asks for a run, so
    the Compute page shows idle workers too. Rows not seen for a day are dropped."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=100)
    worker = models.CharField(max_length=255)
    host = models.CharField(max_length=255, blank=True)
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["target", "-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "target", "worker"], name="worker_beat_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker} on {self.target}"
