"""Formatting for runs lists. Formatting only; what to show is decided by views."""

from __future__ import annotations

from django import template

register = template.Library()

# The built-in columns a template reads straight off the run (the allowlist:
# nothing else can be named).
_FIELDS = {"submitted_by", "compute_target", "type"}


@register.filter
def intcomma_plain(value) -> str:
    """12345 -> 12,345."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return ""


@register.filter
def field(run, name: str) -> str:
    """A plain text field of a run, for the columns that show one as it is."""
    return getattr(run, name, "") if name in _FIELDS else ""
