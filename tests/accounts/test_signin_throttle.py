"""Failed sign-ins and guessed API tokens are throttled (studio/accounts/throttle.py):
10 failures in 15 minutes lock the username from that address, a right password
included; another username keeps its own count; a success resets the count."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from django.contrib.auth import SESSION_KEY

from studio.accounts import throttle
from studio.accounts.services import token_create, token_revoke
from studio.errors import TooManyAttempts

LOCKED = "Too many attempts, try again in 15 minutes."


def _sign_in(client, username, password, address="127.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def _fail(client, username, times, address="127.0.0.1"):
    for _ in range(times):
        assert _sign_in(client, username, "wrong", address).status_code == 200


def _signed_in(client) -> bool:
    return SESSION_KEY in client.session


def test_ten_failures_refuse_the_right_password_with_the_wait(client, owner):
    _fail(client, "alice", 10)
    response = _sign_in(client, "alice", "pw-alice")
    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    assert not _signed_in(client)


def test_nine_failures_still_let_the_right_password_in(client, owner):
    _fail(client, "alice", 9)
    response = _sign_in(client, "alice", "pw-alice")
    assert response.status_code == 302
    assert _signed_in(client)


def test_the_tenth_failure_answers_with_the_wait(client, owner):
    _fail(client, "alice", 8)
    ninth = _sign_in(client, "alice", "wrong").content.decode()
    assert "Your username and password didn" in ninth
    assert LOCKED not in ninth
    assert LOCKED in _sign_in(client, "alice", "wrong").content.decode()


def test_another_username_from_the_same_address_has_its_own_count(client, owner, member):
    _fail(client, "alice", 10)
    assert _sign_in(client, "bob", "pw-bob").status_code == 302
    client.logout()
    _fail(client, "bob", 10)
    assert LOCKED in _sign_in(client, "bob", "pw-bob").content.decode()


def test_the_same_username_from_another_address_is_not_locked(client, owner):
    _fail(client, "alice", 10)
    assert _sign_in(client, "alice", "pw-alice", address="10.0.0.7").status_code == 302


def test_a_success_resets_the_count(client, owner):
    _fail(client, "alice", 9)
    assert _sign_in(client, "alice", "pw-alice").status_code == 302
    client.logout()
    _fail(client, "alice", 9)
    assert _sign_in(client, "alice", "pw-alice").status_code == 302


def test_the_lock_ends_with_its_window(client, owner, monkeypatch):
    _fail(client, "alice", 10)
    later = time.time() + 15 * 60 + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert _sign_in(client, "alice", "pw-alice").status_code == 302


def test_the_wait_counts_down(client, owner, monkeypatch):
    _fail(client, "alice", 10)
    later = time.time() + 14 * 60 + 30
    monkeypatch.setattr(time, "time", lambda: later)
    assert "try again in 1 minute." in _sign_in(client, "alice", "pw-alice").content.decode()


def test_usernames_differing_in_case_share_a_count(client, owner):
    _fail(client, "ALICE", 10)
    assert LOCKED in _sign_in(client, "alice", "pw-alice").content.decode()


def test_many_usernames_from_one_address_lock_the_address(client, owner, settings):
    settings.STUDIO_SIGNIN_ADDRESS_LIMIT = 6
    for name in ("x1", "x2", "x3"):
        _fail(client, name, 2)
    assert LOCKED in _sign_in(client, "alice", "pw-alice").content.decode()
    assert _sign_in(client, "alice", "pw-alice", address="10.0.0.7").status_code == 302


# --- API tokens ------------------------------------------------------------------------


def _get(client, secret, address="127.0.0.1"):
    return client.get(
        "/api/v1/workspaces/default/experiments",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        REMOTE_ADDR=address,
    )


@pytest.fixture
def secret(owner):
    return token_create(user=owner, name="laptop")[1]


def test_ten_unknown_tokens_lock_the_address_for_every_token(client, secret):
    for n in range(10):
        assert _get(client, f"stu_guess{n}").status_code == 401
    response = _get(client, secret)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_attempts"
    assert "try again in 15 minutes" in response.json()["error"]["message"]
    assert 899 <= int(response["Retry-After"]) <= 900
    assert _get(client, "stu_guess-more").status_code == 429


def test_another_address_keeps_using_its_token(client, secret):
    for n in range(10):
        _get(client, f"stu_guess{n}")
    assert _get(client, secret, address="10.0.0.7").status_code == 200


def test_nine_unknown_tokens_leave_a_valid_one_working(client, secret):
    for n in range(9):
        _get(client, f"stu_guess{n}")
    assert _get(client, secret).status_code == 200


def test_a_revoked_token_is_refused_without_counting_as_a_guess(client, owner, secret):
    token, old = token_create(user=owner, name="old")
    token_revoke(token=token)
    for _ in range(12):
        assert _get(client, old).status_code == 401
    assert _get(client, secret).status_code == 200


def test_the_sdk_over_http_gets_the_throttle_error(client, secret):
    from studio.errors import TooManyAttempts, error_from_code

    for n in range(10):
        _get(client, f"stu_guess{n}")
    body = _get(client, secret).json()["error"]
    err = error_from_code(body["code"], body["message"], body["field"], 429)
    assert isinstance(err, TooManyAttempts)


def test_behind_a_trusted_proxy_each_client_has_its_own_count(client, owner, settings):
    settings.STUDIO_TRUSTED_PROXIES = ["10.0.0.1"]
    for _ in range(10):
        client.post(
            "/accounts/login/",
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="192.0.2.66",
        )
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "pw-alice"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="192.0.2.7",
    )
    assert response.status_code == 302


# --- counting under concurrency ---------------------------------------------------------


@pytest.fixture(params=["locmem", "files"])
def any_cache(request, settings, tmp_path):
    """The tests' in-memory cache and the production default, files on disk."""
    if request.param == "files":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(tmp_path / "cache"),
            }
        }
    from django.core.cache import cache

    cache.clear()
    return request.param


