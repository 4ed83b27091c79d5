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
from studio.sdk.config import ComputeTarget, Pipeline, ScriptRunConfig, ScriptStep
from studio.sdk.experiment import Experiment
from studio.sdk.model import (
    Model,
    ModelNotFoundException,
    ModelPathNotFoundException,
    WebserviceException,
)
from studio.sdk.run import Run
from studio.sdk.workspace import Workspace

VERSION = "0.1.0"

__all__ = [
    "VERSION",
    "ComputeTarget",
    "Pipeline",
    "ScriptRunConfig",
    "ScriptStep",
    "Conflict",
    "Experiment",
    "InvalidTransition",
    "Model",
    "ModelNotFoundException",
    "ModelPathNotFoundException",
    "NotFound",
    "PropertyConflict",
    "RunFailed",
    "Run",
    "StudioError",
    "ValidationError",
    "WebserviceException",
    "Workspace",
]
