"""v1 settings Studio accepts and records but cannot act on (they need Azure's cloud):
each is recorded on the run as a property and warned about once per process, in
one line, under its property name."""

from __future__ import annotations

from studio.sdk.notice import V1CompatibilityWarning, _warned, warn_once

# The one warning class and the one warn-once of the SDK (studio.sdk.notice).
StudioCompatibilityWarning = V1CompatibilityWarning
__all__ = ["StudioCompatibilityWarning", "_warned", "record", "warn_once"]


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