def _concurrently(times: int, call) -> None:
    start = threading.Barrier(times)
    errors = []

    def one():
        start.wait()
        try:
            call()
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the threads as much as the interpreter can
    try:
        threads = [threading.Thread(target=one) for _ in range(times)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert errors == []


@pytest.mark.parametrize("times", [9, 40])
def test_concurrent_failures_are_each_counted(any_cache, settings, times):
    settings.STUDIO_SIGNIN_FAILURE_LIMIT = 10
    _concurrently(times, lambda: throttle.signin_failed(username="alice", address="10.0.0.9"))
    assert throttle.signin_failures(username="alice", address="10.0.0.9") == times
    if times >= 10:
        with pytest.raises(TooManyAttempts, match="try again in 15 minutes"):
            throttle.signin_check(username="alice", address="10.0.0.9")
    else:
        throttle.signin_check(username="alice", address="10.0.0.9")  # not locked yet


def test_concurrent_token_guesses_are_each_counted(any_cache, settings):
    settings.STUDIO_SIGNIN_FAILURE_LIMIT = 30
    _concurrently(29, lambda: throttle.token_failed(address="10.0.0.9"))
    throttle.token_check(address="10.0.0.9")  # 29 of 30: still open
    throttle.token_failed(address="10.0.0.9")
    with pytest.raises(TooManyAttempts):
        throttle.token_check(address="10.0.0.9")


def test_the_file_cache_keeps_the_window_of_the_first_failure(settings, tmp_path, monkeypatch):
    """Django's generic incr rewrites the value with the default timeout (5 minutes):
    the count must still last the whole 15-minute window."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    for _ in range(10):
        throttle.signin_failed(username="alice", address="10.0.0.9")
    later = time.time() + 10 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert throttle.signin_failures(username="alice", address="10.0.0.9") == 10
    with pytest.raises(TooManyAttempts, match="try again in 5 minutes"):
        throttle.signin_check(username="alice", address="10.0.0.9")
