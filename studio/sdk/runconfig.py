"""v1's ``azureml.core.runconfig``: ``RunConfiguration`` (what a script run needs:
target, environment, arguments, ...), ``DockerConfiguration`` and the distributed
job configurations.

Studio acts on ``target``, ``environment``, ``script``, ``arguments`` and
``environment_variables``. Docker, node counts, distributed and cluster settings
need Azure's cloud: ``recorded_properties`` turns those that differ from v1's
defaults into ``azureml.*`` properties of the run, each warned about once.
"""

from __future__ import annotations

from typing import Any

from studio.sdk.environment import (
    DEFAULT_CPU_IMAGE,
    CondaDependencies,
    Environment,
)
from studio.sdk.recorded import record

LOCAL = "local"
CLOUD = "it needs Azure's cloud; Studio runs the script in a virtual environment on the target"


class DockerConfiguration:
    """Whether and how a run uses Docker (recorded, not applied)."""

    def __init__(self, use_docker=None, shared_volumes=None, arguments=None, shm_size=None):
        self.use_docker = use_docker
        self.shared_volumes = shared_volumes
        self.arguments = arguments
        self.shm_size = shm_size

    def _settings(self) -> dict[str, Any]:
        values = {
            "use_docker": self.use_docker,
            "shared_volumes": self.shared_volumes,
            "arguments": self.arguments,
            "shm_size": self.shm_size,
        }
        return {k: v for k, v in values.items() if v is not None}


class MpiConfiguration:
    def __init__(self, process_count_per_node=1, node_count=1):
        self.process_count_per_node = process_count_per_node
        self.node_count = node_count


class PyTorchConfiguration:
    def __init__(self, communication_backend="Nccl", process_count=None, node_count=1):
        self.communication_backend = communication_backend
        self.process_count = process_count
        self.node_count = node_count


class TensorflowConfiguration:
    def __init__(self, worker_count=1, parameter_server_count=1):
        self.worker_count = worker_count
        self.parameter_server_count = parameter_server_count


class HistoryConfiguration:
    def __init__(self):
        self.output_collection = True
        self.snapshot_project = True
        self.directories_to_watch = ["logs"]


class AmlComputeConfiguration:
    def __init__(self):
        self.vm_size = None
        self.vm_priority = None
        self.cluster_max_node_count = None
        self._retain_cluster = False


class RunConfiguration:
    """What a script run needs. ``target`` is a compute target name (or a
    ``ComputeTarget``); ``environment`` an ``Environment``."""

    def __init__(
        self,
        script=None,
        arguments=None,
        framework=None,
        communicator=None,
        conda_dependencies=None,
        _history_enabled=None,
        _path=None,
        _name=None,
        command=None,
    ):
        self.script = script
        self.arguments = list(arguments or [])
        self.command = command
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.target = LOCAL
        self.node_count = 1
        self.priority = None
        self.max_run_duration_seconds = None
        self.environment_variables: dict[str, str] = {}
        self.environment = Environment(name=_name or "studio-default")
        self.environment._implicit = True
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        self.docker = DockerConfiguration()
        self.history = HistoryConfiguration()
        self.amlcompute = AmlComputeConfiguration()
        self.mpi = MpiConfiguration()
        self.pytorch = PyTorchConfiguration()
        self.tensorflow = TensorflowConfiguration()
        self.data_references: dict = {}
        self.data: dict = {}
        self.output_data: dict = {}
        self.source_directory_data_store = None
        self.credential_passthrough = False
        self._distributed_job_config = None

    @property
    def target(self) -> str:
        return self._target

    @target.setter
    def target(self, value) -> None:
        # A name or a ComputeTarget (anything with a name), as v1 takes both.
        name = value if isinstance(value, str) or value is None else getattr(value, "name", value)
        self._target = name or LOCAL

    @property
    def conda_dependencies(self) -> CondaDependencies | None:
        return self.environment.python.conda_dependencies

    @conda_dependencies.setter
    def conda_dependencies(self, value: CondaDependencies) -> None:
        self.environment.python.conda_dependencies = value

    def recorded_properties(self) -> dict[str, str]:
        """The settings Studio cannot apply, as run properties (warned once each)."""
        props: dict[str, str] = {}
        if self.node_count not in (None, 1):
            record(props, "azureml.node_count", str(self.node_count), "Studio runs one process")
        if docker := self.docker._settings() if self.docker is not None else {}:
            record(props, "azureml.docker.configuration", docker, CLOUD)
        job = self._distributed_job_config
        if job is not None:
            settings = {k: v for k, v in vars(job).items() if not k.startswith("_")}
            value = {"type": type(job).__name__, **settings}
            record(props, "azureml.distributed", value, "Studio runs one process per run")
        if self.amlcompute.vm_size or self.amlcompute.vm_priority:
            record(props, "azureml.amlcompute", vars(self.amlcompute), CLOUD)
        if self.max_run_duration_seconds:
            record(
                props,
                "azureml.max_run_duration_seconds",
                str(self.max_run_duration_seconds),
                "cancel the run from the studio or the SDK instead",
            )
        env = self.environment
        docker_env = env.docker._to_dict() if env is not None else {}
        if env is not None:
            if docker_env.get("baseImage") not in (None, DEFAULT_CPU_IMAGE):
                record(props, "azureml.docker.base_image", docker_env["baseImage"], CLOUD)
            if docker_env.get("baseDockerfile"):
                record(
                    props,
                    "azureml.docker.base_dockerfile",
                    docker_env["baseDockerfile"][:4000],
                    CLOUD,
                )
            if docker_env.get("enabled"):
                record(props, "azureml.docker.enabled", "True", CLOUD)
        return props
