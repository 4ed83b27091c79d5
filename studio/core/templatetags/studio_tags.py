"""Display helpers for templates: compact relative times and durations.

Formatting only; what to show is decided by views and selectors.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

register = template.Library()

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


@register.filter
def reltime(value: datetime | None, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 d ago``, then a date."""
    if value is None:
        return ""
    now = now or timezone.now()
    seconds = (now - value).total_seconds()
    if seconds < 0:
        return "just now"  # a clock a little ahead of ours
    if seconds < 45:
        return "just now"
    if seconds < _HOUR:
        return f"{max(1, round(seconds / _MINUTE))} min ago"
    if seconds < _DAY:
        return f"{int(seconds // _HOUR)} h ago"
    if seconds < 7 * _DAY:
        return f"{int(seconds // _DAY)} d ago"
    local = timezone.localtime(value)
    if local.year == timezone.localtime(now).year:
        return local.strftime("%-d %b")
    return local.strftime("%-d %b %Y")


def _format_seconds(seconds: float) -> str:
    if seconds < 1:
        return "<1s"
    seconds = int(seconds)
    if seconds < _MINUTE:
        return f"{seconds}s"
    if seconds < _HOUR:
        return f"{seconds // _MINUTE}m {seconds % _MINUTE:02d}s"
    if seconds < _DAY:
        return f"{seconds // _HOUR}h {seconds % _HOUR // _MINUTE:02d}m"
    return f"{seconds // _DAY}d {seconds % _DAY // _HOUR:02d}h"


@register.filter
def run_duration(run, now: datetime | None = None) -> str:
    """How long the run has run: start to end, or to now while it has no end."""
    if run.started_at is None:
        return ""
    end = run.ended_at or now or timezone.now()
    return _format_seconds(max(timedelta(0), end - run.started_at).total_seconds())
