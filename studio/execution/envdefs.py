"""What an environment definition (v1's serialized ``Environment``) must look like
to be kept, and what of it the run and the studio show. No Django import."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from studio.errors import ValidationError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._\-]{0,254}$")
VARIABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
MAX_DEFINITION = 256 * 1024  # bytes of JSON
MAX_VARIABLES = 200
MAX_VARIABLE_VALUE = 32 * 1024
# Set by Studio in every job; a run's variables may not replace them.
RESERVED_PREFIXES = ("STUDIO_",)
RESERVED = {"PYTHONPATH", "PATH", "HOME", "DATABASE_URL"}
# Run properties naming the environment a run uses.
NAME = "azureml.environment.name"
VERSION = "azureml.environment.version"
HASH = "azureml.environment.hash"
PYTHON = "azureml.environment.python"


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValidationError(
            "An environment name is 1 to 255 letters, digits, spaces, '.', '-' or '_', "
            f"starting with a letter or digit; not {name!r}.",
            field="environment.name",
        )
    return name


def check_variables(variables: object, field: str) -> dict[str, str]:
    if not isinstance(variables, Mapping):
        raise ValidationError(f"{field} must be a mapping of name to value.", field=field)
    if len(variables) > MAX_VARIABLES:
        raise ValidationError(f"At most {MAX_VARIABLES} {field} are set in a job.", field=field)
    clean = {}
    for key, value in variables.items():
        if not isinstance(key, str) or not VARIABLE_RE.match(key):
            raise ValidationError(f"{key!r} is not an environment variable name.", field=field)
        if key in RESERVED or key.startswith(RESERVED_PREFIXES):
            raise ValidationError(f"{key} is set by Studio in every job.", field=f"{field}.{key}")
        if not isinstance(value, str) or len(value) > MAX_VARIABLE_VALUE or "\x00" in value:
            raise ValidationError(
                f"The value of {key} must be text of at most {MAX_VARIABLE_VALUE} characters.",
                field=f"{field}.{key}",
            )
        clean[key] = value
    return clean


def check_definition(definition: object) -> tuple[str, dict[str, Any], str]:
    """(name, the definition as kept, the hash of its content without name and version)."""
    if not isinstance(definition, Mapping):
        raise ValidationError("An environment definition is a mapping.", field="environment")
    try:
        text = json.dumps(definition, sort_keys=True)
    except (TypeError, ValueError):
        raise ValidationError(
            "An environment definition is JSON data.", field="environment"
        ) from None
    if len(text) > MAX_DEFINITION:
        raise ValidationError(
            f"The environment definition is {len(text)} bytes; the limit is {MAX_DEFINITION}.",
            field="environment",
        )
    clean = json.loads(text)
    name = check_name(clean.get("name"))
    for section in ("python", "docker"):
        if clean.get(section) is not None and not isinstance(clean[section], Mapping):
            raise ValidationError(f"environment.{section} must be a mapping.", field="environment")
    check_variables(clean.get("environmentVariables") or {}, "environment.environmentVariables")
    registry = (clean.get("docker") or {}).get("baseImageRegistry")
    if isinstance(registry, dict):
        registry["password"] = None  # a secret is never kept
    content = {k: v for k, v in clean.items() if k not in ("name", "version", "assetId")}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return name, clean, digest


def wanted_version(definition: Mapping[str, Any]) -> int | None:
    """The version a definition names (v1's ``env.version = "2"``), if it is a number."""
    value = definition.get("version")
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def run_properties(name: str, version: int) -> dict[str, str]:
    return {NAME: name, VERSION: str(version)}


def packages(definition: Mapping[str, Any]) -> dict[str, list[str]]:
    """The conda and pip packages a definition lists (for the studio's page)."""
    python = definition.get("python") or {}
    conda, pip = [], []
    for item in (python.get("condaDependencies") or {}).get("dependencies") or []:
        if isinstance(item, Mapping):
            pip += [str(p) for p in item.get("pip") or [] if not str(p).startswith("-")]
        else:
            conda.append(str(item))
    return {"conda": conda, "pip": pip}


def user_managed(definition: Mapping[str, Any]) -> bool:
    return bool((definition.get("python") or {}).get("userManagedDependencies"))
