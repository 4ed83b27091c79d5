"""API tokens in the studio: created (secret shown once), listed, revoked."""

from django.test import Client

from studio.accounts.models import ApiToken


def test_a_signed_in_user_creates_a_token_and_sees_the_secret_once(client, owner):
    client.force_login(owner)
    response = client.post("/settings/tokens/", {"name": "laptop"})
    assert response.status_code == 201
    secret = response.context["secret"]
    assert secret.encode() in response.content
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/workspaces/default").status_code == 200
    again = client.get("/settings/tokens/")
    assert secret.encode() not in again.content and b"laptop" in again.content


def test_revoking_a_token_takes_effect_on_the_next_request(client, owner):
    client.force_login(owner)
    secret = client.post("/settings/tokens/", {"name": "ci"}).context["secret"]
    token = ApiToken.objects.get(user=owner)
    assert client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302
    assert (
        Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/workspaces/default").status_code
        == 401
    )


def test_nobody_revokes_another_users_token(client, owner, member):
    client.force_login(owner)
    client.post("/settings/tokens/", {"name": "mine"})
    token = ApiToken.objects.get(user=owner)
    client.force_login(member)
    assert client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_revoking_needs_post_and_csrf(owner):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    from studio.accounts.services import token_create

    token, _ = token_create(user=owner, name="x")
    assert browser.get(f"/settings/tokens/{token.pk}/revoke/").status_code == 405
    assert browser.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_anonymous_users_are_sent_to_sign_in(client):
    assert client.get("/settings/tokens/")["Location"].startswith("/accounts/login/")
