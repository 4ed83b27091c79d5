"""Where a request came from, for the throttle and the audit log."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest | None) -> str | None:
    """The address the request came from: the socket's peer, unless that peer is a
    proxy named in ``STUDIO_TRUSTED_PROXIES``; then the address that proxy appended
    to X-Forwarded-For (the last one: what came before it the client could forge)."""
    if request is None:
        return None
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if peer is not None and peer in settings.STUDIO_TRUSTED_PROXIES:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1]
        return _address(forwarded) or peer
    return peer


def _address(text: str) -> str | None:
    """``text`` as an IP address, or None when it is not one."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None
