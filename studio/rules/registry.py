"""Rules of the model registry shared by the services and the SDK (no Django import):
model names, the v1 tag and property filters, and which files a model path names.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence

from studio.errors import ValidationError
from studio.rules import validation
from studio.rules.filenames import check_file_name

# v1's rule (azureml._model_management._util.model_name_validation).
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
MAX_MODEL_TAGS = 100
MAX_MODEL_FILES = 10_000


def model_name(value: object) -> str:
    if not isinstance(value, str) or not MODEL_NAME_RE.match(value):
        raise ValidationError(
            f"Model name {value!r} is invalid: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 255 characters.",
            field="model_name",
        )
    return value


def model_version(value: object) -> int:
    """A version number: a positive int (v1 also takes its string form)."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if type(value) is not int or value < 1:
        raise ValidationError(
            f"Model version {value!r} is not a positive integer.", field="version"
        )
    return value


def string_map(value: object, what: str) -> dict[str, str]:
    """Tags or properties of a model: string keys and values (v1 sends JSON)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"Model {what} must be a dict.", field=what)
    if len(value) > MAX_MODEL_TAGS:
        raise ValidationError(f"A model takes at most {MAX_MODEL_TAGS} {what}.", field=what)
    return {
        validation.key(k, f"{what} key"): validation.text(
            v, f"{what} value", max_length=validation.MAX_TAG_VALUE
        )
        for k, v in value.items()
    }


def filters(value: object, what: str) -> list[tuple[str, str | None]]:
    """v1's filter list, ``['key', ['key2', 'value2']]``, as (key, value or None)."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        value = [[k, v] for k, v in value.items()]
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(
            f"{what} filters are a list: ['key', ['key2', 'value2']].", field=what
        )
    out: list[tuple[str, str | None]] = []
    for item in value:
        if isinstance(item, str):
            out.append((validation.key(item, f"{what} key"), None))
        elif isinstance(item, Sequence) and len(item) == 2:
            key, val = item
            out.append(
                (
                    validation.key(key, f"{what} key"),
                    validation.text(val, f"{what} value", max_length=validation.MAX_TAG_VALUE),
                )
            )
        else:
            raise ValidationError(
                f"{what} filter {item!r} is neither 'key' nor ['key', 'value'].", field=what
            )
    return out


def filter_param(item: tuple[str, str | None]) -> str:
    """A filter as one query parameter value: ``key`` or ``key=value``."""
    key, value = item
    return key if value is None else f"{key}={value}"


def parse_filter_param(text: str, what: str) -> tuple[str, str | None]:
    key, sep, value = text.partition("=")
    return validation.key(key, f"{what} key"), (value if sep else None)


def model_path(value: object) -> str:
    """A path inside a run's files (``outputs/model.pkl``, ``./outputs/net/``)
    normalized as v1 does it, then checked like any file name."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("A model path is required.", field="model_path")
    clean = posixpath.normpath(value.replace("\\", "/"))
    return check_file_name(clean.lstrip("/") if clean != "/" else "", field="model_path")


def files_under(path: str, names: Iterable[str]) -> dict[str, str]:
    """The run files ``path`` names (the file itself, or every file of the folder),
    each mapped to its name in the model: relative to the path's parent, as v1's
    download lays them out (``outputs/model.pkl`` -> ``model.pkl``)."""
    parent = posixpath.dirname(path)
    strip = len(parent) + 1 if parent else 0
    return {name: name[strip:] for name in names if name == path or name.startswith(path + "/")}
