"""The Slurm bridge: ``studio worker --target NAME`` on a ``slurm`` target, run on a
Slurm login node.

It claims the target's queued script and step runs with the same claim as a queue
worker (one conditional UPDATE: exactly one bridge wins each run, so each run is
``sbatch``'ed once however many bridges serve the target) and submits each as a
Slurm job (``sbatch --parsable``, the batch script on stdin) that runs Studio's own
supervisor on the compute node: heartbeats, live log, outputs, exit code → status
and the cancel protocol are the supervisor's, as for any other run. The job id is
recorded on the run once (``Execution.slurm_job_id``); while the job waits in
Slurm's queue the run shows Queued with Slurm's pending reason. The job reaches the
studio over its API only, with a token minted for its run (``--client --run-token``):
its environment carries neither DATABASE_URL nor STUDIO_HOME (``job_environment``).

Then it watches, every poll, with one ``scontrol show job`` for all jobs:

- a cancel the supervisor did not answer within the grace period (or a run
  cancelled while its job still waits in Slurm's queue) → ``scancel``;
- a job that ended while its run had not (preempted, node failure, time limit,
  ``scancel`` by hand, a supervisor that could not start) → the run ends Failed with
  the Slurm state as its reason (``TIMEOUT``, ``NODE_FAIL``, ``PREEMPTED``,
  ``CANCELLED by user``); ``sacct`` gives the final state where accounting exists.

A bridge holds no state a restarted one needs: every bridge of the target watches
every job of it, so one killed (even with SIGKILL) and started again adopts its
runs; a run it had claimed but not yet recorded a job for is found by its job name
(``studio-RUN_ID``), never submitted twice. Pipelines queued on the target are
driven here (the driver is light), each of their steps a job of its own.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path

from studio.execution import slurm

BACKSTOP_MARGIN = 5.0  # seconds past the cancel grace before the bridge scancels
UNKNOWN_POLLS = 3  # polls a job may be missing from scontrol before its run fails
ORPHAN_CLAIM_SECONDS = 30.0  # a claim without a job, by a bridge on another host


def _log(text: str) -> None:
    print(text, flush=True)


class Bridge:
    def __init__(
        self,
        *,
        workspace,
        target: str,
        me: str,
        server: str,
        output_dir: Path,
        run_as: str = "",
    ):
        self.ws = workspace
        self.target = target
        self.me = me
        self.server = server
        self.output_dir = output_dir
        self.run_as = run_as
        self.unknown: dict[str, int] = {}
        self.grace = float(os.environ.get("STUDIO_CANCEL_GRACE_SECONDS") or 10)

    # --- submitting -------------------------------------------------------------------

    def settings(self) -> dict:
        from studio.execution.models import ComputeTarget

        found = ComputeTarget.objects.filter(workspace=self.ws, name=self.target).first()
        return dict(found.slurm) if found is not None else {}

    def submit(self, run) -> str | None:
        """sbatch the claimed ``run``; its job id, or None when Slurm refused it (the
        run then fails with sbatch's message)."""
        from studio.accounts.services import run_token_create
        from studio.compat.azureml import tokens
        from studio.errors import PermissionDenied
        from studio.execution import services as execution

        try:  # the job reports over the API with its run's own token, like any worker's
            token = run_token_create(run=run)
        except PermissionDenied as exc:
            self._end(run, run.status, "start_failed", exc.message)
            return None
        args = ["--client", "--run-token", "--worker", self.me, "--server", self.server]
        if self.run_as:  # the job (submitted by root) starts the script as that user
            args += ["--run-as", self.run_as]
        script = slurm.batch_script(sys.executable, run.run_id, args)
        output = str(self.output_dir / f"{run.run_id}-%j.out")
        env = job_environment(token=token, azureml_token=tokens.mint_for_secret(token))
        try:
            job_id = slurm.submit(
                self.settings(), run_id=run.run_id, output=output, script=script, env=env
            )
        except slurm.SlurmError as exc:
            _log(f"sbatch refused {run.run_id}: {exc}")
            self._end(run, run.status, "start_failed", f"Slurm refused the job: {exc}")
            return None
        execution.slurm_job_record(run=run, job_id=job_id)
        run.refresh_from_db()
        execution.run_slurm_pending(run=run, reason=f"Slurm job {job_id} submitted")
        _log(f"submitted {run.run_id} as Slurm job {job_id}")
        return job_id

    def recover_claims(self, jobs: dict[str, slurm.Job]) -> None:
        """Runs claimed by a bridge that died between its claim and recording the job:
        the job Slurm has under the run's name is recorded (its supervisor may have
        started the run already); none, and the run is still only claimed → submitted
        now, by whichever bridge takes the claim over first (a conditional UPDATE)."""
        from django.utils import timezone

        from studio.execution import services as execution
        from studio.execution.models import Execution
        from studio.rules.transitions import ACTIVE
        from studio.tracking.models import RunStatus

        by_name = {job.name: job for job in jobs.values()}
        named = [name[len(slurm.job_name("")) :] for name in by_name]
        # A job of the run's name: recorded, even when the run has already ended (its
        # supervisor may have run it to the end before any bridge looked).
        orphans = Execution.objects.filter(
            run__workspace=self.ws, run__compute_target=self.target, slurm_job_id=""
        ).exclude(worker__in=(self.me, ""))
        for record in orphans.filter(run__run_id__in=named).select_related("run"):
            if _bridge_alive(record.worker, record.claimed_at, timezone.now()):
                continue
            found = by_name[slurm.job_name(record.run.run_id)]
            execution.slurm_job_record(run=record.run, job_id=found.job_id)
            _log(f"adopted {record.run.run_id}: its Slurm job {found.job_id} was submitted")
        # None, and the run is still only claimed: submitted now, by whichever bridge
        # takes the claim over first (a conditional UPDATE).
        claimed = orphans.filter(run__status__in=ACTIVE).exclude(run__run_id__in=named)
        for record in claimed.select_related("run"):
            if _bridge_alive(record.worker, record.claimed_at, timezone.now()):
                continue
            if record.run.status != RunStatus.PREPARING:
                continue  # started, yet no job of its name: the lease decides
            taken = Execution.objects.filter(
                pk=record.pk, worker=record.worker, slurm_job_id=""
            ).update(worker=self.me)
            if taken:
                _log(f"took over the claim of {record.run.run_id} from {record.worker}")
                self.submit(record.run)

    # --- watching ---------------------------------------------------------------------

    def watch(self) -> dict[str, slurm.Job] | None:
        """One look at every job of the target; returns the jobs (None: Slurm did
        not answer, nothing was decided)."""
        from django.db.models import Q

        from studio.execution.models import Execution
        from studio.rules.transitions import ACTIVE
        from studio.tracking.models import RunStatus

        try:
            jobs = slurm.jobs()  # before reading the runs: their statuses are newer
        except slurm.SlurmError as exc:
            _log(f"Slurm did not answer: {exc}")
            return None
        live = [j.job_id for j in jobs.values() if j.live and j.name.startswith("studio-")]
        records = (
            Execution.objects.filter(run__workspace=self.ws, run__compute_target=self.target)
            .exclude(slurm_job_id="")
            .filter(Q(run__status__in=(RunStatus.QUEUED, *ACTIVE)) | Q(slurm_job_id__in=live))
            .select_related("run")
        )
        for record in records:
            self.check(record.run, record.slurm_job_id, jobs.get(record.slurm_job_id))
        return jobs

    def check(self, run, job_id: str, job: slurm.Job | None) -> None:
        from django.utils import timezone

        from studio.rules.transitions import TERMINAL
        from studio.tracking.models import RunStatus

        status = run.status
        now = timezone.now()
        if job is None:
            if status in TERMINAL:
                return
            self.unknown[job_id] = self.unknown.get(job_id, 0) + 1
            if self.unknown[job_id] >= UNKNOWN_POLLS:
                state = slurm.sacct_state(job_id) or "UNKNOWN"
                self._ended(run, status, job_id, state, "is no longer known to Slurm")
            return
        self.unknown.pop(job_id, None)
        if status in TERMINAL:
            # The run ended; its job should have too. A pending one never needs to
            # start; a running one whose supervisor is stuck is stopped after the grace.
            ended = run.ended_at or run.status_changed_at
            if job.pending or (job.live and now - ended > self._backstop()):
                self._scancel(job_id, f"{run.run_id} is {status}")
            return
        if job.pending:
            if status == RunStatus.CANCEL_REQUESTED:
                self._scancel(job_id, f"{run.run_id} was cancelled while its job waited")
                self._transition(run, status, RunStatus.CANCELED, "canceled before its job started")
            elif status in (RunStatus.QUEUED, RunStatus.PREPARING):
                from studio.execution import services as execution

                reason = job.reason if job.reason not in ("", "None") else "waiting"
                execution.run_slurm_pending(
                    run=run, reason=f"Slurm job {job_id} pending ({reason})"
                )
            return
        if job.live:
            if (
                status == RunStatus.CANCEL_REQUESTED
                and now - run.status_changed_at > self._backstop()
            ):
                self._scancel(job_id, f"the supervisor of {run.run_id} did not answer the cancel")
            return
        # The job ended and its run did not: the supervisor never reported.
        if status == RunStatus.CANCEL_REQUESTED:
            self._transition(
                run, status, RunStatus.CANCELED, f"canceled (Slurm job {job.state})"[:255]
            )
            return
        state = slurm.sacct_state(job_id) or job.state
        self._ended(run, status, job_id, state, f"ended {state}")

    def _backstop(self) -> timedelta:
        return timedelta(seconds=self.grace + BACKSTOP_MARGIN)

    def _ended(self, run, status: str, job_id: str, state: str, what: str) -> None:
        reason = slurm.ended_reason(state, by_studio=False)
        message = (
            f"Slurm job {job_id} {what} before its supervisor reported an end "
            f"(Slurm state: {state})."
        )
        if self._end(run, status, reason, message, code="slurm_job_ended"):
            _log(f"{run.run_id}: Slurm job {job_id} {what}: run Failed ({reason})")

    def _end(self, run, status: str, reason: str, message: str, code: str = "") -> bool:
        from studio.accounts.services import run_tokens_revoke
        from studio.tracking.models import RunStatus

        error = {"message": message, "code": code or reason}
        ended = self._transition(run, status, RunStatus.FAILED, reason, error)
        if ended:
            run_tokens_revoke(run=run)
        return ended

    @staticmethod
    def _transition(run, status: str, new: str, reason: str, error=None) -> bool:
        """From the status this bridge saw only: a supervisor's report that came in
        meanwhile wins."""
        from studio.errors import InvalidTransition
        from studio.tracking import services as tracking

        try:
            tracking.run_transition(
                run=run, status=new, reason=reason[:255], error=error, only_from=status
            )
            return True
        except InvalidTransition:
            return False

    @staticmethod
    def _scancel(job_id: str, why: str) -> None:
        try:
            slurm.cancel(job_id)
            _log(f"scancel {job_id}: {why}")
        except slurm.SlurmError as exc:
            _log(f"scancel {job_id} failed: {exc}")


# What a Slurm job gets of the bridge's environment (sbatch --export=ALL exports what
# sbatch is started with): the supervisor's allowlist, Slurm's and munge's own
# settings, the studio's timing settings. Never DATABASE_URL, STUDIO_HOME, the
# secret key or a bucket's credentials: the job reaches the studio over its API.
JOB_SETTINGS = ("STUDIO_CANCEL_GRACE_SECONDS", "STUDIO_RUN_LEASE_SECONDS")


def job_environment(*, token: str, azureml_token: str) -> dict[str, str]:
    """The environment ``sbatch`` runs with, which the job inherits."""
    from studio.core.spawn import python_path
    from studio.execution.supervisor import ENV_ALLOW

    env = {
        k: v
        for k, v in os.environ.items()
        if (k in ENV_ALLOW and k != "STUDIO_HOME")
        or k in JOB_SETTINGS
        or k.startswith(("SLURM_", "MUNGE_", "LC_"))
    }
    env.update(PYTHONPATH=python_path(), STUDIO_TOKEN=token, STUDIO_AZUREML_TOKEN=azureml_token)
    return env


def _bridge_alive(worker: str, claimed_at, now) -> bool:
    """Whether the bridge ``host:target:pid:started`` that claimed a run may still
    record its job: on this host, its process (same pid, started then); elsewhere,
    within ORPHAN_CLAIM_SECONDS of the claim."""
    import psutil

    parts = worker.split(":")
    if len(parts) < 4 or parts[0] != socket.gethostname():
        return claimed_at is not None and (now - claimed_at).total_seconds() < ORPHAN_CLAIM_SECONDS
    try:
        pid, started = int(parts[-2]), int(parts[-1])
        created = psutil.Process(pid).create_time()
    except (ValueError, psutil.Error):
        return False
    return created <= started + 1 and started - created < 300


def serve(
    *,
    workspace,
    target: str,
    server: str,
    me: str,
    drivers: int = 2,
    poll: float = 1.0,
    max_runs: int | None = None,
    output_dir: str | None = None,
    run_as: str = "",
) -> int:
    """Bridge ``target`` of ``workspace`` to Slurm until interrupted (or, with
    ``max_runs``, until that many runs were submitted and have ended)."""
    from django.conf import settings

    from studio.execution import services as execution
    from studio.execution.launch import spawn
    from studio.execution.models import Execution
    from studio.rules.transitions import TERMINAL
    from studio.tracking.models import RunType

    folder = Path(output_dir or Path(settings.STUDIO_HOME) / "slurm-jobs")
    folder.mkdir(parents=True, exist_ok=True)
    bridge = Bridge(
        workspace=workspace,
        target=target,
        me=me,
        server=server,
        output_dir=folder,
        run_as=run_as,
    )
    adopted = (
        Execution.objects.filter(run__workspace=workspace, run__compute_target=target)
        .exclude(slurm_job_id="")
        .exclude(run__status__in=TERMINAL)
        .count()
    )
    _log(
        f"studio worker {me}: bridging target {target!r} of {workspace.name!r} to Slurm"
        + (f"; adopted {adopted} run(s) with a Slurm job" if adopted else "")
    )
    pipelines: dict[str, object] = {}
    submitted: list[str] = []
    try:
        while True:
            for run_id, proc in list(pipelines.items()):
                if proc.poll() is not None:
                    del pipelines[run_id]
                    _log(f"finished {run_id}")
            execution.worker_beat(workspace=workspace, target=target, worker=me)
            while len(pipelines) < drivers:
                run = execution.run_claim(
                    workspace=workspace, target=target, worker=me, types=(RunType.PIPELINE,)
                )
                if run is None:
                    break
                _log(f"claimed {run.run_id}")
                pipelines[run.run_id] = spawn(
                    "studio.execution.pipeline", run.run_id, detached=False, die_with_parent=True
                )
            while max_runs is None or len(submitted) < max_runs:
                run = execution.run_claim(
                    workspace=workspace,
                    target=target,
                    worker=me,
                    types=(RunType.SCRIPT, RunType.STEP),
                )
                if run is None:
                    break
                _log(f"claimed {run.run_id}")
                bridge.submit(run)
                submitted.append(run.run_id)
            jobs = bridge.watch()
            if jobs is not None:
                bridge.recover_claims(jobs)
            if max_runs is not None and len(submitted) >= max_runs and not pipelines:
                from studio.tracking.models import Run

                ended = Run.objects.filter(run_id__in=submitted, status__in=TERMINAL).count()
                if ended == len(submitted):
                    return 0
            time.sleep(poll)
    except KeyboardInterrupt:
        # The jobs run on in Slurm; the next bridge of the target watches them.
        return 130
