"""Validation of names, keys and values, shared by the services and the SDK.

No Django import: the SDK checks a ``run.log()`` call here before buffering it, and
the services check every write again, so a bad value fails at the call that made it.
Every failure is a ``ValidationError`` that names the field and says what was wrong.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping

from studio.errors import ValidationError

EXPERIMENT_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
WORKSPACE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
MAX_KEY = 255
MAX_TAG_VALUE = 5_000
MAX_PROPERTY_VALUE = 5_000
# Keys a run holds: each is loaded with the run, so they are bounded.
MAX_TAGS = 1_000
MAX_PROPERTIES = 1_000
# Runs one heartbeat keeps alive; the SDK sends more in several requests.
MAX_HEARTBEAT_RUNS = 1_000
MAX_TEXT_VALUE = 10_000
MAX_DISPLAY_NAME = 255
MAX_DESCRIPTION = 1_000_000
MAX_STEP = 2**63 - 1
# Point times must be plausible epoch seconds: 2000-01-01 .. 2100-01-01. Catches
# milliseconds passed as seconds and zero/negative times.
MIN_TIME = 946_684_800.0
MAX_TIME = 4_102_444_800.0
# Bidirectional overrides and zero-width characters make keys that look alike.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_encodable(value: str, field: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"{field} contains a lone surrogate character, which is not valid text.",
            field=field,
        ) from None
    if "\x00" in value:
        raise ValidationError(f"{field} contains a NUL character.", field=field)


def text(value: object, field: str, *, max_length: int, allow_empty: bool = True) -> str:
    """A free text value (tag value, description, text metric)."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, not {type(value).__name__}.", field=field)
    _check_encodable(value, field)
    if len(value) > max_length:
        raise ValidationError(
            f"{field} is {len(value)} characters long; the limit is {max_length}.", field=field
        )
    if not allow_empty and not value.strip():
        raise ValidationError(f"{field} must not be empty.", field=field)
    return value


def key(value: object, field: str = "key") -> str:
    """A metric, tag or property key: NFC, 1..255 characters, printable, no ``..`` tricks."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, not {type(value).__name__}.", field=field)
    _check_encodable(value, field)
    value = unicodedata.normalize("NFC", value)
    if not value.strip():
        raise ValidationError(f"{field} must not be empty or blank.", field=field)
    if len(value) > MAX_KEY:
        raise ValidationError(
            f"{field} is {len(value)} characters long; the limit is {MAX_KEY}.", field=field
        )
    if _CONTROL.search(value) or _INVISIBLE.search(value):
        raise ValidationError(
            f"{field} {value!r} contains control, bidirectional or zero-width characters.",
            field=field,
        )
    return value


# Metric names under this prefix are the system metrics a run's supervisor samples
# (CPU, memory, disk, network, GPU: ``studio.execution.sysmetrics``). The run's own
# code may not log them, so a chart named ``sys/...`` always means the same thing;
# the supervisor writes them through their own route (``system=True`` below).
SYSTEM_METRIC_PREFIX = "sys/"


def metric_name(value: object, field: str = "metric name", *, system: bool = False) -> str:
    """A metric key (``key``) on the right side of the reserved ``sys/`` prefix: a
    run's own metrics outside it, the supervisor's system metrics (``system``) in it."""
    name = key(value, field)
    if not system and name.startswith(SYSTEM_METRIC_PREFIX):
        raise ValidationError(
            f"Metric name {name!r} is reserved: names starting with "
            f"{SYSTEM_METRIC_PREFIX!r} hold the system metrics (CPU, memory, GPU) the "
            f"studio samples for a submitted run. Log it under another name, such as "
            f"{name[len(SYSTEM_METRIC_PREFIX) :] or 'system'!r}.",
            field=field,
        )
    if system and not name.startswith(SYSTEM_METRIC_PREFIX):
        raise ValidationError(
            f"System metric {name!r} must start with {SYSTEM_METRIC_PREFIX!r}.", field=field
        )
    return name


def experiment_name(value: object) -> str:
    if not isinstance(value, str) or not EXPERIMENT_NAME_RE.match(value):
        raise ValidationError(
            f"Experiment name {value!r} is invalid: use 1 to 255 letters, digits, '-' or '_'.",
            field="experiment",
        )
    return value


def workspace_name(value: object) -> str:
    if not isinstance(value, str) or not WORKSPACE_NAME_RE.match(value):
        raise ValidationError(
            f"Workspace name {value!r} is invalid: use 1 to 100 letters, digits, '-' or '_'.",
            field="workspace",
        )
    return value


def number(value: object, field: str = "value") -> float:
    """A metric number. Booleans are refused (``True`` is an ``int`` in Python).
    NaN and ±infinity are accepted and stored as they are."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise ValidationError(
                f"{field} {value} is too large for a float.", field=field
            ) from None
    raise ValidationError(
        f"{field} must be a number, not {kind.__name__} ({value!r}).", field=field
    )


def step(value: object, field: str = "step") -> int:
    if type(value) is not int:
        raise ValidationError(
            f"{field} must be an integer, not {type(value).__name__}.", field=field
        )
    if value < 0 or value > MAX_STEP:  # type: ignore[operator]
        raise ValidationError(f"{field} {value} is outside 0..2**63-1.", field=field)
    return value  # type: ignore[return-value]


def timestamp(value: object, field: str = "time") -> float:
    t = number(value, field)
    if not (MIN_TIME <= t <= MAX_TIME) or math.isnan(t):
        raise ValidationError(
            f"{field} {value!r} is not a plausible time in epoch seconds "
            "(2000-01-01 to 2100-01-01; milliseconds are not accepted).",
            field=field,
        )
    return t


def known_keys(value: object, allowed: tuple[str, ...], what: str, field: str) -> None:
    """``value`` is a mapping whose keys are all in ``allowed``, else a ValidationError
    naming the first unknown one and what is allowed (nothing outside an allowlist is
    ever stored or queried)."""
    if not isinstance(value, Mapping):
        raise ValidationError(f"{field} must be an object.", field=field)
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise ValidationError(
            f"Unknown {what} {unknown[0]!r}; allowed: {', '.join(allowed)}.", field=field
        )
