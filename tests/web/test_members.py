"""Workspace members in the studio: owners add existing users by username, change
roles and remove members; the others see the list and no controls."""

import pytest

from studio.accounts.models import Membership, Role
from tests.factories import UserFactory
from tests.web.listing_helpers import get


def test_owner_adds_an_existing_user_by_username(client, owner, workspace):
    eve = UserFactory(username="eve")
    client.force_login(owner)

    response = client.post("/settings/members/", {"username": "eve", "role": "contributor"})

    assert response.status_code == 302
    assert Membership.objects.get(user=eve, workspace=workspace).role == Role.CONTRIBUTOR
    assert "Added eve as contributor." in get(client, "/settings/members/")


def test_adding_an_unknown_user_or_a_member_again_says_why(client, owner, member):
    client.force_login(owner)
    client.post("/settings/members/", {"username": "nobody", "role": "reader"})
    assert "There is no user named &#x27;nobody&#x27;." in get(client, "/settings/members/")
    client.post("/settings/members/", {"username": "bob", "role": "owner"})
    assert "bob is already a member" in get(client, "/settings/members/")
    assert Membership.objects.get(user=member).role == Role.CONTRIBUTOR


def test_owner_changes_a_role_and_removes_a_member(client, owner, member, workspace):
    client.force_login(owner)
    membership = Membership.objects.get(user=member, workspace=workspace)

    client.post(f"/settings/members/{membership.pk}/", {"action": "role", "role": "reader"})
    assert Membership.objects.get(pk=membership.pk).role == Role.READER

    client.post(f"/settings/members/{membership.pk}/", {"action": "remove"})
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert client.get("/runs/").status_code == 200
    client.force_login(member)
    assert "not a member of any workspace" in get(client, "/runs/")


def test_the_last_owner_can_be_neither_demoted_nor_removed(client, owner, workspace):
    client.force_login(owner)
    mine = Membership.objects.get(user=owner, workspace=workspace)
    client.post(f"/settings/members/{mine.pk}/", {"action": "role", "role": "reader"})
    client.post(f"/settings/members/{mine.pk}/", {"action": "remove"})
    assert Membership.objects.get(pk=mine.pk).role == Role.OWNER
    assert "last owner" in get(client, "/settings/members/")


@pytest.mark.parametrize("persona", ["member", "reader"])
def test_only_owners_manage_members(client, request, persona, owner, workspace):
    user = request.getfixturevalue(persona)
    target = Membership.objects.get(user=owner, workspace=workspace)
    client.force_login(user)

    body = get(client, "/settings/members/")
    assert "alice" in body and "Add member" not in body and "Remove" not in body
    assert (
        client.post("/settings/members/", {"username": "alice", "role": "reader"}).status_code
        == 403
    )
    assert client.post(f"/settings/members/{target.pk}/", {"action": "remove"}).status_code == 403
    assert Membership.objects.filter(pk=target.pk, role=Role.OWNER).exists()


def test_members_of_another_workspace_are_not_found(client, owner, outsider, other_workspace):
    theirs = Membership.objects.get(user=outsider, workspace=other_workspace)
    client.force_login(owner)
    response = client.post(f"/settings/members/{theirs.pk}/", {"action": "remove"})
    assert response.status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()
    assert "charlie" not in get(client, "/settings/members/")


def test_a_superuser_sees_every_workspace(client, django_user_model, workspace, other_workspace):
    root = django_user_model.objects.create_superuser(username="root", password="pw-root-123")
    client.force_login(root)
    body = get(client, "/runs/")
    assert 'href="/runs/?ws=other-team"' in body and 'href="/runs/?ws=default"' in body
    assert client.get("/runs/?ws=other-team").status_code == 200


def test_member_management_posts_need_csrf(owner, member, workspace):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    membership = Membership.objects.get(user=member, workspace=workspace)
    response = client.post(f"/settings/members/{membership.pk}/", {"action": "remove"})
    assert response.status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()
