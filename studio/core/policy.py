"""Every route declares who may call it (docs/requirements.md C2): ``public`` (anyone),
``member`` (a signed-in user; the view's access helper checks the workspace),
``read`` (an API token of a member) or ``write`` (an API token of a contributor or
owner). ``tests/test_routes.py`` fails for any URL without a declaration."""

from __future__ import annotations

from collections.abc import Callable

POLICIES = ("public", "member", "read", "write")


def policy(kind: str) -> Callable:
    if kind not in POLICIES:
        raise ValueError(f"Unknown route policy {kind!r}")

    def mark(view: Callable) -> Callable:
        view.studio_policy = kind  # type: ignore[attr-defined]
        return view

    return mark
