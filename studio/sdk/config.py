"""What to submit: ``ScriptRunConfig`` for one script (pipelines: ``studio.sdk.pipeline``),
and ``ComputeTarget`` handles (``ws.compute_targets[name]``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from studio.errors import ValidationError
from studio.sdk.compute import ComputeTarget

LOCAL = "local"


def target_name(target: str | ComputeTarget | None) -> str:
    if target is None:
        return LOCAL
    if isinstance(target, ComputeTarget):
        return target.name
    if isinstance(target, str) and target:
        return target
    raise ValidationError(
        "compute_target must be a name or a ComputeTarget.", field="compute_target"
    )


def _arguments(arguments: Iterable | None) -> list[str]:
    if arguments is None:
        return []
    if isinstance(arguments, (str, bytes)):
        raise ValidationError("arguments must be a list, e.g. ['--lr', '0.1'].", field="arguments")
    # Numbers are passed as their text; the process gets a list, never a shell line.
    return [a if isinstance(a, str) else str(a) for a in arguments]


class ScriptRunConfig:
    """A script to run in a snapshot of ``source_directory`` on a compute target, with
    v1's signature: ``run_config`` (a ``RunConfiguration``) holds the target and the
    environment, and ``compute_target=`` / ``environment=`` set them in it, so
    ``src.run_config.environment = env`` before submit works as in v1."""

    def __init__(
        self,
        source_directory: str | os.PathLike = ".",
        script: str | None = None,
        arguments: Sequence | None = None,
        run_config=None,
        _telemetry_values=None,
        compute_target: str | ComputeTarget | None = None,
        environment=None,
        distributed_job_config=None,
        resume_from=None,
        max_run_duration_seconds=None,
        command=None,
        docker_runtime_config=None,
    ):
        from studio.sdk.runconfig import RunConfiguration

        if command and not script:
            script, arguments = _python_command(command)
        if not script:
            raise ValidationError("ScriptRunConfig needs a script.", field="script")
        self.source_directory = source_directory
        self.script = script
        self.arguments = _arguments(arguments)
        self.command = command
        self.run_config = run_config if run_config is not None else RunConfiguration()
        if compute_target is not None:
            self.run_config.target = target_name(compute_target)
        if environment is not None:
            self.run_config.environment = environment
        if docker_runtime_config is not None:
            self.run_config.docker = docker_runtime_config
        if distributed_job_config is not None:
            self.run_config._distributed_job_config = distributed_job_config
        if max_run_duration_seconds is not None:
            self.run_config.max_run_duration_seconds = max_run_duration_seconds
        self.run_config.script = script
        self.run_config.arguments = list(self.arguments)
        self._resume_from = resume_from

    @property
    def compute_target(self) -> str:
        return target_name(self.run_config.target)

    @compute_target.setter
    def compute_target(self, value: str | ComputeTarget | None) -> None:
        self.run_config.target = target_name(value)

    def _submission(self) -> dict:
        """The store's ``submit_run`` arguments for this configuration."""
        from studio.sdk.snapshot import collect

        rc = self.run_config
        environment = rc.environment._for_submit() if rc.environment is not None else None
        properties = rc.recorded_properties()
        if self._resume_from is not None:
            from studio.sdk.recorded import record

            record(properties, "azureml.resume_from", str(self._resume_from), "no checkpoints")
        variables = {}
        if environment is not None:
            variables.update(environment.get("environmentVariables") or {})
        variables.update(rc.environment_variables or {})
        return {
            "script": self.script,
            "arguments": _arguments(self.arguments),
            "compute_target": self.compute_target,
            "files": collect(self.source_directory, self.script),
            "environment": environment,
            "properties": properties,
            "variables": {str(k): str(v) for k, v in variables.items()},
        }


def _python_command(command) -> tuple[str | None, list]:
    """v1's ``command=["python", "train.py", ...]``: the script and its arguments."""
    parts = command.split() if isinstance(command, str) else [str(c) for c in command]
    if len(parts) >= 2 and os.path.basename(parts[0]).startswith("python"):
        return parts[1], parts[2:]
    raise ValidationError(
        "command= must run a Python script (['python', 'train.py', ...]): Studio runs "
        "scripts, not shell commands.",
        field="command",
    )
