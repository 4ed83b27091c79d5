"""Studio's Python SDK, named after the Azure ML SDK v1 so its samples run with only
the import line changed::

    from studio.sdk import Workspace, Experiment, Run

Importing it does not need Django configured: the local store sets Django up on
first use.
"""

from studio.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PropertyConflict,
    RunFailed,
    StudioError,
    ValidationError,
)
from studio.sdk.config import ComputeTarget, ScriptRunConfig
from studio.sdk.experiment import Experiment
from studio.sdk.pipeline import (
    Pipeline,
    PipelineParameter,
    PipelineRun,
    PythonScriptStep,
    ScriptStep,
    StepRun,
    StepSequence,
)
from studio.sdk.run import Run
from studio.sdk.workspace import Workspace

VERSION = "0.1.0"

__all__ = [
    "VERSION",
    "ComputeTarget",
    "Pipeline",
    "PipelineParameter",
    "PipelineRun",
    "PythonScriptStep",
    "ScriptRunConfig",
    "ScriptStep",
    "Conflict",
    "Experiment",
    "InvalidTransition",
    "NotFound",
    "PropertyConflict",
    "RunFailed",
    "Run",
    "StepRun",
    "StepSequence",
    "StudioError",
    "ValidationError",
    "Workspace",
]
