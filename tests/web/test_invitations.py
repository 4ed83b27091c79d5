"""Invitations in the studio: an owner invites from Members and gets a one-time link;
the invitee opens it, picks a username and password and lands in the workspace with
the invitation's role; an expired, used or revoked link is refused with a clear page."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from studio.accounts.models import Invitation, Membership, Role
from studio.tracking import services
from tests.web.listing_helpers import get

PASSWORD = "a long enough passphrase"


def _invite(client, role="reader", note="", **extra) -> str:
    response = client.post("/settings/members/invite/", {"role": role, "note": note, **extra})
    assert response.status_code == 201, response.content[:300]
    match = re.search(r'<code id="invitation-link">([^<]+)</code>', response.content.decode())
    return match.group(1).replace("http://testserver", "")


def test_a_reader_invited_signs_up_and_reads_but_cannot_write(client, owner, workspace):
    client.force_login(owner)
    link = _invite(client, role="reader", note="for erin")
    run = services.run_create(
        experiment=services.experiment_get_or_create(workspace=workspace, name="exp"),
        submitted_by="alice",
        display_name="visible run",
    )

    erin = Client()
    page = erin.get(link).content.decode()
    assert "alice" in page and "Reader" in page and "for erin" in page
    response = erin.post(link, {"username": "erin", "password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == "/runs/"
    membership = Membership.objects.get(user__username="erin")
    assert (membership.workspace, membership.role) == (workspace, Role.READER)
    assert "visible run" in get(erin, "/runs/")
    refused = erin.post(f"/runs/{run.run_id}/name/", {"display_name": "renamed"})
    assert refused.status_code == 403


def test_the_link_is_stored_hashed_and_works_once(client, owner, workspace):
    client.force_login(owner)
    link = _invite(client, role="contributor")
    secret = link.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert secret not in invitation.key_hash and len(invitation.key_hash) == 64

    assert Client().post(link, {"username": "erin", "password": PASSWORD}).status_code == 302
    again = Client().post(link, {"username": "frank", "password": PASSWORD})

    assert again.status_code == 410
    assert "This invitation was already used." in again.content.decode()
    assert not Membership.objects.filter(user__username="frank").exists()


def test_an_expired_link_is_refused_with_a_clear_page(client, owner):
    client.force_login(owner)
    link = _invite(client)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = Client().post(link, {"username": "erin", "password": PASSWORD})

    assert response.status_code == 410
    assert "This invitation has expired." in response.content.decode()
    assert not Membership.objects.filter(user__username="erin").exists()


def test_an_invitation_expires_after_seven_days(client, owner):
    client.force_login(owner)
    _invite(client)
    lifetime = Invitation.objects.get().expires_at - timezone.now()
    assert timedelta(days=6, hours=23) < lifetime <= timedelta(days=7)


def test_a_revoked_link_is_refused_and_leaves_the_pending_list(client, owner):
    client.force_login(owner)
    link = _invite(client, note="for erin")
    invitation = Invitation.objects.get()
    assert "for erin" in get(client, "/settings/members/")

    client.post(f"/settings/invitations/{invitation.pk}/revoke/")

    assert "for erin" not in get(client, "/settings/members/")
    response = Client().get(link)
    assert response.status_code == 410
    assert "This invitation was revoked." in response.content.decode()


def test_an_unknown_link_is_a_404_page(db):
    response = Client().get("/accounts/invite/not-a-real-token/")
    assert response.status_code == 404
    assert "This invitation link is not valid." in response.content.decode()


def test_pending_invitations_show_who_made_them_and_when_they_expire(client, owner):
    client.force_login(owner)
    _invite(client, role="owner", note="new lead")
    invitation = Invitation.objects.get()

    page = get(client, "/settings/members/")

    row = page.split("Pending invitations")[1]
    assert "new lead" in row and "alice" in row and "Owner" in row
    assert invitation.expires_at.strftime("%Y-%m-%d %H:%M") in row


def test_a_weak_password_or_taken_username_is_refused_and_the_link_still_works(
    client, owner, member
):
    client.force_login(owner)
    link = _invite(client)
    erin = Client()

    short = erin.post(link, {"username": "erin", "password": "short"})
    taken = erin.post(link, {"username": "BOB", "password": PASSWORD})

    assert "This password is too short" in short.content.decode()
    assert "The username &#x27;BOB&#x27; is taken." in taken.content.decode()
    assert not Membership.objects.filter(user__username="erin").exists()
    assert erin.post(link, {"username": "erin", "password": PASSWORD}).status_code == 302


def test_a_signed_in_user_who_opens_the_link_just_joins(client, owner, outsider, workspace):
    client.force_login(owner)
    link = _invite(client, role="contributor")
    charlie = Client()
    charlie.force_login(outsider)

    assert "You are signed in as <strong>charlie</strong>" in charlie.get(link).content.decode()
    response = charlie.post(link)

    assert response.status_code == 302
    assert Membership.objects.get(user=outsider, workspace=workspace).role == Role.CONTRIBUTOR
    assert Membership.objects.filter(user=outsider).count() == 2


def test_a_member_with_a_higher_role_keeps_it(client, owner, member, workspace):
    client.force_login(owner)
    link = _invite(client, role="reader")
    bob = Client()
    bob.force_login(member)

    bob.post(link)

    assert Membership.objects.get(user=member, workspace=workspace).role == Role.CONTRIBUTOR


@pytest.mark.parametrize("role", ["reader", "contributor"])
def test_only_owners_invite(client, workspace, request, role):
    persona = request.getfixturevalue({"reader": "reader", "contributor": "member"}[role])
    client.force_login(persona)

    assert client.post("/settings/members/invite/", {"role": "owner"}).status_code == 403
    assert "Invite as" not in get(client, "/settings/members/")
    assert not Invitation.objects.exists()


def test_an_invitation_is_mailed_when_the_studio_has_mail_settings(client, owner, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    client.force_login(owner)

    link = _invite(client, note="welcome", email="erin@example.com")

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["erin@example.com"]
    assert "http://testserver" + link in mail.outbox[0].body
    assert "welcome" in mail.outbox[0].body


def test_without_mail_settings_nothing_is_sent(client, owner, settings):
    del settings.MAILERS
    client.force_login(owner)

    _invite(client, email="erin@example.com")

    assert mail.outbox == []


def test_an_unknown_role_or_a_long_note_is_refused_and_nothing_is_made(client, owner):
    client.force_login(owner)

    client.post("/settings/members/invite/", {"role": "admin"})
    client.post("/settings/members/invite/", {"role": "reader", "note": "x" * 201})

    page = get(client, "/settings/members/")
    assert "Select a valid choice. admin is not one of the available choices." in page
    assert not Invitation.objects.exists()


def test_inviting_joining_and_revoking_are_in_the_audit_log(client, owner, workspace):
    from studio.audit.models import Action, AuditEntry

    client.force_login(owner)
    link = _invite(client, role="reader", note="for erin")
    Client(REMOTE_ADDR="203.0.113.7").post(link, {"username": "erin", "password": PASSWORD})
    _invite(client, role="contributor")
    client.post(f"/settings/invitations/{Invitation.objects.get(accepted_at=None).pk}/revoke/")

    entries = {
        e.action: e
        for e in AuditEntry.objects.filter(workspace=workspace, action__startswith="inv")
    }
    assert entries[Action.INVITATION_CREATE].username == owner.username
    joined = entries[Action.INVITATION_ACCEPT]
    assert (joined.username, joined.address) == ("erin", "203.0.113.7")
    assert "as reader" in joined.detail and owner.username in joined.detail
    assert entries[Action.INVITATION_REVOKE].detail == "as contributor"
    assert "joined through an invitation" in get(client, "/settings/audit/")
