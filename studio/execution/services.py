"""Writes of the execution domain: submitting, claiming, recording processes, and
stopping what lost runs left behind. Status changes go through
``tracking.services.run_transition`` (the one transition table)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction

from studio.errors import Conflict, InvalidTransition, NotFound, ValidationError
from studio.execution import envdefs, slurm
from studio.execution.models import ComputeKind, ComputeTarget, Environment, Execution
from studio.rules import transitions, validation
from studio.rules.graph import check_steps
from studio.tracking import services as tracking
from studio.tracking.models import Experiment, Run, RunStatus, RunType, Workspace
from studio.tracking.services import liveness

LOCAL = "local"
ACTIVE = transitions.ACTIVE


def compute_target_check(name: str) -> str:
    name = validation.key(name, "compute_target")
    if not validation.WORKSPACE_NAME_RE.match(name):
        raise ValidationError(
            f"Compute target name {name!r} is invalid: use letters, digits, '-' or '_'.",
            field="compute_target",
        )
    return name


MAX_CAPACITY = 1000


KINDS = (ComputeKind.QUEUE, ComputeKind.SLURM)


def _check_kind(name: str, kind: str | None, settings: Mapping[str, Any] | None):
    """The kind asked for and its checked Slurm settings (None when not given)."""
    if kind is None:
        if settings is not None:
            raise ValidationError("slurm settings need kind 'slurm'.", field="kind")
        return None, None
    if name == LOCAL or kind == ComputeKind.LOCAL:
        raise ValidationError(
            "'local' is the built-in target (the submitting machine): create a 'queue' or a "
            "'slurm' target under another name.",
            field="kind" if kind == ComputeKind.LOCAL else "name",
        )
    if kind not in KINDS:
        raise ValidationError(f"kind {kind!r} is not one of {', '.join(KINDS)}.", field="kind")
    if kind != ComputeKind.SLURM:
        if settings:
            raise ValidationError("slurm settings need kind 'slurm'.", field="kind")
        return kind, {}
    return kind, slurm.check_settings(settings)


def _busy(target: ComputeTarget) -> int:
    """Runs of the target waiting for or held by its workers."""
    return Run.objects.filter(
        workspace=target.workspace,
        compute_target=target.name,
        status__in=(RunStatus.QUEUED, *ACTIVE),
    ).count()


def compute_target_get_or_create(
    *,
    workspace: Workspace,
    name: str,
    capacity: int | None = None,
    provisioning: Mapping[str, Any] | None = None,
    kind: str | None = None,
    slurm_settings: Mapping[str, Any] | None = None,
) -> ComputeTarget:
    """The target ``name`` of the workspace, created on first use (kind ``queue``
    unless ``kind`` says); ``capacity`` (its parallel pipeline steps),
    ``provisioning`` (v1's cluster settings, recorded), ``kind`` and
    ``slurm_settings`` change it when given. Everything is checked before anything is
    stored; a target with queued or running runs keeps its kind (Conflict)."""
    name = compute_target_check(name)
    if capacity is not None and (type(capacity) is not int or not 1 <= capacity <= MAX_CAPACITY):
        raise ValidationError(
            f"capacity must be a whole number from 1 to {MAX_CAPACITY}.", field="capacity"
        )
    recorded = _provisioning(provisioning) if provisioning is not None else None
    kind, settings = _check_kind(name, kind, slurm_settings)
    with transaction.atomic():
        target, created = ComputeTarget.objects.select_for_update().get_or_create(
            workspace=workspace, name=name, defaults={"kind": kind or ComputeKind.QUEUE}
        )
        changed = []
        if kind is not None and kind != target.kind:
            busy = _busy(target)
            if busy:
                raise Conflict(
                    f"Compute target {name!r} is a {target.kind} target with {busy} queued or "
                    f"running run(s): it becomes a {kind} target once they end.",
                    field="kind",
                )
            target.kind, changed = kind, [*changed, "kind"]
        if settings is not None and settings != target.slurm:
            target.slurm, changed = settings, [*changed, "slurm"]
        if capacity is not None and capacity != target.capacity:
            target.capacity, changed = capacity, [*changed, "capacity"]
        if recorded is not None and recorded != target.provisioning:
            target.provisioning, changed = recorded, [*changed, "provisioning"]
        if changed and not created:
            target.save(update_fields=changed)
        elif changed:
            target.save()
    return target


def compute_target_delete(*, workspace: Workspace, name: str) -> None:
    """Delete a named target; refused while runs wait for or run on it. Its past runs
    keep its name."""
    if name == LOCAL:
        raise ValidationError("'local' is the built-in target: it cannot be deleted.", field="name")
    with transaction.atomic():
        target = (
            ComputeTarget.objects.select_for_update().filter(workspace=workspace, name=name).first()
        )
        if target is None:
            raise NotFound(f"Compute target {name!r} does not exist.", field="name")
        busy = _busy(target)
        if busy:
            raise Conflict(
                f"Compute target {name!r} has {busy} queued or running run(s): cancel them "
                "or let them end first.",
                field="name",
            )
        target.delete()


MAX_PROVISIONING = 10_000  # characters of JSON


def _provisioning(value: Mapping[str, Any]) -> dict[str, Any]:
    """v1's provisioning settings as recorded: an object of JSON values, bounded."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValidationError("provisioning must be an object of settings.", field="provisioning")
    text = json.dumps(dict(value), default=str)
    if len(text) > MAX_PROVISIONING:
        raise ValidationError(
            f"provisioning holds at most {MAX_PROVISIONING} characters of JSON.",
            field="provisioning",
        )
    return json.loads(text)


def compute_target_to_dict(target: ComputeTarget) -> dict[str, Any]:
    return {
        "name": target.name,
        "workspace": target.workspace.name,
        "kind": target.kind,
        "capacity": target.capacity,
        "provisioning": target.provisioning,
        "slurm": target.slurm if target.kind == ComputeKind.SLURM else None,
    }


def compute_target_list(*, workspace: Workspace) -> list[ComputeTarget]:
    """The workspace's named targets (``local`` needs none), by name."""
    return list(ComputeTarget.objects.filter(workspace=workspace).order_by("name"))


def run_submit(
    *,
    experiment: Experiment,
    submitted_by: str,
    script: str,
    arguments: Sequence[str] = (),
    compute_target: str = LOCAL,
    parent: Run | None = None,
    type: str = RunType.SCRIPT,
    tags: Mapping[str, str | None] | None = None,
    display_name: str = "",
    step_name: str = "",
    after: Sequence[str] = (),
    environment: Mapping[str, Any] | None = None,
    properties: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
) -> Run:
    """Create a submitted run, NotStarted until its snapshot is uploaded and
    ``run_enqueue`` hands it to a supervisor or a worker. ``environment`` (v1's
    serialized ``Environment``) is registered in the workspace (the same definition
    keeps its version) and recorded on the run; ``variables`` are set in its process."""
    script = validation.text(script, "script", max_length=500, allow_empty=type == RunType.PIPELINE)
    if script.startswith("/") or ".." in script.split("/"):
        raise ValidationError("script must be a path inside the source directory.", field="script")
    if compute_target != LOCAL:
        compute_target_get_or_create(workspace=experiment.workspace, name=compute_target)
    clean_variables = envdefs.check_variables(variables or {}, "variables")
    properties = dict(properties or {})
    with transaction.atomic():
        env = None
        if environment is not None:
            env = environment_register(
                workspace=experiment.workspace, definition=environment, created_by=submitted_by
            )
            properties.update(envdefs.run_properties(env.name, env.version))
        run = tracking.run_create(
            experiment=experiment,
            submitted_by=submitted_by,
            type=type,
            status=RunStatus.NOT_STARTED,
            parent=parent,
            display_name=display_name,
            compute_target=compute_target,
            script=script,
            arguments=arguments,
            tags=tags,
            properties=properties,
        )
        Execution.objects.create(
            run=run,
            step_name=step_name,
            after=list(after),
            environment=env,
            variables=clean_variables,
        )
    return run


def environment_register(
    *, workspace: Workspace, definition: Mapping[str, Any], created_by: str
) -> Environment:
    """Keep ``definition`` (v1's serialized ``Environment``) as a version of its
    name: the latest version again when its content did not change (or the version
    it names, when that one has this content), else the next version. Two racing
    registrations of a new content make one version each, never the same number."""
    name, clean, digest = envdefs.check_definition(definition)
    wanted = envdefs.wanted_version(definition)
    for _attempt in range(5):
        versions = Environment.objects.filter(workspace=workspace, name=name)
        if wanted is not None:
            same = versions.filter(version=wanted, content_hash=digest).first()
            if same is not None:
                return same
        latest = versions.order_by("-version").first()
        if latest is not None and latest.content_hash == digest:
            return latest
        try:
            with transaction.atomic():
                return Environment.objects.create(
                    workspace=workspace,
                    name=name,
                    version=(latest.version if latest else 0) + 1,
                    definition=clean,
                    content_hash=digest,
                    created_by=created_by,
                )
        except IntegrityError:
            continue  # another registration took that number: look again
    raise Conflict(
        f"Environment {name!r} is being registered by too many callers at once; try again.",
        field="name",
    )


def pipeline_submit(
    *,
    experiment: Experiment,
    submitted_by: str,
    steps: Sequence[Mapping[str, Any]],
    tags: Mapping[str, str | None] | None = None,
    description: str = "",
    driver_target: str = LOCAL,
    properties: Mapping[str, str] | None = None,
) -> tuple[Run, list[Run]]:
    """Create a pipeline run and its steps (child runs of type ``step``, NotStarted)
    in one transaction. ``steps`` items: name, script, arguments, compute_target,
    after, properties. The pipeline's ``properties`` hold its options (the driver
    reads ``azureml.continue_on_step_failure``). The caller uploads each step's snapshot, then starts the driver: itself on
    the ``local`` target, else ``run_enqueue`` queues the pipeline on
    ``driver_target`` for one of its workers to drive."""
    check_steps([(step["name"], step.get("after", ())) for step in steps])
    with transaction.atomic():
        pipeline = run_submit(
            experiment=experiment,
            submitted_by=submitted_by,
            script="",
            compute_target=driver_target,
            type=RunType.PIPELINE,
            tags=tags,
        )
        if description:
            tracking.run_update(run=pipeline, description=description)
        if properties:
            tracking.run_add_properties(run=pipeline, properties=properties)
        runs = [
            run_submit(
                experiment=experiment,
                submitted_by=submitted_by,
                script=step["script"],
                arguments=step.get("arguments", ()),
                compute_target=step.get("compute_target", LOCAL),
                parent=pipeline,
                type=RunType.STEP,
                display_name=step["name"],
                step_name=step["name"],
                after=step.get("after", ()),
            )
            for step in steps
        ]
        for run, step in zip(runs, steps, strict=True):
            if step.get("properties"):
                tracking.run_add_properties(run=run, properties=step["properties"])
    return pipeline, runs


def run_enqueue(*, run: Run) -> Run:
    """A run on a named target waits Queued for a worker; a local one is started by
    the caller (it spawns the supervisor) and stays NotStarted until that starts it."""
    if run.compute_target == LOCAL:
        return run
    return tracking.run_transition(run=run, status=RunStatus.QUEUED, reason="waiting for a worker")


def run_claim(
    *, workspace: Workspace | None, target: str, worker: str, types: Sequence[str] = ()
) -> Run | None:
    """Claim the oldest queued run of ``target`` (of one of ``types``, if given) for
    ``worker``: exactly one worker wins each run. PostgreSQL: ``SELECT … FOR UPDATE
    SKIP LOCKED``. SQLite has no row locks (``select_for_update`` does nothing
    there): the IMMEDIATE transaction holds the database write lock. Either way the
    status changes through ``run_transition`` (its conditional UPDATE, from Queued
    only)."""
    # A run back in Queued while its Slurm job waits is Slurm's, not to be claimed again.
    queued = Run.objects.filter(
        status=RunStatus.QUEUED, compute_target=target, execution__slurm_job_id=""
    )
    if workspace is not None:
        queued = queued.filter(workspace=workspace)
    if types:
        queued = queued.filter(type__in=types)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidate = (
                queued.select_for_update(skip_locked=True).order_by("created_at", "id").first()
            )
        else:
            candidate = queued.order_by("created_at", "id").first()
        if candidate is None:
            return None
        try:
            tracking.run_transition(
                run=candidate,
                status=RunStatus.PREPARING,
                reason=f"claimed by {worker}"[:255],
                only_from=RunStatus.QUEUED,
            )
        except InvalidTransition:
            return None
        Execution.objects.update_or_create(
            run=candidate, defaults={"worker": worker, "claimed_at": candidate.status_changed_at}
        )
    return candidate


BEAT_KEEP_SECONDS = 24 * 3600


def worker_beat(*, workspace: Workspace, target: str, worker: str) -> None:
    """``worker`` (``host:target:pid:started``) is polling ``target``: its row's last
    seen time, for the Compute page (idle workers included; a target first named by
    its worker is created, as by its first run). Rows of the workspace not seen for a
    day go at the same time."""
    from datetime import timedelta

    from django.utils import timezone

    from studio.execution.models import WorkerBeat

    worker = validation.text(worker, "worker", max_length=255, allow_empty=False)
    if compute_target_check(target) == LOCAL:
        raise ValidationError(
            "'local' is the submitting machine: no worker serves it.", field="target"
        )
    if not ComputeTarget.objects.filter(workspace=workspace, name=target).exists():
        compute_target_get_or_create(workspace=workspace, name=target)  # shown from now on
    now = timezone.now()
    WorkerBeat.objects.update_or_create(
        workspace=workspace,
        target=target,
        worker=worker,
        defaults={"host": worker.split(":", 1)[0], "last_seen": now},
    )
    WorkerBeat.objects.filter(
        workspace=workspace, last_seen__lt=now - timedelta(seconds=BEAT_KEEP_SECONDS)
    ).delete()


def run_claim_over_api(
    *,
    workspace: Workspace,
    target: str,
    worker: str,
    types: Sequence[str] = (),
    claim: bool = True,
    bridge: bool = False,
) -> tuple[Run, dict[str, str]] | None:
    """A worker that reaches the studio over its API (no database), or a Slurm bridge
    (``bridge``: on a slurm target only, and only a bridge there), claims a run:
    ``run_claim``, and the tokens its supervisor and job report with
    (``run_job_tokens``). A run whose submitter can no longer write to the workspace
    fails at once (start_failed) and the next one is claimed. Records the worker's
    heartbeat first (``worker_beat``); with ``claim`` false, only that."""
    from studio.errors import PermissionDenied

    compute_target_check(target)
    unknown = set(types) - {RunType.SCRIPT, RunType.STEP, RunType.PIPELINE}
    if unknown:
        raise ValidationError(f"Unknown run types {sorted(unknown)}.", field="types")
    kind = ComputeTarget.objects.filter(workspace=workspace, name=target).values_list("kind")
    slurm_target = kind.first() == (ComputeKind.SLURM,)
    if slurm_target and not bridge:
        raise ValidationError(
            f"{target!r} is a slurm target: its runs are submitted to Slurm by its bridge "
            "(`studio worker --target` on a login node), which claims with bridge=true.",
            field="target",
        )
    if bridge and not slurm_target:
        raise ValidationError(
            f"{target!r} is not a slurm target: only a slurm target has a bridge.",
            field="target",
        )
    worker_beat(workspace=workspace, target=target, worker=worker)
    while claim:
        run = run_claim(workspace=workspace, target=target, worker=worker, types=types)
        if run is None:
            return None
        try:
            return run, run_job_tokens(run=run)
        except PermissionDenied as exc:
            try:
                tracking.run_transition(
                    run=run,
                    status=RunStatus.FAILED,
                    reason="start_failed",
                    error={"message": exc.message, "code": "start_failed"},
                )
            except InvalidTransition:
                pass
    return None


def run_job_tokens(*, run: Run) -> dict[str, str]:
    """The tokens a claimed run's supervisor and job report with: its submitter's,
    narrowed to the run and its descendants (``token``), and the same as an Azure ML
    v1 client takes it (``azureml_token``). PermissionDenied when the submitter may
    no longer write to the workspace."""
    from studio.accounts.services import run_token_create
    from studio.compat.azureml import tokens as azureml_tokens

    token = run_token_create(run=run)
    return {"token": token, "azureml_token": azureml_tokens.mint_for_secret(token)}


def execution_record(*, run: Run, **fields: Any) -> None:
    allowed = {
        "worker",
        "host",
        "supervisor_pid",
        "supervisor_started",
        "pgid",
        "script_started",
        "exit_code",
        "signal",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"Unknown execution fields {sorted(unknown)}.", field="execution")
    Execution.objects.update_or_create(run=run, defaults=fields)


def slurm_job_record(*, run: Run, job_id: str) -> None:
    """The run's Slurm job, set once: a second job id for the same run is refused
    (the claim let one bridge submit it; a second sbatch would run it twice)."""
    if not job_id.isdigit():
        raise ValidationError(f"{job_id!r} is not a Slurm job id.", field="slurm_job_id")
    updated = Execution.objects.filter(run=run, slurm_job_id="").update(slurm_job_id=job_id)
    if not updated:
        current = Execution.objects.filter(run=run).values_list("slurm_job_id", flat=True).first()
        if current != job_id:
            raise Conflict(
                f"Run {run.run_id} already has Slurm job {current}; it is never changed.",
                field="slurm_job_id",
            )


def run_slurm_pending(*, run: Run, reason: str) -> bool:
    """The run's job waits in Slurm's queue: the run shows Queued with Slurm's pending
    reason (from Preparing, where the claim left it, or while it stays Queued). Not a
    status the lease covers: nothing heartbeats a pending job. False when the run
    moved on (its supervisor started, or it was cancelled)."""
    reason = reason[:255]
    if run.status == RunStatus.PREPARING:
        try:
            tracking.run_transition(
                run=run, status=RunStatus.QUEUED, reason=reason, only_from=RunStatus.PREPARING
            )
            return True
        except InvalidTransition:
            return False
    # Only the reason changes (not the status): the transition table is not involved.
    return bool(
        Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED)
        .exclude(status_reason=reason)
        .update(status_reason=reason)
    )


