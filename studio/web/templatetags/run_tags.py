"""Formatting for the run page and compare: time spent in a status, file sizes and
metric values. Formatting only; what to show is decided by the views."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from studio.core.templatetags.studio_tags import format_duration

register = template.Library()


@register.filter
def since(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago ``value`` was, as a duration: ``3 min 5 s``."""
    if value is None:
        return ""
    return format_duration(max(timedelta(0), (now or timezone.now()) - value).total_seconds())


@register.filter
def filesize(value: int | None) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


@register.filter
def num(value) -> str:
    """A metric value with 4 significant digits; ``—`` for nothing, words for NaN."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return f"{value:.4g}"


@register.filter
def get(mapping, key):
    """``mapping[key]`` in a template (None when missing)."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
