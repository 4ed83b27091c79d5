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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files import locks

from studio.errors import TooManyAttempts


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
    # v2: the count and the end of its window are two keys (v1 kept one dict).
    return f"studio:throttle:v2:{kind}:{digest}"


def _limits() -> tuple[int, int, int]:
    return (
        settings.STUDIO_SIGNIN_FAILURE_LIMIT,
        settings.STUDIO_SIGNIN_ADDRESS_LIMIT,
        settings.STUDIO_SIGNIN_WINDOW_SECONDS,
    )


@contextmanager
def _one_at_a_time() -> Iterator[None]:
    """Hold the machine-wide lock of the counters (a file under STUDIO_HOME): the
    default file cache's ``add`` and ``incr`` are a read then a write, so two server
    workers counting at once would each write n + 1. ``flock`` excludes threads as
    well as processes (each call opens the file anew)."""
    with open(Path(settings.STUDIO_HOME) / "throttle.lock", "ab") as f:
        locks.lock(f, locks.LOCK_EX)
        try:
            yield
        finally:
            locks.unlock(f)


def _fail(key: str, window: int) -> None:
    """Count one failure under ``key``. The window starts at the first failure and
    the count expires with it. ``add`` starts the count, ``incr`` adds to it (atomic
    in memcached, Redis and the in-memory cache; the lock makes it so in the file
    cache too)."""
    with _one_at_a_time():
        now = time.time()
        if cache.add(key, 1, timeout=window):
            cache.set(f"{key}:until", now + window, timeout=window)
            return
        try:
            cache.incr(key)
        except ValueError:  # the window ended between add and incr: a new one
            cache.set(key, 1, timeout=window)
            cache.set(f"{key}:until", now + window, timeout=window)
            return
        # Django's generic incr (the file cache's) writes with the default timeout:
        # the count keeps the end of its own window.
        until = cache.get(f"{key}:until") or now + window
        cache.touch(key, timeout=max(1, math.ceil(until - now)))


def _count(key: str) -> int:
    return cache.get(key) or 0


def _wait(key: str, limit: int) -> int:
    """Seconds left in ``key``'s lock, 0 when it is not locked."""
    if _count(key) < limit:
        return 0
    until = cache.get(f"{key}:until") or 0
    return max(1, math.ceil(until - time.time()))


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


def signin_failures(*, username: str, address: str | None) -> int:
    """Failed sign-ins counted for ``username`` from ``address`` in the current window."""
    return _count(_signin_keys(username, address)[0])


def signin_succeeded(*, username: str, address: str | None) -> None:
    pair = _signin_keys(username, address)[0]
    with _one_at_a_time():
        cache.delete_many([pair, f"{pair}:until"])


def token_check(*, address: str | None) -> None:
    limit, _, _ = _limits()
    wait = _wait(_key("token", address or "-"), limit)
    if wait:
        _refuse(wait, "Authorization")


def token_failed(*, address: str | None) -> None:
    _, _, window = _limits()
    _fail(_key("token", address or "-"), window)