def heartbeat_every() -> float:
    """Seconds between two heartbeats of a supervisor or a pipeline driver: well
    inside the lease, whatever the lease is set to."""
    return max(0.2, min(5.0, liveness.lease_seconds() / 4))


def stop_leftovers_here(run: Run) -> None:
    """A lost run's script may have left processes (its supervisor died, taking the
    script along, but not what the script started): stop them if they run on this
    machine; a restarted worker on theirs does it otherwise. Called by tracking's
    reaper for each run it marks lost (registered in ``ExecutionConfig.ready``)."""
    import socket

    from studio.execution.supervisor import stop_leftovers

    record = Execution.objects.filter(run=run, host=socket.gethostname()).first()
    if record is not None and record.pgid:
        stop_leftovers(pgid=record.pgid, run_id=run.run_id, script_started=record.script_started)


def steps_of(*, pipeline: Run) -> list[Run]:
    return list(
        Run.objects.filter(parent=pipeline, type=RunType.STEP)
        .select_related("execution")
        .order_by("number")
    )


def is_active(status: str) -> bool:
    return status not in transitions.TERMINAL and status not in (
        RunStatus.NOT_STARTED,
        RunStatus.QUEUED,
    )


# --- a supervisor that reports over the API (the local target of a remote studio) ---

