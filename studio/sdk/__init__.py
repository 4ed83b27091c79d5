"""Studio's Python SDK, named after the Azure ML SDK v1 so its samples run with only
the import line changed::

    from studio.sdk import Workspace, Experiment, Run

Importing it does not need Django configured: the local store sets Django up on
first use.
"""

from studio.errors import (
    ActivityFailedException,
    AuthenticationException,
    AzureMLException,
    ComputeTargetException,
    Conflict,
    DatasetTimestampMissingError,
    DiscoveryUrlNotFoundException,
    ExperimentExecutionException,
    InvalidTransition,
    ModelNotFoundException,
    ModelPathNotFoundException,
    NotFound,
    ProjectSystemException,
    PropertyConflict,
    RunConfigurationException,
    RunEnvironmentException,
    RunFailed,
    ServiceException,
    SnapshotException,
    StudioError,
    TrainingException,
    UserErrorException,
    ValidationError,
    WebserviceException,
    WorkspaceException,
)
from studio.sdk.compute import AmlCompute, ComputeTarget, SlurmCompute
from studio.sdk.config import ScriptRunConfig
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
from studio.sdk.model import Model
from studio.sdk.notice import V1CompatibilityWarning
from studio.sdk.offline import OfflineRun
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
from studio.sdk.runconfig import (
    DockerConfiguration,
    MpiConfiguration,
    PyTorchConfiguration,
    RunConfiguration,
    TensorflowConfiguration,
)
from studio.sdk.widgets import RunDetails, set_diagnostics_collection
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
    "AmlCompute",
    "ComputeTarget",
    "SlurmCompute",
    "Pipeline",
    "PipelineParameter",
    "PipelineRun",
    "PythonScriptStep",
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
    "StepRun",
    "StepSequence",
    "StudioError",
    "ValidationError",
    "Workspace",
    # v1 run surface and azureml.widgets / azureml.telemetry
    "OfflineRun",
    "RunDetails",
    "set_diagnostics_collection",
    "V1CompatibilityWarning",
    # azureml.exceptions
    "ActivityFailedException",
    "AuthenticationException",
    "AzureMLException",
    "ComputeTargetException",
    "DatasetTimestampMissingError",
    "DiscoveryUrlNotFoundException",
    "ExperimentExecutionException",
    "ModelNotFoundException",
    "ModelPathNotFoundException",
    "ProjectSystemException",
    "RunConfigurationException",
    "RunEnvironmentException",
    "ServiceException",
    "SnapshotException",
    "TrainingException",
    "UserErrorException",
    "WebserviceException",
    "WorkspaceException",
]
