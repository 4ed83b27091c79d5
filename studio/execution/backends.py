"""What a supervisor and a pipeline driver need of the studio, behind one interface,
so that one supervise loop (``supervisor.supervise``) and one driver loop
(``pipeline.drive``) serve every place they run:

- ``LocalBackend``: the database, through the services (the local store's
  supervisors, and a worker's, whose jobs reach the API at ``server`` with a token
  minted for their run);
- ``RestBackend``: the studio's API (the ``local`` target over HTTP: the supervisor
  runs on the submitting machine and reports through the REST store: transitions,
  heartbeats, the live log in chunks, outputs at the end; and the supervisors of a
  worker on another machine or of a Slurm job, with the token their run was claimed
  with: the snapshot comes as one archive). It imports no Django.

Runs are named by their public id; a run's data is a dictionary as the store
returns it (``id``, ``workspace``, ``experiment``, ``script``, ``arguments``,
``status``, ``properties`` ...).
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
import time
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from studio.errors import InvalidTransition, NotFound, Unavailable

LOCAL = "local"
# Bytes of the live log sent per request by a supervisor that reports over HTTP.
LOG_CHUNK = 256 * 1024
# Bytes of the live log stored per chunk by a supervisor that reaches the database.
LOG_SHIP = 1024 * 1024


class Backend(ABC):
    """One way for a supervisor or a driver to reach the studio."""

    # --- the run -----------------------------------------------------------------

    @abstractmethod
    def run(self, run_id: str) -> dict[str, Any]: ...

    @abstractmethod
    def status(self, run_id: str) -> str: ...

    @abstractmethod
    def transition(
        self, run_id: str, status: str, reason: str, error: dict[str, Any] | None = None
    ) -> bool:
        """Move the run to ``status``; False when the transition table refused it
        (someone else, a cancel or a fail, decided first)."""

    def start(self, run_id: str, status: str, reason: str) -> bool:
        """The first transition of a supervisor or a driver (its lease starts)."""
        return self.transition(run_id, status, reason)

    @abstractmethod
    def cancel(self, run_id: str) -> None:
        """Cancel a run (a step of a stopped pipeline); quiet if it already ended."""

    @abstractmethod
    def heartbeat(self, run_id: str) -> None: ...

    def record(self, run_id: str, **fields: Any) -> None:  # noqa: B027
        """Note how the run executes (host, pids, exit code) where it is kept."""

    def heartbeat_every(self) -> float:
        lease = float(os.environ.get("STUDIO_RUN_LEASE_SECONDS") or 60)
        return max(0.2, min(5.0, lease / 4))

    def cancel_grace(self) -> float:
        return float(os.environ.get("STUDIO_CANCEL_GRACE_SECONDS") or 10)

    # --- what a supervisor moves ---------------------------------------------------

    @abstractmethod
    def environment(self, run_id: str):
        """The run's environment (``envrun.EnvSpec``), or None: what ``envrun.prepare``
        builds a virtual environment from."""

    @abstractmethod
    def add_properties(self, run_id: str, properties: dict[str, str]) -> None: ...

    def envs_root(self) -> Path:
        """Where built virtual environments are kept (``STUDIO_ENVS_ROOT`` overrides)."""
        home = os.environ.get("STUDIO_HOME") or os.path.expanduser("~/.studio")
        return Path(os.environ.get("STUDIO_ENVS_ROOT") or Path(home) / "envs")

    @abstractmethod
    def materialize(self, run_id: str, into: Path) -> None:
        """Write the run's snapshot into ``into``."""

    @abstractmethod
    def log_open(self, run_id: str) -> Path:
        """The file the supervisor appends the script's output to."""

    def log_sync(self, run_id: str, final: bool = False) -> None:  # noqa: B027
        """Make what was appended to the log visible in the studio."""

    @abstractmethod
    def upload(self, run_id: str, name: str, stream: IO[bytes]) -> None: ...

    @abstractmethod
    def log_system_metrics(self, run_id: str, batch_id: str, series: list[dict[str, Any]]) -> None:
        """Store a sample of the run's system metrics (``sysmetrics``: names under
        ``sys/``, which only this route takes); a retried ``batch_id`` is stored once."""

    @abstractmethod
    def job_access(self, run_id: str) -> tuple[str, str]:
        """(server, token) the job reports with; ("", "") for the local store."""

    @abstractmethod
    def azureml_access(self, run_id: str, token: str) -> tuple[str, str]:
        """(service endpoint, run token) azureml-core's ``Run.get_context()`` reports
        with (``studio.compat.azureml``); ``token``: what ``job_access`` gave."""

    def end(self, run_id: str) -> None:  # noqa: B027
        """The supervisor is done with the run: its log and its job's token."""

    # --- what a pipeline driver needs ----------------------------------------------

    @abstractmethod
    def steps(self, pipeline_id: str) -> list[dict[str, Any]]:
        """The pipeline's steps: id, name, status, compute_target, after."""

    @abstractmethod
    def capacity(self, workspace: str, target: str) -> int:
        """How many steps of a pipeline may run at once on ``target``."""

    @abstractmethod
    def enqueue(self, run_id: str) -> None:
        """Queue a step for the workers of its (named) target."""

    @abstractmethod
    def start_supervisor(self, run_id: str) -> subprocess.Popen:
        """Start the supervisor of a ``local`` step here, dying with the driver."""

    def local_capacity(self) -> int:
        """Local steps of a pipeline that run at once: STUDIO_LOCAL_CAPACITY, else
        one per CPU."""
        return int(os.environ.get("STUDIO_LOCAL_CAPACITY") or 0) or os.cpu_count() or 2


