"""Throttling of guessed secrets: failed sign-ins and unknown API tokens.

Counts live in Django's cache (``CACHES``: files under STUDIO_HOME, which every
server worker on the machine shares) in fixed windows of
``STUDIO_SIGNIN_WINDOW_SECONDS`` (15 minutes) from the first failure:

- sign-in: ``STUDIO_SIGNIN_FAILURE_LIMIT`` (10) failures for one username from one
  client address lock that pair, so another username from the same address keeps
  its own count; ``STUDIO_SIGNIN_ADDRESS_LIMIT`` (100) failures from one address,
  whatever the usernames, lock the address. While locked, a correct password is
  refused too. A successful sign-in resets its username's count.
- API: ``STUDIO_SIGNIN_FAILURE_LIMIT`` unknown bearer tokens from one address lock
  it for every bearer token, valid ones included (429 with Retry-After). Tokens
  that exist but were revoked or ended with their job are not guesses and do not
  count: a worker's job outliving its token must not lock the worker's machine.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

from studio.errors import TooManyAttempts


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
    return f"studio:throttle:{kind}:{digest}"


def _limits() -> tuple[int, int, int]:
    return (
        settings.STUDIO_SIGNIN_FAILURE_LIMIT,
        settings.STUDIO_SIGNIN_ADDRESS_LIMIT,
        settings.STUDIO_SIGNIN_WINDOW_SECONDS,
    )


def _fail(key: str, window: int) -> None:
    # The window starts at the first failure; the count expires with it.
    now = time.time()
    if cache.add(key, {"n": 1, "until": now + window}, timeout=window):
        return
    entry = cache.get(key) or {"n": 0, "until": now + window}
    entry["n"] += 1
    cache.set(key, entry, timeout=max(1, math.ceil(entry["until"] - now)))


def _wait(key: str, limit: int) -> int:
    """Seconds left in ``key``'s lock, 0 when it is not locked."""
    entry = cache.get(key)
    if not entry or entry["n"] < limit:
        return 0
    return max(1, math.ceil(entry["until"] - time.time()))


def _refuse(seconds: int, what: str) -> None:
    minutes = max(1, math.ceil(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    raise TooManyAttempts(
        f"Too many attempts, try again in {minutes} {unit}.",
        field=what,
        retry_after=seconds,
    )


def _signin_keys(username: str, address: str | None) -> tuple[str, str]:
    address = address or "-"
    return _key("signin", username.casefold(), address), _key("signin-address", address)


def signin_check(*, username: str, address: str | None) -> None:
    """TooManyAttempts while ``username`` from ``address`` (or ``address``) is locked."""
    limit, address_limit, _ = _limits()
    pair, whole = _signin_keys(username, address)
    wait = max(_wait(pair, limit), _wait(whole, address_limit))
    if wait:
        _refuse(wait, "username")


def signin_failed(*, username: str, address: str | None) -> None:
    _, _, window = _limits()
    for key in _signin_keys(username, address):
        _fail(key, window)


def signin_succeeded(*, username: str, address: str | None) -> None:
    cache.delete(_signin_keys(username, address)[0])


def token_check(*, address: str | None) -> None:
    limit, _, _ = _limits()
    wait = _wait(_key("token", address or "-"), limit)
    if wait:
        _refuse(wait, "Authorization")


def token_failed(*, address: str | None) -> None:
    _, _, window = _limits()
    _fail(_key("token", address or "-"), window)
