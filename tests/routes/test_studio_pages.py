"""Route policy (see test_declared.py): studio pages."""

import studio.urls  # noqa: F401  (every API module registered before operations are listed)
from tests.figures import report
from tests.routes.common import (
    FORM,
    SECRETS,
    _content,
    _only_charlies_own_changes,
    _resolves_objects,
    _state,
    _web_routes,
)


def test_an_outsider_gets_404_for_every_object_and_never_sees_another_workspace(
    client, world, outsider
):
    client.force_login(outsider)
    before, checked = _state(), 0
    for name, url, view in _web_routes(world):
        if view.studio_policy == "public":
            continue
        for method in (client.get, client.post):
            response = method(url, FORM) if method == client.post else method(url)
            checked += 1
            if _resolves_objects(view):
                assert response.status_code == 404, (name, method)
            body = _content(response)
            leaks = [s for s in (*SECRETS, world["run"].run_id) if s in body]
            assert leaks == [], (name, response.status_code)
    assert _state() == before or _only_charlies_own_changes(before)
    report(f"routes: {checked} web requests as an outsider, none saw another workspace")


def test_a_reader_is_refused_every_write_page_and_nothing_changes(client, world, reader):
    client.force_login(reader)
    before, checked = _state(), []
    for name, url, view in _web_routes(world):
        if view.studio_post in ("write", "owner", "superuser") or name == "run-bulk":
            response = client.post(url, {**FORM, "run": world["run"].run_id})
            # No account is visible to a non-superuser: one named in the URL is a 404.
            refused = 404 if view.studio_post == "superuser" and view.studio_objects else 403
            assert response.status_code == refused, name
            checked.append(name)
    assert _state() == before
    assert len(checked) >= 10
    report(f"routes: {len(checked)} web write routes refused to a reader (403)")


def test_an_anonymous_caller_is_sent_to_sign_in_from_every_page(client, world):
    before, checked = _state(), 0
    for name, url, view in _web_routes(world):
        if view.studio_policy == "public":
            continue
        for response in (client.get(url), client.post(url, FORM)):
            assert response.status_code == 302, name
            assert response["Location"].startswith("/accounts/login/?next="), name
            checked += 1
    assert _state() == before
    report(f"routes: {checked} web requests as anonymous, all sent to sign in")
