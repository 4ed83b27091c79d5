"""What a Slurm bridge asks of the studio and tells it, as services.

A bridge (``studio.execution.bridge``) decides; these read and change what its
decisions are about. It calls them in-process when it runs with the database's
settings, and through the API routes of ``studio/api/execution.py`` when it has only
a worker token (``STUDIO_TOKEN``) on a login node that cannot reach the database.
Both act through the same functions, on the same conditions:

- ``bridge_sync``: one poll. The bridge's heartbeat, the runs of the target whose
  Slurm job it must watch, the claims left by bridges that may have died, and the
  statuses of runs it asks about. Ages are the server's (seconds since a status
  change or a claim), so a login node's clock never decides a backstop.
- ``bridge_report``: one thing the bridge saw about one run of the target: its job
  was submitted (the job id, set once), the job is pending (Slurm's reason), the job
  ended without its supervisor (the run ends, only from the status the bridge saw),
  or a dead bridge's claim is taken over (with a token for the job).

Only runs on a ``slurm`` target of the workspace are reachable here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q
from django.utils import timezone

from studio.errors import InvalidTransition, NotFound, ValidationError
from studio.execution import services as execution
from studio.execution.bridge import MAX_ASKED
from studio.execution.models import ComputeKind, ComputeTarget, Execution
from studio.rules import validation
from studio.rules.transitions import ACTIVE, TERMINAL
from studio.tracking import services as tracking
from studio.tracking.models import Run, RunStatus, Workspace

ACTIONS = ("submitted", "pending", "end", "take_over")
END_STATUSES = (RunStatus.FAILED, RunStatus.CANCELED)


def slurm_target_check(*, workspace: Workspace, target: str) -> str:
    """``target`` if it is a slurm target of ``workspace``; else a clear error."""
    target = execution.compute_target_check(target)
    kind = ComputeTarget.objects.filter(workspace=workspace, name=target).values_list("kind")
    if kind.first() != (ComputeKind.SLURM,):
        raise ValidationError(
            f"{target!r} is not a slurm target of {workspace.name!r}: "
            "only a slurm target has a Slurm bridge.",
            field="target",
        )
    return target


def _names(values: object, what: str) -> list[str]:
    if not isinstance(values, (list, tuple)) or len(values) > MAX_ASKED:
        raise ValidationError(f"{what} must be a list of at most {MAX_ASKED}.", field=what)
    return [validation.text(v, what, max_length=255) for v in values]


def _seconds_since(moment, now) -> float | None:
    return None if moment is None else round((now - moment).total_seconds(), 3)


def bridge_sync(
    *,
    workspace: Workspace,
    target: str,
    worker: str,
    live: Sequence[str] = (),
    named: Sequence[str] = (),
    ask: Sequence[str] = (),
) -> dict[str, Any]:
    """One poll of ``worker``, a bridge of ``target``: its heartbeat (the Compute
    page), and

    - ``watch``: every run of the target with a Slurm job that has not ended, or whose
      job is among ``live`` (Slurm still runs it: a run that ended may need its job
      stopped);
    - ``orphans``: runs claimed by another bridge and no job recorded: those whose job
      name is among ``named`` (Slurm has the job: to be recorded) and those still
      going without one (to be submitted by whoever takes the claim over);
    - ``statuses``: the status of each run of ``ask``.
    """
    target = slurm_target_check(workspace=workspace, target=target)
    live, named, ask = _names(live, "live"), _names(named, "named"), _names(ask, "ask")
    execution.worker_beat(workspace=workspace, target=target, worker=worker)
    now = timezone.now()
    records = Execution.objects.filter(run__workspace=workspace, run__compute_target=target)
    fields = ("run__run_id", "run__status", "run__status_changed_at", "run__ended_at")
    watched = (
        records.exclude(slurm_job_id="")
        .filter(Q(run__status__in=(RunStatus.QUEUED, *ACTIVE)) | Q(slurm_job_id__in=live))
        .values_list("slurm_job_id", *fields)
    )
    watch = [
        {
            "run_id": run_id,
            "job_id": job_id,
            "status": status,
            "status_age": _seconds_since(changed, now),
            "ended_age": _seconds_since(ended or changed, now),
        }
        for job_id, run_id, status, changed, ended in watched
    ]
    unrecorded = records.filter(slurm_job_id="").exclude(worker__in=(worker, ""))
    left = unrecorded.filter(
        Q(run__run_id__in=named) | (Q(run__status__in=ACTIVE) & ~Q(run__run_id__in=named))
    ).values_list("run__run_id", "run__status", "worker", "claimed_at")
    orphans = [
        {
            "run_id": run_id,
            "status": status,
            "worker": claimer,
            "claimed_age": _seconds_since(claimed, now),
        }
        for run_id, status, claimer, claimed in left
    ]
    statuses = dict(
        Run.objects.filter(workspace=workspace, run_id__in=ask).values_list("run_id", "status")
    )
    return {"watch": watch, "orphans": orphans, "statuses": statuses}


def _run_of(*, workspace: Workspace, target: str, run_id: str) -> Run:
    run = Run.objects.filter(workspace=workspace, compute_target=target, run_id=run_id).first()
    if run is None:
        raise NotFound(f"No run {run_id!r} on target {target!r}.", field="run_id")
    return run


def bridge_report(
    *,
    workspace: Workspace,
    target: str,
    worker: str,
    run_id: str,
    action: str,
    job_id: str = "",
    reason: str = "",
    status: str = "",
    from_status: str = "",
    message: str = "",
    code: str = "",
    from_worker: str = "",
) -> dict[str, Any]:
    """One thing bridge ``worker`` saw about run ``run_id`` of ``target``:

    - ``submitted``: Slurm took its job ``job_id`` (set once; the run shows Queued with
      ``reason`` while it is still only claimed);
    - ``pending``: its job waits in Slurm's queue for ``reason``;
    - ``end``: its job is gone and its supervisor never reported: the run ends
      ``status`` (Failed or Canceled) with ``reason`` and, when Failed, an error of
      ``message`` and ``code`` — only from ``from_status``, the status the bridge saw
      (a supervisor's report that came meanwhile wins); its job's tokens end with it;
    - ``take_over``: the claim ``from_worker`` left without a job becomes ``worker``'s
      (a conditional UPDATE: one bridge wins), with a token for the job when the run
      still waits to be submitted.
    """
    target = slurm_target_check(workspace=workspace, target=target)
    if action not in ACTIONS:
        raise ValidationError(f"action must be one of {', '.join(ACTIONS)}.", field="action")
    run = _run_of(workspace=workspace, target=target, run_id=run_id)
    reason = validation.text(reason, "reason", max_length=1000)[:255]
    if action == "submitted":
        execution.slurm_job_record(run=run, job_id=job_id)
        pending = execution.run_slurm_pending(
            run=run, reason=reason or f"Slurm job {job_id} submitted"
        )
        return {"recorded": True, "queued": pending}
    if action == "pending":
        return {"changed": execution.run_slurm_pending(run=run, reason=reason or "waiting")}
    if action == "end":
        return {"ended": _end(run, status, from_status, reason, message, code)}
    taken = Execution.objects.filter(
        run=run, worker=validation.text(from_worker, "from_worker", max_length=255), slurm_job_id=""
    ).update(worker=worker, claimed_at=timezone.now())
    if not taken:
        return {"taken": False}
    run.refresh_from_db(fields=["status"])
    if run.status != RunStatus.PREPARING:
        return {"taken": True, "token": None}
    return {"taken": True, **execution.run_job_tokens(run=run)}


def _end(run: Run, status: str, from_status: str, reason: str, message: str, code: str) -> bool:
    from studio.accounts.services import run_tokens_revoke

    if status not in END_STATUSES:
        raise ValidationError("A bridge ends a run Failed or Canceled.", field="status")
    if from_status not in RunStatus.values or from_status in TERMINAL:
        raise ValidationError(
            "from_status must be the status the run was seen in, not an end.", field="from_status"
        )
    error = None
    if status == RunStatus.FAILED:
        text = validation.text(message, "message", max_length=2000)
        error = {"message": text, "code": validation.text(code, "code", max_length=64) or reason}
    try:
        tracking.run_transition(
            run=run, status=status, reason=reason, error=error, only_from=from_status
        )
    except InvalidTransition:
        return False
    run_tokens_revoke(run=run)  # nothing of its job may report any more
    return True