class LocalBackend(Backend):
    """The database, through the services. ``server``: the supervisor was started by
    a worker, whose jobs report to the API at that URL with a token minted here."""

    def __init__(self, *, server: str = "") -> None:
        self.server = server
        self._runs: dict[str, Any] = {}
        self._logs: dict[str, tuple[Path, int]] = {}
        self._endpoints: dict[str, Any] = {}

    def _model(self, run_id: str):
        if run_id not in self._runs:
            from studio.tracking import selectors

            self._runs[run_id] = selectors.run_get(run_id=run_id)
        return self._runs[run_id]

    def run(self, run_id: str) -> dict[str, Any]:
        run = self._model(run_id)
        return {
            "id": run.run_id,
            "workspace": run.workspace.name,
            "experiment": run.experiment.name,
            "script": run.script,
            "arguments": list(run.arguments),
            "compute_target": run.compute_target,
            "status": self.status(run_id),
            "properties": dict(run.properties.values_list("key", "value")),
        }

    def environment(self, run_id: str):
        from studio.execution.envrun import EnvSpec
        from studio.execution.models import Execution

        record = Execution.objects.select_related("environment").filter(run__run_id=run_id)
        found = record.first()
        if found is None:
            return None
        env = found.environment
        if env is None:
            return EnvSpec("", "", None, dict(found.variables)) if found.variables else None
        return EnvSpec(env.name, str(env.version), env.definition, dict(found.variables))

    def add_properties(self, run_id: str, properties: dict[str, str]) -> None:
        from studio.tracking import services as tracking

        tracking.run_add_properties(run=self._model(run_id), properties=properties)

    def envs_root(self) -> Path:
        from studio.execution import envrun

        return envrun.envs_root()

    def status(self, run_id: str) -> str:
        from studio.tracking.models import Run

        return Run.objects.filter(run_id=run_id).values_list("status", flat=True).get()

    def transition(
        self, run_id: str, status: str, reason: str, error: dict[str, Any] | None = None
    ) -> bool:
        from studio.tracking import services as tracking

        try:
            tracking.run_transition(
                run=self._model(run_id), status=status, reason=reason, error=error
            )
            return True
        except InvalidTransition:
            return False

    def cancel(self, run_id: str) -> None:
        from studio.tracking import services as tracking

        try:
            tracking.run_cancel(run=self._model(run_id))
        except InvalidTransition:
            pass

    def heartbeat(self, run_id: str) -> None:
        from studio.tracking import services as tracking

        tracking.run_heartbeat(run=self._model(run_id))

    def record(self, run_id: str, **fields: Any) -> None:
        from studio.execution import services as execution

        execution.execution_record(run=self._model(run_id), **fields)

    def heartbeat_every(self) -> float:
        from studio.execution import services as execution

        return execution.heartbeat_every()

    def cancel_grace(self) -> float:
        from django.conf import settings

        return float(getattr(settings, "STUDIO_CANCEL_GRACE_SECONDS", 10))

    def materialize(self, run_id: str, into: Path) -> None:
        from studio.execution.snapshot import materialize

        materialize(run=self._model(run_id), into=into)

    def log_open(self, run_id: str) -> Path:
        # The script's output goes to a file of the supervisor's own; ``log_sync``
        # ships what it gained as chunks of the run's live log (the same code for the
        # local disk and a bucket, which cannot append in place).
        from studio.tracking import services as tracking

        tracking.run_live_log_open(run=self._model(run_id))
        fd, name = tempfile.mkstemp(prefix=f"studio-{run_id}-", suffix=".log")
        os.close(fd)
        self._logs[run_id] = (Path(name), 0)
        return Path(name)

    def log_sync(self, run_id: str, final: bool = False) -> None:
        """Ship what the log gained since the last call, at most ``LOG_SHIP`` bytes a
        chunk. A storage that cannot be reached keeps it for the next call."""
        from studio.tracking import services as tracking

        if run_id not in self._logs:
            return
        path, sent = self._logs[run_id]
        with open(path, "rb") as f:
            f.seek(sent)
            while chunk := f.read(LOG_SHIP):
                try:
                    tracking.run_live_log_append(run=self._model(run_id), offset=sent, data=chunk)
                except Unavailable:
                    break
                sent += len(chunk)
                self._logs[run_id] = (path, sent)

    def log_system_metrics(self, run_id: str, batch_id: str, series: list[dict[str, Any]]) -> None:
        from studio.tracking import services

        services.metric_log_batch(
            run=self._model(run_id), batch_id=batch_id, series=series, system=True
        )

    def upload(self, run_id: str, name: str, stream: IO[bytes]) -> None:
        from studio.tracking import services as tracking

        tracking.run_file_upload(run=self._model(run_id), name=name, content=stream)

    def job_access(self, run_id: str) -> tuple[str, str]:
        if not self.server:
            return "", ""
        from studio.accounts.services import run_token_create

        return self.server, run_token_create(run=self._model(run_id))

    def azureml_access(self, run_id: str, token: str) -> tuple[str, str]:
        from studio.compat.azureml import jobenv, local, tokens

        if self.server:  # a worker's job: the studio's endpoint, the JWT of its token
            return jobenv.endpoint(self.server), tokens.mint_for_secret(token)
        # The local store: no server anywhere; this supervisor serves its job.
        self._endpoints[run_id] = endpoint = local.LocalEndpoint(self._model(run_id))
        return endpoint.service, endpoint.token

    def end(self, run_id: str) -> None:
        from studio.rules import filenames
        from studio.tracking import services as tracking

        path, _ = self._logs.pop(run_id, (None, 0))
        if path is not None:
            path.unlink(missing_ok=True)
        endpoint = self._endpoints.pop(run_id, None)
        if endpoint is not None:
            endpoint.close()

        tracking.run_file_sizes_update(run=self._model(run_id), prefix=filenames.LOGS)

    def steps(self, pipeline_id: str) -> list[dict[str, Any]]:
        from studio.execution import services as execution

        return [
            {
                "id": s.run_id,
                "name": s.execution.step_name,
                "status": s.status,
                "compute_target": s.compute_target,
                "after": list(s.execution.after),
            }
            for s in execution.steps_of(pipeline=self._model(pipeline_id))
        ]

    def capacity(self, workspace: str, target: str) -> int:
        from studio.execution.models import ComputeTarget

        found = ComputeTarget.objects.filter(workspace__name=workspace, name=target).first()
        return found.capacity if found is not None else 4

    def enqueue(self, run_id: str) -> None:
        from studio.execution import services as execution

        execution.run_enqueue(run=self._model(run_id))

    def start_supervisor(self, run_id: str) -> subprocess.Popen:
        from studio.execution.launch import spawn

        return spawn("studio.execution.supervisor", run_id, detached=False, die_with_parent=True)


