"""Workspaces in the studio: anyone signed in creates one from the switcher's "New
workspace" and owns it; on Settings → Workspace its owners rename, archive (read-only,
out of the switcher, runs kept) and delete it by typing its name."""

import pytest

from studio.accounts.models import Membership, Role
from studio.tracking import services
from studio.tracking.models import Run, Workspace
from tests.web.listing_helpers import get

NEW = "/settings/workspaces/new/"
SETTINGS = "/settings/workspace/"


def test_a_member_creates_a_workspace_from_the_switcher_and_owns_it(client, reader):
    client.force_login(reader)
    assert f'href="{NEW}"' in get(client, "/runs/")
    response = client.post(NEW, {"name": "team-a"})
    assert response.status_code == 302 and response["Location"] == "/runs/?ws=team-a"
    team = Workspace.objects.get(name="team-a")
    assert Membership.objects.get(workspace=team, user=reader).role == Role.OWNER
    page = get(client, "/runs/?ws=team-a")
    assert "Created &#x27;team-a&#x27;; you are its owner." in page


@pytest.mark.parametrize(
    "name, says",
    [
        ("", "Workspace name"),
        ("x" * 256, "Workspace name"),
        ("../x", "Workspace name"),
        ("a\x00b", "Workspace name"),
        ("   ", "Workspace name"),
        ("DEFAULT", "Workspace &#x27;default&#x27; already exists."),
    ],
    ids=repr,
)
def test_bad_names_say_why_and_create_nothing(client, owner, name, says):
    client.force_login(owner)
    response = client.post(NEW, {"name": name})
    assert response.status_code == 200
    page = response.content.decode()
    assert says in page and "flash-error" in page
    assert list(Workspace.objects.values_list("name", flat=True)) == ["default"]


def test_owner_renames_archives_and_unarchives(client, owner, workspace, other_workspace):
    Membership.objects.create(user=owner, workspace=other_workspace, role=Role.OWNER)
    run = services.run_create(
        experiment=services.experiment_get_or_create(workspace=workspace, name="e"),
        submitted_by="alice",
    )
    client.force_login(owner)
    client.post(SETTINGS + "?ws=default", {"action": "rename", "name": "renamed"})
    assert Workspace.objects.get(pk=workspace.pk).name == "renamed"
    assert 'value="renamed"' in get(client, "/runs/?ws=other-team")
    client.post(SETTINGS + "?ws=renamed", {"action": "archive"})
    assert Workspace.objects.get(pk=workspace.pk).archived
    page = get(client, SETTINGS + "?ws=renamed")
    assert "Archived: read-only" in page and "Unarchive" in page
    # Read-only for everyone, its owner too; its runs are kept and readable.
    assert client.post(f"/runs/{run.run_id}/name/", {"display_name": "x"}).status_code == 403
    assert client.get(f"/runs/{run.run_id}/").status_code == 200
    assert Run.objects.get(pk=run.pk).display_name == ""
    # Out of the switcher, seen from another workspace.
    switcher = get(client, "/runs/?ws=other-team")
    assert 'value="renamed"' not in switcher and ">other-team</span>" in switcher
    client.post(SETTINGS + "?ws=renamed", {"action": "unarchive"})
    assert client.post(f"/runs/{run.run_id}/name/", {"display_name": "x"}).status_code == 302


def test_delete_needs_the_typed_name_and_no_run_going(client, owner, workspace):
    run = services.run_create(
        experiment=services.experiment_get_or_create(workspace=workspace, name="e"),
        submitted_by="alice",
    )
    client.force_login(owner)
    client.post(SETTINGS, {"action": "delete", "confirm": "Default"})
    assert "to confirm its deletion" in get(client, SETTINGS)
    client.post(SETTINGS, {"action": "delete", "confirm": "default"})
    assert "still going" in get(client, SETTINGS)
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    services.run_complete(run=run)
    response = client.post(SETTINGS, {"action": "delete", "confirm": "default"})
    assert response.status_code == 302
    assert not Workspace.objects.filter(pk=workspace.pk).exists()
    assert not Run.objects.exists()


def test_members_who_are_not_owners_see_the_page_and_no_controls(client, member, workspace):
    client.force_login(member)
    page = get(client, SETTINGS)
    assert "Only the workspace's owners" in page and 'name="action"' not in page
    assert client.post(SETTINGS, {"action": "archive"}).status_code == 403
    assert not Workspace.objects.get(pk=workspace.pk).archived
