"""One's own account (profile, password change) and Settings → Users for superusers:
create a user with a one-time set-password link, deactivate (their API tokens stop at
once), reset a password; and ``manage.py user_create``."""

import io
import re

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from studio.accounts.services import token_create
from tests.web.listing_helpers import get

PASSWORD = "a long enough passphrase"
User = get_user_model()


def _link(response, element="set-password-link") -> str:
    match = re.search(rf'<code id="{element}">([^<]+)</code>', response.content.decode())
    return match.group(1).replace("http://testserver", "")


def _set_password(link: str, password: str = PASSWORD):
    client = Client()
    landing = client.get(link)  # Django swaps the token for a session key and redirects
    assert landing.status_code == 302, landing.status_code
    return client, client.post(
        landing["Location"], {"new_password1": password, "new_password2": password}
    )


def _superuser(client) -> object:
    root = User.objects.create_superuser(username="root", password="pw-root")
    client.force_login(root)
    return root


def test_profile_shows_name_email_workspaces_and_tokens(client, owner, outsider):
    owner.email, owner.first_name = "alice@example.com", "Alice"
    owner.save()
    token_create(user=owner, name="laptop")
    client.force_login(owner)

    page = get(client, "/accounts/profile/")

    assert "alice@example.com" in page and "Alice" in page
    assert "default" in page and "Owner" in page
    assert "laptop" in page
    assert "charlie" not in page and "other" not in page.split("<h2>Workspaces")[1]


def test_a_user_changes_their_password_and_stays_signed_in(client, member):
    client.force_login(member)

    wrong = client.post("/accounts/password/", {"old_password": "x", "new_password": PASSWORD})
    short = client.post("/accounts/password/", {"old_password": "pw-bob", "new_password": "short"})
    done = client.post("/accounts/password/", {"old_password": "pw-bob", "new_password": PASSWORD})

    assert "The current password is not correct." in wrong.content.decode()
    assert "This password is too short" in short.content.decode()
    assert done.status_code == 302
    assert client.get("/runs/").status_code == 200
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def test_a_superuser_creates_a_user_who_sets_a_password_once(client, workspace):
    _superuser(client)

    response = client.post("/settings/users/", {"username": "erin", "email": "e@example.com"})

    assert response.status_code == 201
    link = _link(response)
    erin = User.objects.get(username="erin")
    assert not erin.has_usable_password()
    _, done = _set_password(link)
    assert done.status_code == 302
    assert Client().login(username="erin", password=PASSWORD)
    reused = Client().get(link, follow=True)
    assert "This set-password link has expired or was already used." in reused.content.decode()


def test_creating_a_taken_username_says_so_and_creates_nothing(client, member):
    _superuser(client)

    response = client.post("/settings/users/", {"username": "Bob"})

    assert "The username &#x27;Bob&#x27; is taken." in response.content.decode()
    assert User.objects.filter(username__iexact="bob").count() == 1


def test_deactivating_a_user_stops_their_api_tokens_at_once(client, member):
    _, secret = token_create(user=member, name="ci")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/workspaces/default/experiments").status_code == 200
    _superuser(client)

    client.post(f"/settings/users/{member.pk}/", {"action": "deactivate"})

    assert api.get("/api/v1/workspaces/default/experiments").status_code == 401
    assert not Client().login(username="bob", password="pw-bob")
    client.post(f"/settings/users/{member.pk}/", {"action": "activate"})
    assert api.get("/api/v1/workspaces/default/experiments").status_code == 200


def test_a_superuser_cannot_deactivate_themselves(client, db):
    root = _superuser(client)

    client.post(f"/settings/users/{root.pk}/", {"action": "deactivate"})

    root.refresh_from_db()
    assert root.is_active


def test_resetting_a_password_ends_the_old_one_and_gives_a_new_link(client, member):
    _superuser(client)

    response = client.post(f"/settings/users/{member.pk}/", {"action": "reset"})

    assert response.status_code == 201
    assert not Client().login(username="bob", password="pw-bob")
    _, done = _set_password(_link(response), "another long passphrase")
    assert done.status_code == 302
    assert Client().login(username="bob", password="another long passphrase")


def test_the_users_page_is_for_superusers_only(client, owner):
    client.force_login(owner)

    assert client.get("/settings/users/").status_code == 403
    assert client.post("/settings/users/", {"username": "erin"}).status_code == 403
    assert "/settings/users/" not in get(client, "/runs/")
    assert not User.objects.filter(username="erin").exists()


def test_user_create_command_prints_a_set_password_link(db):
    out, err = io.StringIO(), io.StringIO()

    call_command("user_create", "root2", "--superuser", stdout=out, stderr=err)

    link = out.getvalue().strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:8000/accounts/set-password/")
    assert "Created superuser root2" in err.getvalue()
    root2 = User.objects.get(username="root2")
    assert root2.is_superuser and not root2.has_usable_password()
    client, done = _set_password(link.removeprefix("http://127.0.0.1:8000"))
    assert done.status_code == 302
    assert client.login(username="root2", password=PASSWORD)
