"""What to submit: ``ScriptRunConfig`` for one script (pipelines: ``studio.sdk.pipeline``),
and ``ComputeTarget`` handles (``ws.compute_targets[name]``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from studio.errors import ValidationError

LOCAL = "local"


@dataclass(frozen=True)
class ComputeTarget:
    """A named pool of workers; runs submitted to it wait Queued for ``studio worker``."""

    name: str
    workspace: str = ""

    def __str__(self) -> str:
        return self.name


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


@dataclass
class ScriptRunConfig:
    """A script to run in a snapshot of ``source_directory`` on ``compute_target``."""

    source_directory: str | os.PathLike = "."
    script: str | None = None
    arguments: Sequence | None = None
    compute_target: str | ComputeTarget | None = LOCAL

    def __post_init__(self) -> None:
        if not self.script:
            raise ValidationError("ScriptRunConfig needs a script.", field="script")
        self.arguments = _arguments(self.arguments)
        self.compute_target = target_name(self.compute_target)