# What such a supervisor or driver may set: the statuses a process taking a run
# through its life sets. Cancel goes through ``run_cancel``; Canceled is reported only
# for a run nothing runs (NotStarted, Queued) or once its processes are gone.
REPORTED = (
    RunStatus.PREPARING,  # building the run's environment
    RunStatus.STARTING,
    RunStatus.RUNNING,
    RunStatus.FINALIZING,
    RunStatus.COMPLETED,
    RunStatus.FAILED,
    RunStatus.CANCELED,
)
_CANCELED_FROM = (RunStatus.NOT_STARTED, RunStatus.QUEUED, RunStatus.CANCEL_REQUESTED)
MAX_LOG_CHUNK = 1 << 20


def _check_error(error: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A run's error as a supervisor reports it: message, code, and optionally the
    exit code and the last lines of stderr."""
    if error is None:
        return None
    unknown = set(error) - {"message", "code", "exit_code", "stderr"}
    if unknown:
        raise ValidationError(f"Unknown error fields {sorted(unknown)}.", field="error")
    clean: dict[str, Any] = {
        "message": validation.text(error.get("message", ""), "error.message", max_length=10_000),
        "code": validation.text(error.get("code", ""), "error.code", max_length=100),
    }
    if "stderr" in error:
        clean["stderr"] = validation.text(error["stderr"], "error.stderr", max_length=10_000)
    if "exit_code" in error:
        code = error["exit_code"]
        if not isinstance(code, int) or isinstance(code, bool):
            raise ValidationError("error.exit_code must be an integer.", field="error.exit_code")
        clean["exit_code"] = code
    return clean


def run_report_status(
    *, run: Run, status: str, reason: str = "", error: Mapping[str, Any] | None = None
) -> Run:
    """A status change reported by the process that runs ``run`` elsewhere (a
    supervisor or a pipeline driver on the submitting machine), through the one
    transition table."""
    if status not in REPORTED:
        raise ValidationError(
            f"A supervisor reports one of {', '.join(REPORTED)}, not {status!r}.", field="status"
        )
    error = _check_error(error)
    if status == RunStatus.CANCELED:
        for source in _CANCELED_FROM:
            try:
                return tracking.run_transition(
                    run=run, status=status, reason=reason, error=error, only_from=source
                )
            except InvalidTransition:
                continue
        run.refresh_from_db()
        raise InvalidTransition.between(run.run_id, run.status, status)
    return tracking.run_transition(run=run, status=status, reason=reason, error=error)


def live_log_append(*, run: Run, offset: int, data: bytes) -> int:
    """Append ``data`` to the run's live log at ``offset`` (the size its sender knows
    it has); returns the log's size. A chunk sent again (its bytes are already there)
    changes nothing; one that would leave a gap is refused. Stored as a chunk of the
    log (``tracking.run_live_log_append``), on the local disk or in a bucket."""
    from studio.errors import PayloadTooLarge

    if len(data) > MAX_LOG_CHUNK:
        raise PayloadTooLarge(
            f"Send the log in chunks of at most {MAX_LOG_CHUNK} bytes.", field="data"
        )
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError("offset must be a non-negative integer.", field="offset")
    return tracking.run_live_log_append(run=run, offset=offset, data=data)


def _check_supervisor(run: Run, username: str) -> None:
    """Only the submitter of a local script or step run supervises it."""
    from studio.errors import PermissionDenied

    if run.compute_target != LOCAL or run.type not in (RunType.SCRIPT, RunType.STEP):
        raise ValidationError(
            "Only a script or step run on the local target is supervised by its submitter; "
            "a worker mints its jobs' tokens.",
            field="compute_target",
        )
    if username != run.submitted_by:
        raise PermissionDenied(
            f"Only {run.submitted_by!r}, who submitted run {run.run_id}, supervises it.",
            field="run_id",
        )


def job_token_create(*, run: Run, username: str) -> dict[str, str]:
    """The tokens the job of a ``local`` run supervised on its submitter's machine
    reports with, minted for the submitter only while the run has not ended:
    ``token`` (Studio's API) and ``azureml_token``, the JWT naming it that
    azureml-core inside the job sends (``studio.compat.azureml``)."""
    from studio.accounts.services import run_token_create
    from studio.compat.azureml import tokens as azureml_tokens

    _check_supervisor(run, username)
    if run.status in transitions.TERMINAL:
        raise InvalidTransition(
            f"Run {run.run_id} is {run.status}: its job has ended.", field="status"
        )
    token = run_token_create(run=run)
    return {"token": token, "azureml_token": azureml_tokens.mint_for_secret(token)}


def job_tokens_revoke(*, run: Run, username: str, own_token: bool = False) -> int:
    """End the tokens of the run's job: by the submitter's supervisor of a local run,
    or (``own_token``) through a token scoped to this very run (a worker's supervisor,
    which reports with the token its job has)."""
    from studio.accounts.services import run_tokens_revoke

    if not own_token:
        _check_supervisor(run, username)
    return run_tokens_revoke(run=run)
