"""v1's environments (``azureml.core.Environment``; ``CondaDependencies`` is in
``studio.sdk.conda``) with their signatures and serialized shape.

Studio does what v1 did where it can: an environment that is not user-managed runs
its script in a virtual environment built from its packages (``studio.execution.envs``),
``register`` / ``get`` / ``list`` keep versions per name in the workspace, and
``environment_variables`` are set in the job. Docker settings need Azure's cloud:
they are recorded on the run (``azureml.docker.*`` properties) and warned about once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from studio.errors import ValidationError
from studio.sdk.conda import PYTHON_DEFAULT_VERSION, CondaDependencies

if TYPE_CHECKING:
    from studio.sdk.workspace import Workspace

DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.3-cudnn8-ubuntu20.04"
_DEFAULT_SHM_SIZE = "2g"


class PythonSection:
    """Which Python runs the script: a venv built from ``conda_dependencies``, or
    (``user_managed_dependencies = True``) ``interpreter_path`` as it is."""

    def __init__(self, **kwargs):
        self.interpreter_path = "python"
        self._user_managed = False
        self._user_managed_set = False
        self.conda_dependencies = None if kwargs.get("_skip_defaults") else CondaDependencies()
        self.conda_dependencies_file = None
        self.base_conda_environment = None

    @property
    def user_managed_dependencies(self) -> bool:
        return self._user_managed

    @user_managed_dependencies.setter
    def user_managed_dependencies(self, value: bool) -> None:
        self._user_managed = bool(value)
        self._user_managed_set = True

    def _to_dict(self) -> dict[str, Any]:
        cd = self.conda_dependencies
        return {
            "userManagedDependencies": self._user_managed,
            "interpreterPath": self.interpreter_path,
            "condaDependenciesFile": self.conda_dependencies_file,
            "baseCondaEnvironment": self.base_conda_environment,
            "condaDependencies": cd.as_dict() if cd is not None else None,
        }

    def _load(self, data: Mapping[str, Any]) -> None:
        self._user_managed = bool(data.get("userManagedDependencies"))
        self.interpreter_path = data.get("interpreterPath") or "python"
        self.conda_dependencies_file = data.get("condaDependenciesFile")
        self.base_conda_environment = data.get("baseCondaEnvironment")
        deps = data.get("condaDependencies")
        self.conda_dependencies = (
            CondaDependencies(_underlying_structure=deps) if deps is not None else None
        )


class ContainerRegistry:
    """Where a Docker base image lives (recorded; the password never is)."""

    def __init__(self):
        self.address = None
        self.username = None
        self.password = None


class DockerImagePlatform:
    def __init__(self):
        self.os = "Linux"
        self.architecture = "amd64"


class DockerSection:
    """Docker settings of an environment: recorded on the run, not applied (Studio
    runs jobs in a virtual environment on the target machine)."""

    def __init__(self, **kwargs):
        skip = kwargs.get("_skip_defaults", False)
        self.enabled = False
        self.base_image = None if skip else DEFAULT_CPU_IMAGE
        self.base_dockerfile = None
        self.build_context = None
        self.base_image_registry = ContainerRegistry()
        self.platform = DockerImagePlatform()
        self.shared_volumes = True
        self.shm_size = None if skip else _DEFAULT_SHM_SIZE
        self.arguments: list[str] = []
        self.gpu_support = True

    def _to_dict(self) -> dict[str, Any]:
        registry = self.base_image_registry
        return {
            "enabled": self.enabled,
            "baseImage": self.base_image,
            "baseDockerfile": self.base_dockerfile,
            "buildContext": None if self.build_context is None else str(self.build_context),
            "sharedVolumes": self.shared_volumes,
            "shmSize": self.shm_size,
            "arguments": list(self.arguments or []),
            "baseImageRegistry": {
                "address": getattr(registry, "address", None),
                "username": getattr(registry, "username", None),
                "password": None,
            },
            "platform": {"os": self.platform.os, "architecture": self.platform.architecture},
        }

    def _load(self, data: Mapping[str, Any]) -> None:
        self.enabled = bool(data.get("enabled"))
        self.base_image = data.get("baseImage")
        self.base_dockerfile = data.get("baseDockerfile")
        self.build_context = data.get("buildContext")
        self.shared_volumes = data.get("sharedVolumes", True)
        self.shm_size = data.get("shmSize")
        self.arguments = list(data.get("arguments") or [])
        registry = data.get("baseImageRegistry") or {}
        self.base_image_registry.address = registry.get("address")
        self.base_image_registry.username = registry.get("username")


class SparkSection:
    def __init__(self, **kwargs):
        self.repositories: list[str] = []
        self.packages: list = []
        self.precache_packages = True


class Environment:
    """A reproducible Python environment: packages, environment variables, Docker
    settings. Registered environments are versioned per name in the workspace."""

    def __init__(self, name: str, **kwargs):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Environment name expected str, {type(name)} found")
        skip = kwargs.get("_skip_defaults", False)
        self.name = name
        self.version: str | None = None
        self.python = PythonSection(_skip_defaults=skip)
        self.docker = DockerSection(_skip_defaults=skip)
        self.spark = SparkSection()
        self.databricks = None
        self.r = None
        self.inferencing_stack_version = None
        self.asset_id = None
        self.environment_variables: dict[str, str] = (
            {} if skip else {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
        )
        self._implicit = False  # RunConfiguration's own default, never set by the user

    def __str__(self) -> str:
        return f"Environment(Name: {self.name},\nVersion: {self.version})"

    def __repr__(self) -> str:
        return json.dumps(self._serialize_to_dict(), indent=4, sort_keys=True)

    # --- v1's constructors -----------------------------------------------------------

    @staticmethod
    def from_pip_requirements(name: str, file_path, pip_version=None) -> Environment:
        env = Environment(name=name)
        with open(file_path) as f:
            env.python.conda_dependencies.set_pip_requirements(f.read().splitlines())
        env.python.conda_dependencies.add_conda_package(
            f"pip={pip_version}" if pip_version else "pip"
        )
        return env

    @staticmethod
    def from_conda_specification(name: str, file_path) -> Environment:
        cd = CondaDependencies(conda_dependencies_file_path=file_path)
        if not cd.get_python_version():
            cd.set_python_version(PYTHON_DEFAULT_VERSION)
        env = Environment(name=name)
        env.python.conda_dependencies = cd
        return env

    @staticmethod
    def from_existing_conda_environment(name: str, conda_environment_name: str):
        """v1 exports it with ``conda env export``; None when that is not possible."""
        import shutil
        import subprocess
        import tempfile

        if shutil.which("conda") is None:
            print("Unable to run Conda package manager. Please make sure Conda is installed.")
            return None
        exported = subprocess.run(
            ["conda", "env", "export", "--no-builds", "--name", conda_environment_name],
            capture_output=True,
        )
        if exported.returncode != 0:
            print(f"Could not find existing conda environment named: {conda_environment_name}")
            return None
        with tempfile.NamedTemporaryFile("wb", suffix=".yml", delete=False) as f:
            f.write(exported.stdout)
        try:
            return Environment.from_conda_specification(name, f.name)
        finally:
            os.unlink(f.name)

    @staticmethod
    def from_docker_image(
        name, image, container_registry=None, conda_specification=None, pip_requirements=None
    ) -> Environment:
        env = Environment._from_dependencies(name, conda_specification, pip_requirements)
        env.docker.base_image = image
        if container_registry is not None:
            env.docker.base_image_registry = container_registry
        return env

    @staticmethod
    def from_dockerfile(name, dockerfile, conda_specification=None, pip_requirements=None):
        env = Environment._from_dependencies(name, conda_specification, pip_requirements)
        env.docker.base_image = None
        if isinstance(dockerfile, str) and os.path.isfile(dockerfile):
            with open(dockerfile) as f:
                dockerfile = f.read()
        env.docker.base_dockerfile = dockerfile
        return env

    @staticmethod
    def _from_dependencies(name, conda_specification=None, pip_requirements=None):
        if conda_specification and pip_requirements:
            raise ValidationError(
                "Only one of conda_specification or pip_requirements can be specified.",
                field="pip_requirements",
            )
        if conda_specification:
            return Environment.from_conda_specification(name, conda_specification)
        if pip_requirements:
            return Environment.from_pip_requirements(name, pip_requirements)
        env = Environment(name)
        env.python.user_managed_dependencies = True
        return env

    def clone(self, new_name: str) -> Environment:
        env = Environment._deserialize_and_add_to_object(self._serialize_to_dict())
        env.name, env.version, env.asset_id = new_name, None, None
        return env

    # --- the workspace's registry ----------------------------------------------------

    def register(self, workspace: Workspace) -> Environment:
        """Store this definition in ``workspace``: a new version of its name, or the
        latest one again when nothing changed. Returns the registered environment."""
        if not self.name:
            raise ValidationError("An environment needs a name to be registered.", field="name")
        data = workspace._store.register_environment(workspace.name, self._serialize_to_dict())
        return Environment._from_record(data)

    @staticmethod
    def get(workspace: Workspace, name: str, version=None, label=None) -> Environment:
        if label is not None:
            from studio.sdk.recorded import warn_once

            warn_once("environment.label", "Environment labels are not kept; label= is ignored.")
        data = workspace._store.get_environment(
            workspace.name, name, None if version is None else str(version)
        )
        return Environment._from_record(data)

    @staticmethod
    def list(workspace: Workspace) -> dict[str, Environment]:
        """The latest version of each environment of the workspace, by name."""
        return {
            row["name"]: Environment._from_record(row)
            for row in workspace._store.list_environments(workspace.name)
        }

    def build(self, workspace: Workspace, image_build_compute=None):
        """v1 builds a Docker image in the cloud; Studio registers the environment
        and builds its virtual environment when a run first uses it."""
        from studio.sdk.recorded import warn_once

        warn_once(
            "environment.build",
            "Environment.build() registers the environment; its virtual environment "
            "is built when a run first uses it.",
        )
        return self.register(workspace)

    def get_image_details(self, workspace: Workspace) -> dict[str, Any]:
        return {"imageExistsInRegistry": False, "dockerImage": None, "pythonEnvironment": None}

    def save_to_directory(self, path, overwrite: bool = False) -> None:
        os.makedirs(path, exist_ok=overwrite)
        definition = self._serialize_to_dict()
        if self.python.conda_dependencies is not None:
            self.python.conda_dependencies.save(os.path.join(path, "conda_dependencies.yml"))
            definition["python"].pop("condaDependencies", None)
        with open(os.path.join(path, "azureml_environment.json"), "w") as f:
            json.dump(definition, f, indent=4)

    @staticmethod
    def load_from_directory(path) -> Environment:
        with open(os.path.join(path, "azureml_environment.json")) as f:
            env = Environment._deserialize_and_add_to_object(json.load(f))
        conda_file = os.path.join(path, "conda_dependencies.yml")
        if os.path.isfile(conda_file):
            env.python.conda_dependencies = CondaDependencies(conda_file)
        return env

    # --- serialized shape (v1's) -----------------------------------------------------

    def _serialize_to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "assetId": self.asset_id,
            "environmentVariables": dict(self.environment_variables or {}),
            "python": self.python._to_dict(),
            "docker": self.docker._to_dict(),
            "spark": {
                "repositories": list(self.spark.repositories),
                "packages": [str(p) for p in self.spark.packages],
                "precachePackages": self.spark.precache_packages,
            },
            "databricks": None,
            "r": None,
            "inferencingStackVersion": self.inferencing_stack_version,
        }

    @staticmethod
    def _deserialize_and_add_to_object(data: Mapping[str, Any]) -> Environment:
        env = Environment(data.get("name"), _skip_defaults=True)
        env.version = None if data.get("version") is None else str(data["version"])
        env.asset_id = data.get("assetId")
        env.environment_variables = dict(data.get("environmentVariables") or {})
        env.python._load(data.get("python") or {})
        env.docker._load(data.get("docker") or {})
        env.inferencing_stack_version = data.get("inferencingStackVersion")
        return env

    @staticmethod
    def _from_record(record: Mapping[str, Any]) -> Environment:
        env = Environment._deserialize_and_add_to_object(record["definition"])
        env.name, env.version = record["name"], str(record["version"])
        return env

    def _for_submit(self) -> dict[str, Any] | None:
        """The definition a submitted run records, or None for RunConfiguration's
        untouched default (the submitter's interpreter, as before)."""
        if self._implicit and not self.python._user_managed_set:
            cd = self.python.conda_dependencies
            if cd is None or not cd._user_packages():
                return None
        return self._serialize_to_dict()


class EnvironmentReference:
    """A registered environment named by name and version."""

    def __init__(self, name: str, version=None):
        self.name = name
        self.version = version

    def get_environment(self, workspace: Workspace) -> Environment:
        return Environment.get(workspace, self.name, self.version)


def environment_of(properties: Mapping[str, str]) -> dict[str, str] | None:
    """The environment a run recorded (``runDefinition["environment"]`` of
    ``get_details()``): name and version, and the hash of the virtual environment
    and the Python it ran on once its supervisor built or found it."""
    keys = {
        "name": "azureml.environment.name",
        "version": "azureml.environment.version",
        "hash": "azureml.environment.hash",
        "python": "azureml.environment.python",
    }
    found = {k: properties[p] for k, p in keys.items() if p in properties}
    return found or None
