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


def format_duration(seconds: float) -> str:
    """The one way a duration reads: ``0.4 s``, ``42 s``, ``3 min 50 s``, ``2 h 5 min``,
    ``1 d 3 h``; precise below a minute (a run that lasted under a second says so)."""
    seconds = max(0.0, float(seconds))
    if seconds < 0.05:
        return "< 0.1 s" if seconds else "0 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < _MINUTE:
        return f"{whole} s"
    if whole >= _DAY:
        unit, name, sub, sub_name = _DAY, "d", _HOUR, "h"
    elif whole >= _HOUR:
        unit, name, sub, sub_name = _HOUR, "h", _MINUTE, "min"
    else:
        unit, name, sub, sub_name = _MINUTE, "min", 1, "s"
    big, rest = divmod(whole, unit)
    small = rest // sub
    return f"{big} {name} {small} {sub_name}" if small else f"{big} {name}"


@register.filter
def duration(seconds: float | None) -> str:
    """``format_duration`` for a number of seconds in a template; empty for none."""
    return "" if seconds is None else format_duration(seconds)


@register.filter
def run_duration(run, now: datetime | None = None) -> str:
    """How long the run has run: start to end, or to now while it has no end."""
    if run.started_at is None:
        return ""
    end = run.ended_at or now or timezone.now()
    return format_duration(max(timedelta(0), end - run.started_at).total_seconds())