def _retry(call: Callable[[], Any], *, attempts: int = 30, every: float = 1.0) -> Any:
    """``call`` again while the studio cannot be reached, for up to ``attempts``."""
    for attempt in range(attempts):
        try:
            return call()
        except Unavailable:
            if attempt == attempts - 1:
                raise
            time.sleep(every)


class _Api:
    """The studio's JSON API, as a supervisor needs it: errors come back as the
    exceptions the server raised, an unreachable studio as ``Unavailable``. (The
    SDK's REST store is not used here: execution never imports the SDK.)"""

    def __init__(self, uri: str, token: str) -> None:
        import httpx

        self.uri = uri
        self.client = httpx.Client(
            base_url=uri + "/api/v1",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "studio-supervisor"},
            timeout=httpx.Timeout(60.0, connect=5.0),
        )

    def __call__(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        from studio.rules import wire

        answer = wire.call(self.client, self.uri, method, path, json_body=body, **kwargs)
        return answer.content if hasattr(answer, "content") else answer

    def download(self, path: str, into: IO[bytes]) -> None:
        """GET ``path`` into the file ``into`` as it comes (a snapshot may be large)."""
        import httpx

        try:
            with self.client.stream("GET", path) as response:
                if response.status_code < 400:
                    for piece in response.iter_bytes(1024 * 1024):
                        into.write(piece)
                    return
        except httpx.TransportError as exc:
            raise Unavailable(
                f"Cannot reach the studio at {self.uri}: {exc}", field="uri"
            ) from None
        self("GET", path)  # the error, as the studio answers it (raised as its exception)


def _q(value: str) -> str:
    """One URL path part: slashes and dots encoded too (no client resolves ``..``)."""
    return urllib.parse.quote(value, safe="").replace(".", "%2E")


class _Reader:
    """``size`` bytes of a file, as httpx streams a request body (its own iterator,
    so a retry starts from a fresh one)."""

    def __init__(self, stream: IO[bytes], size: int) -> None:
        self.stream, self.size = stream, size

    def __iter__(self):
        left = self.size
        while left > 0 and (piece := self.stream.read(min(left, 1024 * 1024))):
            left -= len(piece)
            yield piece


class RestBackend(Backend):
    """The studio's API, for the ``local`` target over HTTP: the supervisor (and the
    pipeline driver) run on the submitting machine with its token (STUDIO_TOKEN).
    A studio that cannot be reached for a while costs heartbeats and log chunks
    (sent again later), never the script."""

    def __init__(self, uri: str, token: str | None = None, *, run_token: bool = False) -> None:
        self.uri = uri.rstrip("/")
        self.token = token or os.environ.get("STUDIO_TOKEN") or ""
        # run_token: the token is the run's own, given by a worker that claimed it over
        # the API (``worker.work_over_api``, the Slurm bridge): its job reports with it
        # too, and azureml-core with the JWT the claim gave (STUDIO_AZUREML_TOKEN).
        self.run_token = run_token
        self.api = _Api(self.uri, self.token)
        self._azureml_tokens: dict[str, str] = {}
        self._status: dict[str, str] = {}
        self._logs: dict[str, tuple[Path, int]] = {}

    def _runs(self, run_id: str) -> str:
        return f"/runs/{_q(run_id)}"

    def run(self, run_id: str) -> dict[str, Any]:
        data = _retry(lambda: self.api("GET", self._runs(run_id)))
        self._status[run_id] = data["status"]
        return data

    def environment(self, run_id: str):
        """The environment the run recorded (name and version: the registry's
        definition). The run configuration's own variables stay with the studio."""
        from studio.execution import envdefs
        from studio.execution.envrun import EnvSpec

        run = self.run(run_id)
        properties = run.get("properties") or {}
        name, version = properties.get(envdefs.NAME), properties.get(envdefs.VERSION)
        if not name:
            return None
        path = f"/workspaces/{_q(run['workspace'])}/environments"
        params = {"environment": name, **({"version": version} if version else {})}
        found = _retry(lambda: self.api("GET", path, params=params))["environments"]
        definition = found[0]["definition"] if found else None
        return EnvSpec(name, version or "", definition, {})

    def add_properties(self, run_id: str, properties: dict[str, str]) -> None:
        _retry(lambda: self.api("POST", self._runs(run_id) + "/properties",
                                {"properties": properties}))  # fmt: skip

    def status(self, run_id: str) -> str:
        from studio.rules.transitions import TERMINAL

        if self.run_token and self._status.get(run_id) in TERMINAL:
            return self._status[run_id]  # final; and the run's token ended with it
        try:
            self._status[run_id] = self.api("GET", self._runs(run_id))["status"]
        except Unavailable:
            pass  # unknown for now: as it was
        return self._status[run_id]

    def transition(
        self, run_id: str, status: str, reason: str, error: dict[str, Any] | None = None
    ) -> bool:
        body = {"status": status, "reason": reason, "error": error}
        try:
            data = _retry(lambda: self.api("POST", self._runs(run_id) + "/status", body))
        except InvalidTransition:
            return False
        self._status[run_id] = data["status"]
        return True

    def cancel(self, run_id: str) -> None:
        try:
            _retry(lambda: self.api("POST", self._runs(run_id) + "/cancel", {}))
        except InvalidTransition:
            pass

    def heartbeat(self, run_id: str) -> None:
        try:
            self.api("POST", "/heartbeat", {"runs": [run_id]})
        except Unavailable:
            pass  # the lease allows for a few missed beats

    def record(self, run_id: str, **fields: Any) -> None:
        """How the script ended goes to the studio; where it ran (host, pids) stays
        here: the server never acts on process ids a job could have sent."""
        if "exit_code" not in fields and "signal" not in fields:
            return
        body = {"exit_code": fields.get("exit_code"), "signal": fields.get("signal") or ""}
        try:
            _retry(lambda: self.api("POST", self._runs(run_id) + "/execution", body), attempts=5)
        except Unavailable:
            pass  # the status (and its error) says how it ended too

    def materialize(self, run_id: str, into: Path) -> None:
        """The snapshot in one archive (``GET /runs/{id}/snapshot``), spooled to a
        temporary file, then unpacked (``snapshot.unpack``: nothing lands outside)."""
        from studio.execution.snapshot import unpack

        def fetch():
            with tempfile.TemporaryFile() as spool:
                self.api.download(self._runs(run_id) + "/snapshot", spool)
                spool.seek(0)
                unpack(spool, into)

        _retry(fetch)

    def _append(self, run_id: str, offset: int, data: bytes) -> None:
        body = {"offset": offset, "data": base64.b64encode(data).decode("ascii")}
        self.api("POST", self._runs(run_id) + "/live-log", body)

    def log_open(self, run_id: str) -> Path:
        # The log exists in the studio from the start, as a local run's does.
        _retry(lambda: self._append(run_id, 0, b""))
        fd, name = tempfile.mkstemp(prefix=f"studio-{run_id}-", suffix=".log")
        os.close(fd)
        self._logs[run_id] = (Path(name), 0)
        return Path(name)

    def log_sync(self, run_id: str, final: bool = False) -> None:
        """Send what the log gained since the last call, ``LOG_CHUNK`` bytes a request
        (each names its offset, so a chunk sent twice is stored once)."""
        path, sent = self._logs[run_id]
        with open(path, "rb") as f:
            f.seek(sent)
            while chunk := f.read(LOG_CHUNK):
                try:
                    if final:
                        _retry(lambda c=chunk, at=sent: self._append(run_id, at, c))
                    else:
                        self._append(run_id, sent, chunk)
                except Unavailable:
                    break  # sent again on the next call
                sent += len(chunk)
                self._logs[run_id] = (path, sent)

    def log_system_metrics(self, run_id: str, batch_id: str, series: list[dict[str, Any]]) -> None:
        # Once, no retry: a sample the studio missed is not worth holding the loop
        # that watches the script; the next one comes in a few seconds.
        body = {"batch_id": batch_id, "series": series}
        self.api("POST", self._runs(run_id) + "/system-metrics", body)

    def upload(self, run_id: str, name: str, stream: IO[bytes]) -> None:
        """The file streamed with its length (any server takes it; none of it is held
        in memory), from its start again on each attempt."""
        path = f"{self._runs(run_id)}/files/{_q(name)}"
        try:
            size = os.fstat(stream.fileno()).st_size - stream.tell()
            start = stream.tell()
        except (AttributeError, OSError, ValueError):
            size = None
        if size is None:  # not a file: in memory
            content = stream.read()
            headers = {"Content-Type": "application/octet-stream"}
            _retry(lambda: self.api("PUT", path, content=content, headers=headers))
            return
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}

        def send():
            stream.seek(start)
            return self.api("PUT", path, content=_Reader(stream, size), headers=headers)

        _retry(send)

    def job_access(self, run_id: str) -> tuple[str, str]:
        if self.run_token:
            self._azureml_tokens[run_id] = os.environ.get("STUDIO_AZUREML_TOKEN", "")
            return self.uri, self.token
        data = _retry(lambda: self.api("POST", self._runs(run_id) + "/job-token", {}))
        self._azureml_tokens[run_id] = data["azureml_token"]
        return self.uri, data["token"]

    def azureml_access(self, run_id: str, token: str) -> tuple[str, str]:
        from studio.compat.azureml.jobenv import endpoint

        return endpoint(self.uri), self._azureml_tokens.pop(run_id)

    def end(self, run_id: str) -> None:
        from studio.rules.transitions import TERMINAL

        try:
            # A run's own token died with the run (the server refuses it once the run
            # has ended); one that did not end is revoked here, by the token itself.
            if not (self.run_token and self._status.get(run_id) in TERMINAL):
                _retry(
                    lambda: self.api("POST", self._runs(run_id) + "/job-token/revoke", {}),
                    attempts=5,
                )
        finally:
            path, _ = self._logs.pop(run_id, (None, 0))
            if path is not None:
                path.unlink(missing_ok=True)

    def steps(self, pipeline_id: str) -> list[dict[str, Any]]:
        return _retry(lambda: self.api("GET", self._runs(pipeline_id) + "/steps"))["steps"]

    def capacity(self, workspace: str, target: str) -> int:
        if self.run_token:  # a driver a worker started: reads the target, never creates it
            path = f"/workspaces/{_q(workspace)}/compute-targets/{_q(target)}"
            try:
                found = _retry(lambda: self.api("GET", path))["capacity"]
            except NotFound:
                found = None
            return int(found or 4)
        path = f"/workspaces/{_q(workspace)}/compute-targets"
        return int(_retry(lambda: self.api("POST", path, {"name": target}))["capacity"])

    def enqueue(self, run_id: str) -> None:
        _retry(lambda: self.api("POST", self._runs(run_id) + "/enqueue", {}))

    def start_supervisor(self, run_id: str) -> subprocess.Popen:
        from studio.core.spawn import spawn_client

        return spawn_client(
            "studio.execution.supervisor", run_id, self.uri, self.token, detached=False
        )
