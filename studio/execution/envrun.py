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
class EnvSpec:
    """A run's environment as its supervisor reads it (``Backend.environment``)."""

    name: str
    version: str
    definition: dict | None  # v1's serialized Environment
    variables: dict[str, str]  # the run configuration's environment_variables


@dataclass
class Prepared:
    python: str = sys.executable
    variables: dict[str, str] = field(default_factory=dict)
    venv: str = ""  # the virtual environment the script runs in, if any
    notes: list[str] = field(default_factory=list)  # for the run's log

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


def prepare(backend, run_id: str) -> Prepared:
    """The interpreter and variables of the run's job, through ``backend`` (the
    database, or the API on the submitting machine). Raises ``Stopped`` when the run
    was cancelled meanwhile, ``BuildError`` when its environment cannot be made."""
    spec = backend.environment(run_id)
    variables = dict(spec.variables) if spec is not None else {}
    if spec is None or spec.definition is None:
        return Prepared(variables=variables)
    definition = spec.definition
    variables = {**(definition.get("environmentVariables") or {}), **variables}
    resolved = envs.resolve(definition)
    if resolved is None:
        return Prepared(python=_user_interpreter(definition), variables=variables)
    _preparing(backend, run_id)
    log_path = Path(tempfile.mkstemp(prefix=f"studio-envbuild-{run_id}-")[1])
    notes = []
    try:
        backend.add_properties(
            run_id, {envdefs.HASH: resolved.hash, envdefs.PYTHON: resolved.python}
        )
        notes.append(f"preparing environment {spec.name}:{spec.version} ({resolved.hash})")
        try:
            ready = envs.ensure(
                resolved,
                root=backend.envs_root(),
                log_path=log_path,
                tick=_ticker(backend, run_id),
                owner=run_id,
            )
        finally:
            _upload_log(backend, run_id, log_path)
        how = f"built in {ready.seconds:.1f} s" if ready.built else "cached"
        notes.append(f"environment {spec.name}:{spec.version} {how}: {ready.python}")
        venv = str(Path(ready.python).parent.parent)
        return Prepared(python=ready.python, variables=variables, venv=venv, notes=notes)
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


def _preparing(backend, run_id: str) -> None:
    from studio.rules.transitions import PREPARING

    if backend.status(run_id) == PREPARING:
        return  # a worker claimed it
    if not backend.start(run_id, PREPARING, "preparing the environment"):
        raise Stopped()


def _ticker(backend, run_id: str):
    """Heartbeats while the build runs; ``Stopped`` once the run is cancelled."""
    from studio.rules.transitions import CANCEL_REQUESTED, CANCELED, FAILED

    every = backend.heartbeat_every()
    last = {"beat": 0.0, "status": 0.0}
    stop = {CANCEL_REQUESTED, CANCELED, FAILED}

    def tick() -> None:
        now = time.monotonic()
        if now - last["beat"] >= every:
            last["beat"] = now
            backend.heartbeat(run_id)
        if now - last["status"] >= STATUS_EVERY:
            last["status"] = now
            if backend.status(run_id) in stop:
                raise Stopped()

    return tick


def _upload_log(backend, run_id: str, path: Path) -> None:
    from studio.errors import StudioError

    try:
        backend.upload(run_id, BUILD_LOG, io.BytesIO(path.read_bytes()))
    except (OSError, StudioError) as exc:
        print(f"studio: {BUILD_LOG} of {run_id} not kept: {exc}", file=sys.stderr)
