"""Guessed API tokens, seen from the SDK over HTTP: after 10 unknown tokens from one
address every token from it is refused with TooManyAttempts (429), a valid one too."""

from __future__ import annotations

import pytest

from studio.errors import NotAuthenticated, TooManyAttempts


def _experiments(sdk, url):
    return sdk.Workspace(name="default", tracking_uri=url).experiments


def test_the_rest_store_is_refused_after_ten_guessed_tokens(
    sdk, live_server, api_user, monkeypatch
):
    for n in range(10):
        monkeypatch.setenv("STUDIO_TOKEN", f"stu_guess{n}")
        with pytest.raises(NotAuthenticated):
            _experiments(sdk, live_server.url)
    monkeypatch.setenv("STUDIO_TOKEN", api_user.secret)
    with pytest.raises(TooManyAttempts, match="try again in 15 minutes"):
        _experiments(sdk, live_server.url)


def test_the_rest_store_works_with_its_token_after_nine_guesses(
    sdk, live_server, api_user, monkeypatch
):
    for n in range(9):
        monkeypatch.setenv("STUDIO_TOKEN", f"stu_guess{n}")
        with pytest.raises(NotAuthenticated):
            _experiments(sdk, live_server.url)
    monkeypatch.setenv("STUDIO_TOKEN", api_user.secret)
    assert _experiments(sdk, live_server.url) == {}
