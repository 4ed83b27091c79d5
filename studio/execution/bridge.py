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
driven here (the driver is light, and reports over the API with its run's token),
each of their steps a job of its own.

The bridge decides; what it reads and changes goes through a port to the services
of ``studio.execution.bridging``: ``DatabasePort`` calls them in-process (a login
node with the database's settings), ``ApiPort`` through the studio's API with only a
worker token (``STUDIO_TOKEN``), so a login node needs nothing but the studio's URL.
Both reach the same functions on the same conditions.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from studio.execution import slurm

BACKSTOP_MARGIN = 5.0  # seconds past the cancel grace before the bridge scancels
UNKNOWN_POLLS = 3  # polls a job may be missing from scontrol before its run fails
ORPHAN_CLAIM_SECONDS = 30.0  # a claim without a job, by a bridge on another host
MAX_ASKED = 10_000  # job ids, job names or run ids one poll may name


def _log(text: str) -> None:
    print(text, flush=True)


RUN_TYPES = ("script", "step")
PIPELINE_TYPES = ("pipeline",)


class Port(Protocol):
    """What a bridge asks of the studio and tells it (``studio.execution.bridging``)."""

    def settings(self) -> dict: ...
    def claim(self, types: tuple[str, ...]) -> tuple[str, dict] | None: ...
    def sync(self, *, live: list[str], named: list[str], ask: list[str]) -> dict: ...
    def report(self, run_id: str, action: str, **fields: str) -> dict | None: ...


class Bridge:
    def __init__(
        self,
        *,
        port: Port,
        me: str,
        server: str,
        output_dir: Path,
        run_as: str = "",
    ):
        self.port = port
        self.me = me
        self.server = server
        self.output_dir = output_dir
        self.run_as = run_as
        self.unknown: dict[str, int] = {}
        self.pending: dict[str, str] = {}  # job id -> the pending reason last reported
        self.grace = float(os.environ.get("STUDIO_CANCEL_GRACE_SECONDS") or 10)

    # --- submitting -------------------------------------------------------------------

    def submit(self, run_id: str, tokens: dict) -> str | None:
        """sbatch the claimed run; its job id, or None when Slurm refused it (the run
        then fails with sbatch's message). The job reports over the API with the run's
        own ``tokens``, like any worker's."""
        args = ["--client", "--run-token", "--worker", self.me, "--server", self.server]
        if self.run_as:  # the job (submitted by root) starts the script as that user
            args += ["--run-as", self.run_as]
        script = slurm.batch_script(sys.executable, run_id, args)
        output = str(self.output_dir / f"{run_id}-%j.out")
        env = job_environment(token=tokens["token"], azureml_token=tokens["azureml_token"])
        try:
            job_id = slurm.submit(
                self.port.settings(), run_id=run_id, output=output, script=script, env=env
            )
        except slurm.SlurmError as exc:
            _log(f"sbatch refused {run_id}: {exc}")
            self.port.report(
                run_id,
                "end",
                status="Failed",
                from_status="Preparing",
                reason="start_failed",
                message=f"Slurm refused the job: {exc}",
                code="start_failed",
            )
            return None
        self.port.report(run_id, "submitted", job_id=job_id, reason=f"Slurm job {job_id} submitted")
        _log(f"submitted {run_id} as Slurm job {job_id}")
        return job_id

    # --- watching ---------------------------------------------------------------------

    def poll(self, ask: list[str]) -> dict[str, str]:
        """One look at every job of the target (one ``scontrol show job``, before the
        runs are read: their statuses are newer) and at the runs of the target; the
        statuses of ``ask``."""
        try:
            jobs: dict[str, slurm.Job] | None = slurm.jobs()
        except slurm.SlurmError as exc:
            _log(f"Slurm did not answer: {exc}")
            jobs = None  # nothing is decided; the poll still says the bridge is alive
        ours = [j for j in (jobs or {}).values() if j.name.startswith(slurm.job_name(""))]
        live = [j.job_id for j in ours if j.live]
        named = [j.name[len(slurm.job_name("")) :] for j in ours]
        state = self.port.sync(live=live, named=named, ask=ask)
        if jobs is not None:
            for record in state["watch"]:
                self.check(record, jobs.get(record["job_id"]))
            self.recover_claims(jobs, state["orphans"])
        return state["statuses"]

    def check(self, record: dict, job: slurm.Job | None) -> None:
        """Decide about one run with a Slurm job (``bridging.bridge_sync``'s record)."""
        from studio.rules.transitions import TERMINAL

        run_id, job_id, status = record["run_id"], record["job_id"], record["status"]
        if job is None:
            if status in TERMINAL:
                return
            self.unknown[job_id] = self.unknown.get(job_id, 0) + 1
            if self.unknown[job_id] >= UNKNOWN_POLLS:
                state = slurm.sacct_state(job_id) or "UNKNOWN"
                self._ended(record, state, "is no longer known to Slurm")
            return
        self.unknown.pop(job_id, None)
        if status in TERMINAL:
            # The run ended; its job should have too. A pending one never needs to
            # start; a running one whose supervisor is stuck is stopped after the grace.
            if job.pending or (job.live and record["ended_age"] > self._backstop()):
                self._scancel(job_id, f"{run_id} is {status}")
            return
        if job.pending:
            if status == "CancelRequested":
                self._scancel(job_id, f"{run_id} was cancelled while its job waited")
                self._end(record, "Canceled", "canceled before its job started")
            elif status in ("Queued", "Preparing"):
                why = job.reason if job.reason not in ("", "None") else "waiting"
                reason = f"Slurm job {job_id} pending ({why})"
                if self.pending.get(job_id) != reason or status == "Preparing":
                    self.port.report(run_id, "pending", reason=reason)
                    self.pending[job_id] = reason
            return
        self.pending.pop(job_id, None)
        if job.live:
            if status == "CancelRequested" and record["status_age"] > self._backstop():
                self._scancel(job_id, f"the supervisor of {run_id} did not answer the cancel")
            return
        # The job ended and its run did not: the supervisor never reported.
        if status == "CancelRequested":
            self._end(record, "Canceled", f"canceled (Slurm job {job.state})")
            return
        state = slurm.sacct_state(job_id) or job.state
        self._ended(record, state, f"ended {state}")

    def recover_claims(self, jobs: dict[str, slurm.Job], orphans: list[dict]) -> None:
        """Runs claimed by a bridge that died between its claim and recording the job:
        the job Slurm has under the run's name is recorded (its supervisor may have
        started the run already, or even ended it); none, and the run is still only
        claimed → submitted now, by whichever bridge takes the claim over first (a
        conditional UPDATE)."""
        by_name = {job.name: job for job in jobs.values()}
        for orphan in orphans:
            run_id, claimer = orphan["run_id"], orphan["worker"]
            if _bridge_alive(claimer, orphan["claimed_age"]):
                continue
            found = by_name.get(slurm.job_name(run_id))
            if found is not None:
                self.port.report(run_id, "submitted", job_id=found.job_id)
                _log(f"adopted {run_id}: its Slurm job {found.job_id} was submitted")
            elif orphan["status"] == "Preparing":  # started, yet no job: the lease decides
                taken = self.port.report(run_id, "take_over", from_worker=claimer)
                if taken and taken.get("token"):
                    _log(f"took over the claim of {run_id} from {claimer}")
                    self.submit(run_id, taken)

    def _backstop(self) -> float:
        return self.grace + BACKSTOP_MARGIN

    def _ended(self, record: dict, state: str, what: str) -> None:
        run_id, job_id = record["run_id"], record["job_id"]
        reason = slurm.ended_reason(state, by_studio=False)
        message = (
            f"Slurm job {job_id} {what} before its supervisor reported an end "
            f"(Slurm state: {state})."
        )
        if self._end(record, "Failed", reason, message, code="slurm_job_ended"):
            _log(f"{run_id}: Slurm job {job_id} {what}: run Failed ({reason})")

    def _end(
        self, record: dict, status: str, reason: str, message: str = "", code: str = ""
    ) -> bool:
        """From the status this bridge saw only: a supervisor's report that came in
        meanwhile wins."""
        answer = self.port.report(
            record["run_id"],
            "end",
            status=status,
            from_status=record["status"],
            reason=reason[:255],
            message=message,
            code=code,
        )
        return bool(answer and answer.get("ended"))

    @staticmethod
    def _scancel(job_id: str, why: str) -> None:
        try:
            slurm.cancel(job_id)
            _log(f"scancel {job_id}: {why}")
        except slurm.SlurmError as exc:
            _log(f"scancel {job_id} failed: {exc}")


class DatabasePort:
    """The bridge with the database's settings: ``bridging``'s services in-process."""

    def __init__(self, *, workspace, target: str, me: str):
        self.ws, self.target, self.me = workspace, target, me

    def settings(self) -> dict:
        from studio.execution.models import ComputeTarget

        found = ComputeTarget.objects.filter(workspace=self.ws, name=self.target).first()
        return dict(found.slurm) if found is not None else {}

    def claim(self, types: tuple[str, ...]) -> tuple[str, dict] | None:
        from studio.execution import services as execution

        claimed = execution.run_claim_over_api(
            workspace=self.ws, target=self.target, worker=self.me, types=types, bridge=True
        )
        return None if claimed is None else (claimed[0].run_id, claimed[1])

    def sync(self, *, live: list[str], named: list[str], ask: list[str]) -> dict:
        from studio.execution import bridging

        return bridging.bridge_sync(
            workspace=self.ws, target=self.target, worker=self.me, live=live, named=named, ask=ask
        )

    def report(self, run_id: str, action: str, **fields: str) -> dict | None:
        from studio.errors import StudioError
        from studio.execution import bridging

        try:
            return bridging.bridge_report(
                workspace=self.ws,
                target=self.target,
                worker=self.me,
                run_id=run_id,
                action=action,
                **fields,
            )
        except StudioError as exc:
            _log(f"{run_id}: {action} not taken: {exc.message}")
            return None


class ApiPort:
    """The bridge with only a worker token: the same services through the studio's
    API (``/workspaces/WS/compute-targets/TARGET/{claim,bridge/...}``)."""

    def __init__(self, api: Any, *, workspace: str, target: str, me: str):
        from studio.execution.backends import _q

        self.api, self.me = api, me
        self.base = f"/workspaces/{_q(workspace)}/compute-targets/{_q(target)}"

    def settings(self) -> dict:
        return dict(self.api("GET", self.base).get("slurm") or {})

    def claim(self, types: tuple[str, ...]) -> tuple[str, dict] | None:
        body = {"worker": self.me, "types": list(types), "bridge": True}
        claimed = self.api("POST", self.base + "/claim", body)
        if claimed["run"] is None:
            return None
        return claimed["run"]["id"], claimed

    def sync(self, *, live: list[str], named: list[str], ask: list[str]) -> dict:
        body = {"worker": self.me, "live": live, "named": named[-MAX_ASKED:], "ask": ask}
        return self.api("POST", self.base + "/bridge/sync", body)

    def report(self, run_id: str, action: str, **fields: str) -> dict | None:
        from studio.errors import Conflict, NotFound, ValidationError
        from studio.execution.backends import _q

        body = {"worker": self.me, "action": action, **fields}
        try:
            return self.api("POST", f"{self.base}/bridge/runs/{_q(run_id)}", body)
        except (ValidationError, Conflict, NotFound) as exc:  # about this run only
            _log(f"{run_id}: {action} not taken: {exc.message}")
            return None


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


def _bridge_alive(worker: str, claimed_age: float | None) -> bool:
    """Whether the bridge ``host:target:pid:started`` that claimed a run may still
    record its job: on this host, its process (same pid, started then); elsewhere,
    within ORPHAN_CLAIM_SECONDS of the claim (the server's clock)."""
    import psutil

    parts = worker.split(":")
    if len(parts) < 4 or parts[0] != socket.gethostname():
        return claimed_age is not None and claimed_age < ORPHAN_CLAIM_SECONDS
    try:
        pid, started = int(parts[-2]), int(parts[-1])
        created = psutil.Process(pid).create_time()
    except (ValueError, psutil.Error):
        return False
    return created <= started + 1 and started - created < 300


def serve(
    *,
    port: Port,
    target: str,
    workspace: str,
    server: str,
    me: str,
    drivers: int = 2,
    poll: float = 1.0,
    max_runs: int | None = None,
    output_dir: str | None = None,
    run_as: str = "",
) -> int:
    """Bridge ``target`` of ``workspace`` to Slurm through ``port`` until interrupted
    (or, with ``max_runs``, until that many runs were submitted and have ended)."""
    from studio.core.env import studio_home
    from studio.core.spawn import spawn_client
    from studio.errors import StudioError, Unavailable
    from studio.rules.transitions import TERMINAL

    folder = Path(output_dir or studio_home() / "slurm-jobs")
    folder.mkdir(parents=True, exist_ok=True)
    bridge = Bridge(port=port, me=me, server=server, output_dir=folder, run_as=run_as)
    try:  # the runs with a job that other (earlier) bridges of the target submitted
        known = port.sync(live=[], named=[], ask=[])["watch"]
    except StudioError as exc:
        print(f"studio worker: the studio refused: {exc}", file=sys.stderr, flush=True)
        return 2
    adopted = sum(record["status"] not in TERMINAL for record in known)
    _log(
        f"studio worker {me}: bridging target {target!r} of {workspace!r} to Slurm"
        + (f"; adopted {adopted} run(s) with a Slurm job" if adopted else "")
    )
    pipelines: dict[str, tuple[Any, dict]] = {}
    submitted: list[str] = []
    try:
        while True:
            try:
                for run_id, (proc, tokens) in list(pipelines.items()):
                    if proc.poll() is not None:
                        del pipelines[run_id]
                        if proc.returncode != 0:  # a driver killed before it could
                            from studio.execution.worker import _revoke_over_api

                            _revoke_over_api(server, run_id, tokens["token"])
                        _log(f"finished {run_id}")
                while len(pipelines) < drivers:
                    claimed = port.claim(PIPELINE_TYPES)
                    if claimed is None:
                        break
                    run_id, tokens = claimed
                    _log(f"claimed {run_id}")
                    env = {"STUDIO_AZUREML_TOKEN": tokens["azureml_token"]}
                    proc = spawn_client(
                        "studio.execution.pipeline", run_id, server, tokens["token"],
                        "--run-token", detached=False, env=env,
                    )  # fmt: skip
                    pipelines[run_id] = (proc, tokens)
                while max_runs is None or len(submitted) < max_runs:
                    claimed = port.claim(RUN_TYPES)
                    if claimed is None:
                        break
                    _log(f"claimed {claimed[0]}")
                    bridge.submit(*claimed)
                    submitted.append(claimed[0])
                statuses = bridge.poll(ask=submitted if max_runs is not None else [])
                if max_runs is not None and len(submitted) >= max_runs and not pipelines:
                    if all(statuses.get(run_id) in TERMINAL for run_id in submitted):
                        return 0
            except Unavailable as exc:  # the studio is away: its runs wait
                _log(f"studio worker: {exc}")
            except StudioError as exc:  # a revoked token, a reader's: nothing to retry
                print(f"studio worker: the studio refused: {exc}", file=sys.stderr, flush=True)
                return 2
            time.sleep(poll)
    except KeyboardInterrupt:
        # The jobs run on in Slurm; the next bridge of the target watches them.
        return 130
