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
from studio.sdk.environment import (
    DEFAULT_CPU_IMAGE,
    DEFAULT_GPU_IMAGE,
    CondaDependencies,
    ContainerRegistry,
    DockerSection,
    Environment,
    EnvironmentReference,
    PythonSection,
)
from studio.sdk.experiment import Experiment
from studio.sdk.run import Run
from studio.sdk.runconfig import (
    DockerConfiguration,
    MpiConfiguration,
    PyTorchConfiguration,
    RunConfiguration,
    TensorflowConfiguration,
)
from studio.sdk.workspace import Workspace

VERSION = "0.1.0"

__all__ = [
    "VERSION",
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
    "CondaDependencies",
    "ContainerRegistry",
    "DockerConfiguration",
    "DockerSection",
    "Environment",
    "EnvironmentReference",
    "MpiConfiguration",
    "PythonSection",
    "PyTorchConfiguration",
    "RunConfiguration",
    "TensorflowConfiguration",
    "ComputeTarget",
    "Pipeline",
    "ScriptRunConfig",
    "ScriptStep",
    "Conflict",
    "Experiment",
    "InvalidTransition",
    "NotFound",
    "PropertyConflict",
    "RunFailed",
    "Run",
    "StudioError",
    "ValidationError",
    "Workspace",
]
