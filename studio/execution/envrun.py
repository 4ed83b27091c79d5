"""The supervisor's side of environments: which interpreter runs a submitted run's
script, built into a virtual environment first when its environment is not
user-managed (``studio.execution.envs``), and which variables its process gets.

While the environment is built the run is ``Preparing`` (v1's status for it): the
supervisor heartbeats and a cancel stops the build. The build's output becomes the
run's ``logs/environment_build.txt``; a failed build fails the run with pip's error.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from studio.execution import envdefs, envs
from studio.execution.envs import BuildError, Stopped

BUILD_LOG = "logs/environment_build.txt"
STATUS_EVERY = 0.5

__all__ = ["BUILD_LOG", "BuildError", "Prepared", "Stopped", "envs_root", "prepare"]


@dataclass
class Prepared:
    python: str = sys.executable
    variables: dict[str, str] = field(default_factory=dict)
    venv: str = ""  # the virtual environment the script runs in, if any

    def apply(self, job_env: dict[str, str]) -> dict[str, str]:
        """The job's environment with the run's variables (never replacing what
        Studio sets) and, in a venv, its ``bin`` first on PATH as activation does."""
        env = {**self.variables, **job_env}
        if self.venv:
            env["VIRTUAL_ENV"] = self.venv
            env["PATH"] = os.pathsep.join(
                [str(Path(self.venv) / "bin"), *filter(None, [job_env.get("PATH")])]
            )
        return env


def envs_root() -> Path:
    from django.conf import settings

    return Path(os.environ.get("STUDIO_ENVS_ROOT") or Path(settings.STUDIO_HOME) / "envs")


def prepare(run) -> Prepared:
    """The interpreter and variables of ``run``'s job. Raises ``Stopped`` when the
    run was cancelled meanwhile, ``BuildError`` when its environment cannot be made."""
    from studio.execution.models import Execution

    record = Execution.objects.select_related("environment").filter(run=run).first()
    env = record.environment if record is not None else None
    variables = dict(record.variables) if record is not None else {}
    if env is None:
        return Prepared(variables=variables)
    definition = env.definition
    variables = {**(definition.get("environmentVariables") or {}), **variables}
    resolved = envs.resolve(definition)
    if resolved is None:
        return Prepared(python=_user_interpreter(definition), variables=variables)
    _preparing(run)
    log_path = Path(tempfile.mkstemp(prefix=f"studio-envbuild-{run.run_id}-")[1])
    try:
        _add_properties(run, {envdefs.HASH: resolved.hash, envdefs.PYTHON: resolved.python})
        _note(run, f"preparing environment {env.name}:{env.version} ({resolved.hash})")
        try:
            ready = envs.ensure(
                resolved,
                root=envs_root(),
                log_path=log_path,
                tick=_ticker(run),
                owner=run.run_id,
            )
        finally:
            _upload_log(run, log_path)
        how = f"built in {ready.seconds:.1f} s" if ready.built else "cached"
        _note(run, f"environment {env.name}:{env.version} {how}: {ready.python}")
        venv = str(Path(ready.python).parent.parent)
        return Prepared(python=ready.python, variables=variables, venv=venv)
    finally:
        os.unlink(log_path)


def _user_interpreter(definition) -> str:
    """A user-managed environment's ``interpreterPath``: v1's default ``python``
    is the submitter's interpreter; another name is looked up on PATH."""
    path = (definition.get("python") or {}).get("interpreterPath") or "python"
    if path == "python":
        return sys.executable
    found = path if os.path.isfile(path) and os.access(path, os.X_OK) else shutil.which(path)
    if not found:
        raise BuildError(
            f"The environment's interpreter {path!r} does not exist on this machine "
            "(env.python.interpreter_path of a user-managed environment)."
        )
    return found


def _preparing(run) -> None:
    from studio.errors import InvalidTransition
    from studio.tracking import services as tracking
    from studio.tracking.models import Run, RunStatus

    status = Run.objects.filter(pk=run.pk).values_list("status", flat=True).get()
    if status == RunStatus.PREPARING:
        return  # a worker claimed it
    try:
        tracking.run_transition(
            run=run, status=RunStatus.PREPARING, reason="preparing the environment"
        )
    except InvalidTransition:
        raise Stopped() from None


def _ticker(run):
    """Heartbeats while the build runs; ``Stopped`` once the run is cancelled."""
    from studio.execution.services import heartbeat_every
    from studio.tracking import services as tracking
    from studio.tracking.models import Run, RunStatus

    every = heartbeat_every()
    last = {"beat": 0.0, "status": 0.0}
    stop = {RunStatus.CANCEL_REQUESTED, RunStatus.CANCELED, RunStatus.FAILED}

    def tick() -> None:
        now = time.monotonic()
        if now - last["beat"] >= every:
            last["beat"] = now
            tracking.run_heartbeat(run=run)
        if now - last["status"] >= STATUS_EVERY:
            last["status"] = now
            if Run.objects.filter(pk=run.pk).values_list("status", flat=True).get() in stop:
                raise Stopped()

    return tick


def _add_properties(run, properties: dict[str, str]) -> None:
    from studio.tracking import services as tracking

    tracking.run_add_properties(run=run, properties=properties)


def _note(run, text: str) -> None:
    from studio.tracking import services as tracking

    with open(tracking.run_live_log_open(run=run), "ab") as log:
        log.write(f"[studio] {text}\n".encode())


def _upload_log(run, path: Path) -> None:
    from studio.errors import StudioError
    from studio.tracking import services as tracking

    try:
        content = path.read_bytes()
        tracking.run_file_upload(run=run, name=BUILD_LOG, content=io.BytesIO(content))
    except (OSError, StudioError) as exc:
        print(f"studio: {BUILD_LOG} of {run.run_id} not kept: {exc}", file=sys.stderr)
