"""The audit log: sign-ins, failed sign-ins, token creation and role changes are
written with who, what, when and from where; owners read their workspace's."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from studio.accounts.models import Membership
from studio.audit.models import Action, AuditEntry
from studio.audit.services import audit_record


def _entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_a_sign_in_is_recorded_with_the_address(client, owner):
    client.post(
        "/accounts/login/", {"username": "alice", "password": "pw-alice"}, REMOTE_ADDR="10.1.2.3"
    )
    [entry] = _entries(Action.SIGNIN)
    assert (entry.actor, entry.username, entry.address) == (owner, "alice", "10.1.2.3")


def test_a_failed_sign_in_is_recorded_for_the_account_named(client, owner):
    client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    client.post("/accounts/login/", {"username": "nobody", "password": "nope"})
    first, second = _entries(Action.SIGNIN_FAILED)
    assert (first.actor, first.username, first.address) == (owner, "alice", "127.0.0.1")
    assert (second.actor, second.username) == (None, "nobody")
    assert _entries(Action.SIGNIN) == []


def test_a_token_made_on_the_tokens_page_is_recorded(client, owner):
    client.force_login(owner)
    client.post("/settings/tokens/", {"name": "laptop"}, REMOTE_ADDR="10.9.9.9")
    [entry] = _entries(Action.TOKEN_CREATE)
    assert (entry.actor, entry.address) == (owner, "10.9.9.9")
    assert entry.detail.startswith("laptop (stu_")


def test_a_role_change_is_recorded_with_who_made_it(client, owner, reader, workspace):
    client.force_login(owner)
    membership = Membership.objects.get(user=reader)
    client.post(f"/settings/members/{membership.pk}/", {"action": "role", "role": "contributor"})
    [entry] = _entries(Action.ROLE_CHANGE)
    assert (entry.actor, entry.workspace, entry.address) == (owner, workspace, "127.0.0.1")
    assert entry.detail == "dave: reader to contributor"


def test_setting_the_same_role_again_records_nothing(client, owner, reader):
    client.force_login(owner)
    membership = Membership.objects.get(user=reader)
    client.post(f"/settings/members/{membership.pk}/", {"action": "role", "role": "reader"})
    assert _entries(Action.ROLE_CHANGE) == []


def test_adding_a_member_is_recorded(client, owner, outsider, workspace):
    client.force_login(owner)
    client.post("/settings/members/", {"username": "charlie", "role": "owner"})
    [entry] = _entries(Action.ROLE_CHANGE)
    assert (entry.actor, entry.workspace, entry.detail) == (
        owner,
        workspace,
        "added charlie as owner",
    )


def test_a_refused_role_change_records_nothing(client, owner):
    client.force_login(owner)
    membership = Membership.objects.get(user=owner)  # the last owner
    client.post(f"/settings/members/{membership.pk}/", {"action": "role", "role": "reader"})
    assert _entries(Action.ROLE_CHANGE) == []


def test_an_unknown_action_is_a_programming_error(db):
    with pytest.raises(ValueError):
        audit_record(action="deleted_everything")


# --- Settings -> Audit ---------------------------------------------------------------


def test_an_owner_reads_sign_ins_of_members_and_events_of_the_workspace(
    client, owner, reader, outsider, workspace, other_workspace
):
    audit_record(action=Action.SIGNIN, actor=reader, address="10.0.0.1")
    audit_record(action=Action.SIGNIN_FAILED, actor=reader, address="10.0.0.66")
    audit_record(action=Action.SIGNIN, actor=outsider, address="10.0.0.2")
    audit_record(action=Action.TOKEN_CREATE, actor=outsider, workspace=other_workspace)
    audit_record(action=Action.ROLE_CHANGE, actor=owner, workspace=workspace, detail="d: x to y")
    client.force_login(owner)
    body = client.get("/settings/audit/").content.decode()
    assert "10.0.0.1" in body and "10.0.0.66" in body and "failed to sign in" in body
    assert "d: x to y" in body
    assert "charlie" not in body and "10.0.0.2" not in body


@pytest.mark.parametrize("persona", ["reader", "member"])
def test_only_owners_read_the_audit_log(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/settings/audit/").status_code == 403


def test_the_audit_page_is_paginated_in_a_bounded_number_of_queries(
    client, owner, reader, workspace, django_assert_num_queries
):
    for n in range(120):
        audit_record(action=Action.SIGNIN, actor=reader, address=f"10.0.{n // 256}.{n % 256}")
    client.force_login(owner)
    first = client.get("/settings/audit/").content.decode()
    assert "Page 1 of 3" in first and "10.0.0.119" in first and "10.0.0.69" not in first
    # session, user, workspaces, role, count, switcher, saved views, the page's rows
    with django_assert_num_queries(8):
        last = client.get("/settings/audit/?page=3").content.decode()
    assert "10.0.0.0<" in last and "10.0.0.119" not in last
    for _ in range(120):
        audit_record(action=Action.SIGNIN_FAILED, actor=reader, address="10.0.1.1")
    with django_assert_num_queries(8):
        assert "Page 2 of 5" in client.get("/settings/audit/?page=2").content.decode()


# --- cookies and passwords ---------------------------------------------------------------


def test_the_session_cookie_is_http_only_and_same_site_lax(client, owner):
    client.post("/accounts/login/", {"username": "alice", "password": "pw-alice"})
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]


def test_studio_secure_cookies_makes_the_cookies_secure(tmp_path):
    code = (
        "from studio.bootstrap import setup_django; setup_django()\n"
        "from django.conf import settings as s\n"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    env = {"STUDIO_SECURE_COOKIES": "1", "STUDIO_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    from tests.conftest import ROOT

    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "True"]


@pytest.mark.parametrize("password", ["short1", "password123", "12345678901", "alice-smith"])
def test_weak_passwords_are_refused_by_djangos_validators(password, django_user_model, db):
    user = django_user_model(username="alice-smith")
    with pytest.raises(ValidationError):
        validate_password(password, user)


# --- the client's address ---------------------------------------------------------------


def _login_from(client, peer, forwarded):
    client.post(
        "/accounts/login/",
        {"username": "alice", "password": "pw-alice"},
        REMOTE_ADDR=peer,
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    return AuditEntry.objects.get(action=Action.SIGNIN).address


def test_a_trusted_proxy_names_the_client(client, owner, settings):
    settings.STUDIO_TRUSTED_PROXIES = ["10.0.0.1"]
    assert _login_from(client, "10.0.0.1", "6.6.6.6, 192.0.2.7") == "192.0.2.7"


def test_x_forwarded_for_from_anyone_else_is_ignored(client, owner, settings):
    settings.STUDIO_TRUSTED_PROXIES = ["10.0.0.1"]
    assert _login_from(client, "10.0.0.9", "192.0.2.7") == "10.0.0.9"


def test_a_forwarded_value_that_is_no_address_falls_back_to_the_proxy(client, owner, settings):
    settings.STUDIO_TRUSTED_PROXIES = ["10.0.0.1"]
    assert _login_from(client, "10.0.0.1", "unknown") == "10.0.0.1"
