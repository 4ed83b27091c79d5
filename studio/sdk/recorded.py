"""v1 settings Studio accepts and records but cannot act on (they need Azure's cloud):
each is recorded on the run as a property and warned about once per process, in
one line, under its property name."""

from __future__ import annotations

import warnings

_warned: set[str] = set()


class StudioCompatibilityWarning(UserWarning):
    """A v1 setting that Studio records on the run without acting on it."""


def warn_once(name: str, message: str) -> None:
    """Warn about ``name`` once per process (Python's own ``once`` filter is per
    call site and message, which repeats across runs and values)."""
    if name in _warned:
        return
    _warned.add(name)
    warnings.warn(f"studio: {message}", StudioCompatibilityWarning, stacklevel=3)


def record(properties: dict[str, str], name: str, value: object, why: str) -> None:
    """Put ``value`` in ``properties`` under ``name`` (as text) and warn once."""
    properties[name] = value if isinstance(value, str) else _text(value)
    warn_once(name, f"{name} is recorded on the run, not applied: {why}")


def _text(value: object) -> str:
    import json

    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)
