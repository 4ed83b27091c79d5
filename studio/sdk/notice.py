"""One-line warnings for what v1 code does that Studio turns into something else:
each is shown once per process per key (``warnings`` filters still apply), so a
loop that tags a thousand runs with numbers says so once."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

_warned: set[str] = set()


class V1CompatibilityWarning(UserWarning):
    """A v1 behaviour Studio changed, recorded instead of done, or converted."""


def warn_once(key: str, message: str, stacklevel: int = 3) -> None:
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(message, V1CompatibilityWarning, stacklevel=stacklevel)


def as_text(values: Mapping[str, Any], what: str, *, keep_none: bool = False) -> dict[str, Any]:
    """Tag or property values as strings, as v1 sends them: anything else goes
    through ``str()`` with a warning (``keep_none``: a tag without a value)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if (value is not None or not keep_none) and not isinstance(value, str):
            warn_once(
                f"{what}:{key}",
                f"{what} {key!r}: value {value!r} is not a string; stored as {str(value)!r}.",
                stacklevel=4,
            )
            value = str(value)
        out[key] = value
    return out
