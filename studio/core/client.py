"""Where a request came from, for the throttle and the audit log."""

from __future__ import annotations

from django.http import HttpRequest


def client_address(request: HttpRequest | None) -> str | None:
    """The address the request came from: the socket's peer. A proxy in front of
    the studio must pass the client's address as REMOTE_ADDR (gunicorn does with
    --forwarded-allow-ips); X-Forwarded-For is never trusted here."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None
