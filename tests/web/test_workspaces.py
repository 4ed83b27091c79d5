"""Workspaces in the studio: anyone signed in creates one from the switcher's "New
workspace" and owns it; on Settings → Workspace its owners rename, archive (read-only,
out of the switcher, runs kept) and delete it by typing its name."""

import os
import re

import pytest

from studio.accounts.models import Membership, Role
from studio.tracking import services
from studio.tracking.models import Run, Workspace
from tests.web.listing_helpers import get

NEW = "/settings/workspaces/new/"
SETTINGS = "/settings/workspace/"


def _switcher(page: str) -> str:
    """The workspace switcher's markup: the open workspace and its menu."""
    start = page.index('<details class="dropdown ws-switch">')
    return page[start : page.index("</details>", start)]


def test_the_switcher_lists_the_workspaces_then_new_workspace(client, owner, other_workspace):
    Membership.objects.create(user=owner, workspace=other_workspace, role=Role.READER)
    client.force_login(owner)
    page = get(client, "/runs/?ws=other-team")
    switcher = _switcher(page)
    assert '<span class="ws-name">other-team</span>' in switcher  # the open one, shown
    links = re.findall(r'<a href="([^"]+)"( aria-current="true")?>([^<]+)</a>', switcher)
    assert links == [
        ("/runs/?ws=default", "", "default"),
        ("/runs/?ws=other-team", ' aria-current="true"', "other-team"),
        (NEW, "", "New workspace"),
    ]
    assert page.count(f'href="{NEW}"') == 1  # in the switcher, nowhere else


def test_someone_in_no_workspace_finds_new_workspace_in_the_switcher(client, django_user_model):
    client.force_login(django_user_model.objects.create_user(username="erin"))
    switcher = _switcher(get(client, "/runs/"))
    assert "No workspace" in switcher and f'<a href="{NEW}">New workspace</a>' in switcher


def test_a_member_creates_a_workspace_from_the_switcher_and_owns_it(client, reader):
    client.force_login(reader)
    assert f'href="{NEW}"' in _switcher(get(client, "/runs/"))
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
    assert 'href="/runs/?ws=renamed"' in _switcher(get(client, "/runs/?ws=other-team"))
    client.post(SETTINGS + "?ws=renamed", {"action": "archive"})
    assert Workspace.objects.get(pk=workspace.pk).archived
    page = get(client, SETTINGS + "?ws=renamed")
    assert "Archived: read-only" in page and "Unarchive" in page
    # Read-only for everyone, its owner too; its runs are kept and readable.
    assert client.post(f"/runs/{run.run_id}/name/", {"display_name": "x"}).status_code == 403
    assert client.get(f"/runs/{run.run_id}/").status_code == 200
    assert Run.objects.get(pk=run.pk).display_name == ""
    # Out of the switcher, seen from another workspace.
    switcher = _switcher(get(client, "/runs/?ws=other-team"))
    assert "renamed" not in switcher and '"ws-name">other-team</span>' in switcher
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


# --- the files of a deleted workspace --------------------------------------------------


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, size: int = -1) -> bytes:
        data, self.data = self.data, b""
        return data


def _stored(workspace, name="outputs/a.txt"):
    """A finished run of ``workspace`` with a file, a child with one, and a model
    registered from the first (its own copy of the bytes): their storage keys."""
    from studio.registry import services as registry
    from studio.registry.models import ModelFile
    from studio.tracking.models import RunFile

    experiment = services.experiment_get_or_create(workspace=workspace, name="e")
    run = services.run_create(experiment=experiment, submitted_by="alice")
    child = services.run_create(experiment=experiment, submitted_by="alice", parent=run)
    services.run_file_upload(run=run, name=name, content=_Body(b"weights"))
    services.run_file_upload(run=child, name=name, content=_Body(b"child"))
    registry.model_register(workspace=workspace, name="m", created_by="alice", run=run, path=name)
    for r in (child, run):
        services.run_complete(run=r)
    keys = list(
        RunFile.objects.filter(run__workspace=workspace).values_list("storage_key", flat=True)
    )
    keys += ModelFile.objects.filter(workspace=workspace).values_list("storage_key", flat=True)
    return run, keys


def _on_disk(keys) -> list[bool]:
    from studio.tracking.storage import files_storage

    return [files_storage().exists(k) for k in keys]


def test_deleting_a_workspace_deletes_its_files_once_committed(
    client, owner, workspace, other_workspace, django_capture_on_commit_callbacks
):
    from studio.tracking.storage import files_storage

    run, keys = _stored(workspace)
    _, others = _stored(other_workspace)
    assert len(keys) == 3 and _on_disk(keys) == [True] * 3
    files_storage().delete(keys[0])  # already gone: no error, the rest still deleted
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        response = client.post(SETTINGS, {"action": "delete", "confirm": "default"})
    assert response.status_code == 302
    assert not Workspace.objects.filter(pk=workspace.pk).exists()
    assert _on_disk(keys[1:]) == [True, True]  # not before the commit
    for callback in pending:
        callback()
    assert _on_disk(keys) == [False] * 3
    folder = files_storage().path(f"runs/{run.uuid.hex}")
    assert not os.path.exists(folder)
    assert _on_disk(others) == [True] * 3  # another workspace's files stay


def test_a_refused_delete_keeps_every_file(
    client, owner, workspace, django_capture_on_commit_callbacks
):
    _, keys = _stored(workspace)
    services.run_create(
        experiment=services.experiment_get_or_create(workspace=workspace, name="e"),
        submitted_by="alice",
    )  # still going
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True) as pending:
        client.post(SETTINGS, {"action": "delete", "confirm": "default"})
    assert "still going" in get(client, SETTINGS)
    assert pending == []
    assert _on_disk(keys) == [True] * 3


def test_the_api_delete_deletes_the_files_too(
    client, owner, workspace, django_capture_on_commit_callbacks
):
    from studio.accounts.services import token_create

    _, keys = _stored(workspace)
    _, secret = token_create(user=owner, name="laptop")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(
            "/api/v1/workspaces/default",
            '{"confirm": "default"}',
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
    assert response.status_code == 200, response.content
    assert _on_disk(keys) == [False] * 3
