"""v1's ``azureml.core.conda_dependencies``: ``CondaDependencies``, a conda
environment specification (conda packages, a ``pip`` section, channels) read from
and written as YAML, with v1's methods."""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

from studio.errors import ValidationError

# v1 defaults to Python 3.8.13; Studio's jobs run on the interpreter its SDK runs on.
PYTHON_DEFAULT_VERSION = (
    f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
)
DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.3-cudnn8-ubuntu20.04"
DEFAULT_SDK_ORIGIN = "https://pypi.python.org/simple"
_DEFAULT_SHM_SIZE = "2g"
_VALID_YML_KEYS = ("name", "channels", "dependencies", "prefix", "variables")
PIP = "pip"
PACKAGES = "dependencies"
CHANNELS = "channels"


def _yaml():
    import yaml

    return yaml


def _package_name(value: str) -> str:
    if value.endswith(".whl"):
        return re.split("-", re.split("/", value)[-1])[0]
    return re.split(r"[\[=|<>~!\s]", value.strip(), maxsplit=1)[0]


def _is_python(spec: str) -> bool:
    return isinstance(spec, str) and _package_name(spec) == "python"


class CondaDependencies:
    """A conda environment specification: conda packages, a ``pip`` section, channels."""

    def __init__(self, conda_dependencies_file_path=None, _underlying_structure=None):
        if conda_dependencies_file_path:
            with open(conda_dependencies_file_path) as f:
                loaded = _yaml().safe_load(f)
        elif _underlying_structure is not None:
            loaded = copy.deepcopy(_underlying_structure)
        else:
            loaded = {
                "name": "project_environment",
                PACKAGES: [f"python={PYTHON_DEFAULT_VERSION}", {PIP: ["azureml-defaults"]}],
                CHANNELS: ["anaconda", "conda-forge"],
            }
        if not isinstance(loaded, dict):
            raise ValidationError("Environment error: not a valid YAML structure", field="conda")
        for key in loaded:
            if str(key) not in _VALID_YML_KEYS:
                raise ValidationError(
                    f"Environment error: unknown {key} key in environment specification",
                    field="conda",
                )
        loaded.setdefault(PACKAGES, [])
        self._conda_dependencies: dict[str, Any] = loaded
        self._python_version = self.get_python_version()

    @staticmethod
    def create(
        pip_indexurl=None,
        pip_packages=None,
        conda_packages=None,
        python_version=PYTHON_DEFAULT_VERSION,
        pin_sdk_version=True,
    ) -> CondaDependencies:
        cd = CondaDependencies()
        if pip_indexurl:
            cd.set_pip_index_url(f"--index-url {pip_indexurl}")
            cd.set_pip_option(f"--extra-index-url {DEFAULT_SDK_ORIGIN}")
        cd.set_python_version(python_version)
        if pip_packages is None:
            pip_packages = ["azureml-defaults"]
        else:
            for package in list(cd.pip_packages):
                cd.remove_pip_package(package)
        for package in pip_packages:
            cd.add_pip_package(package)
        for package in conda_packages or ():
            cd.add_conda_package(package)
        return cd

    @staticmethod
    def merge_requirements(requirements) -> list[str]:
        packages: dict[str, list[str]] = {}
        for req in requirements:
            name = _package_name(req)
            packages.setdefault(name, []).append(req[len(name) :].strip())
        return [f"{name}{','.join(x for x in reqs if x)}" for name, reqs in packages.items()]

    @staticmethod
    def sdk_origin_url() -> str:
        return DEFAULT_SDK_ORIGIN

    # --- reading ---------------------------------------------------------------------

    def _deps(self) -> list:
        return self._conda_dependencies.setdefault(PACKAGES, [])

    def _pip_section(self) -> list | None:
        for item in self._deps():
            if isinstance(item, dict) and PIP in item:
                if item[PIP] is None:
                    item[PIP] = []
                return item[PIP]
        return None

    @property
    def conda_channels(self) -> Iterator[str]:
        return iter(list(self._conda_dependencies.get(CHANNELS) or []))

    @property
    def conda_packages(self) -> Iterator[str]:
        return iter([d for d in self._deps() if isinstance(d, str)])

    @property
    def pip_packages(self) -> Iterator[str]:
        return iter([p for p in self._pip_section() or [] if not str(p).startswith("-")])

    @property
    def pip_options(self) -> Iterator[str]:
        return iter([p for p in self._pip_section() or [] if str(p).startswith("-")])

    def get_python_version(self) -> str | None:
        for item in self._deps():
            if _is_python(item):
                version = re.split(r"[=<>~!\s]+", item.strip(), maxsplit=1)
                return version[1] if len(version) > 1 and version[1] else None
        return None

    # --- changing --------------------------------------------------------------------

    def set_python_version(self, version: str) -> None:
        deps = self._deps()
        for i, item in enumerate(deps):
            if _is_python(item):
                deps[i] = f"python={version}"
                break
        else:
            deps.insert(0, f"python={version}")
        self._python_version = version

    def add_channel(self, channel: str) -> None:
        channels = self._conda_dependencies.setdefault(CHANNELS, [])
        if channel not in channels:
            channels.append(channel)

    def remove_channel(self, channel: str) -> None:
        channels = self._conda_dependencies.get(CHANNELS) or []
        if channel in channels:
            channels.remove(channel)

    def add_conda_package(self, conda_package: str) -> None:
        if _is_python(conda_package):
            version = self.__class__(_underlying_structure={PACKAGES: [conda_package]})
            if version.get_python_version():
                self.set_python_version(version.get_python_version())
            return
        deps = self._deps()
        if conda_package not in deps:
            # Before the pip section, where conda files keep them.
            at = next((i for i, d in enumerate(deps) if isinstance(d, dict)), len(deps))
            deps.insert(at, conda_package)

    def remove_conda_package(self, conda_package: str) -> None:
        if _is_python(conda_package):
            raise ValidationError(
                "python must not be removed from conda dependencies", field="conda"
            )
        deps = self._deps()
        if conda_package in deps:
            deps.remove(conda_package)

    def add_pip_package(self, pip_package: str) -> None:
        if pip_package.startswith("-"):
            raise ValidationError(f"Invalid package name {pip_package}", field="pip_package")
        self.remove_pip_package(pip_package)
        section = self._pip_section()
        if section is None:
            self._deps().append({PIP: [pip_package]})
        else:
            section.append(pip_package)

    def remove_pip_package(self, pip_package: str) -> None:
        if pip_package.startswith("-"):
            raise ValidationError(f"Invalid package name {pip_package}", field="pip_package")
        section = self._pip_section()
        if section is None:
            return
        name = _package_name(pip_package)
        section[:] = [p for p in section if str(p).startswith("-") or _package_name(p) != name]

    def set_pip_option(self, pip_option: str) -> None:
        if not pip_option.startswith("-"):
            raise ValidationError(f"Invalid pip option {pip_option}", field="pip_option")
        section = self._pip_section()
        if section is None:
            self._deps().append({PIP: [pip_option]})
            return
        flag = pip_option.split()[0]
        for i, item in enumerate(section):
            if str(item).startswith("-") and str(item).split()[0] == flag:
                section[i] = pip_option
                return
        section.insert(0, pip_option)

    def remove_pip_option(self, pip_option: str) -> None:
        section = self._pip_section() or []
        flag = pip_option.split()[0]
        section[:] = [
            p for p in section if not (str(p).startswith("-") and str(p).split()[0] == flag)
        ]

    def set_pip_index_url(self, index_url: str) -> None:
        self.set_pip_option(index_url)

    def set_pip_requirements(self, pip_requirements) -> None:
        section = self._pip_section()
        if section is None:
            self._deps().append({PIP: list(pip_requirements)})
        else:
            section[:] = list(pip_requirements)

    # --- writing ---------------------------------------------------------------------

    def serialize_to_string(self) -> str:
        return _yaml().safe_dump(
            self._conda_dependencies, sort_keys=False, default_flow_style=False
        )

    def save(self, path=None) -> str:
        if path is None or os.path.isdir(path):
            raise ValidationError(
                "Cannot save a conda environment specification file to a directory. "
                "Please specify a fully qualified path along with the file name.",
                field="path",
            )
        with open(path, "w") as f:
            f.write(self.serialize_to_string())
        return str(path)

    def save_to_file(self, base_directory, conda_file_path=None) -> str:
        conda_file_path = conda_file_path or ".azureml/auto_conda_dependencies.yml"
        full = os.path.join(os.path.abspath(base_directory), conda_file_path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        self.save(full)
        return conda_file_path

    def as_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._conda_dependencies))

    def _user_packages(self) -> list[str]:
        """What a user asked for beyond v1's defaults (python, pip, azureml-*)."""
        conda = [p for p in self.conda_packages if not _is_python(p) and _package_name(p) != "pip"]
        pip = [p for p in self.pip_packages if not _package_name(p).startswith("azureml")]
        return conda + pip

    def __repr__(self) -> str:
        return self.serialize_to_string()
