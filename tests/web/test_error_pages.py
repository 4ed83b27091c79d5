"""The studio's own error pages, rendered with DEBUG off (as pytest-django runs): the
frame and navigation, a sentence, a way back; JSON under /api/; messages by level."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from studio.web import context


def _signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _assert_error_page(response, status: int, title: str, *, nav: bool = True):
    assert settings.DEBUG is False
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert f"Error {status}" in html
    assert f'<h1 id="error-title">{title}</h1>' in html
    assert "Go back</a>" in html
    assert 'class="topbar"' in html  # the studio's frame, not Django's bare page
    assert ('aria-label="Main"' in html) is nav
    return html


def test_404_is_the_studios_page_with_the_navigation(member, workspace):
    response = _signed_in(member).get("/no/such/page/", HTTP_REFERER="http://testserver/runs/")
    html = _assert_error_page(response, 404, "Page not found")
    assert 'href="http://testserver/runs/"' in html  # back where the caller came from


def test_404_back_link_never_leads_off_the_studio(member, workspace):
    response = _signed_in(member).get("/nope/", HTTP_REFERER="https://evil.example/phish")
    html = _assert_error_page(response, 404, "Page not found")
    assert "evil.example" not in html
    assert 'href="/runs/"' in html


def test_404_for_an_object_names_nothing(member, other_workspace):
    response = _signed_in(member).get("/runs/no-such-run/")
    html = _assert_error_page(response, 404, "Page not found")
    assert "does not exist" not in html  # no exception text


def test_403_for_a_reader_who_posts_an_owners_form(reader, workspace):
    response = _signed_in(reader).post("/settings/members/", {"username": "x", "role": "reader"})
    _assert_error_page(response, 403, "Not allowed")


def test_400_for_a_host_the_studio_does_not_serve(member, workspace):
    response = _signed_in(member).get("/runs/", HTTP_HOST="evil.example")
    # Refused before the session is read: the frame without the signed-in navigation.
    html = _assert_error_page(response, 400, "Bad request", nav=False)
    assert 'href="/runs/"' in html


def test_500_is_the_studios_page_and_hides_the_exception(member, workspace, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("studio.web.views.experiments.render", broken)
    client = _signed_in(member, raise_request_exception=False)
    html = _assert_error_page(client.get("/experiments/"), 500, "Something went wrong")
    assert "disk on fire" not in html


def test_500_when_the_navigation_fails_too(member, workspace, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr("studio.web.views.experiments.render", broken)
    monkeypatch.setattr(context, "_nav_views", broken)
    client = _signed_in(member, raise_request_exception=False)
    html = _assert_error_page(client.get("/experiments/"), 500, "Something went wrong", nav=False)
    assert "database down" not in html
    assert 'href="/"' in html


def test_csrf_failure_is_the_studios_page(member, workspace):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "bob", "password": "x"})
    html = _assert_error_page(response, 403, "The form could not be sent", nav=False)
    assert "reload the page" in html


@pytest.mark.parametrize(("path", "status", "code"), [("/api/v1/no-such-route", 404, "not_found")])
def test_api_paths_keep_json_errors(member, path, status, code):
    response = Client().get(path)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_api_400_is_json(workspace):
    response = Client().get("/api/v1/workspaces", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_messages_are_styled_by_level(owner, workspace):
    client = _signed_in(owner)
    refused = client.post(
        "/settings/members/", {"username": "nobody", "role": "reader"}, follow=True
    )
    html = refused.content.decode()
    assert 'class="flash flash-error" role="alert"' in html
    assert "flash-success" not in html
    css = (settings.BASE_DIR / "static/studio/css/studio.css").read_text()
    assert (
        ".flash-error {" in css and "var(--red-bg)" in css.split(".flash-error {")[1].split("}")[0]
    )
