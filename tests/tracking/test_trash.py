"""Archiving runs and the workspace's trash: the services (on whichever database the
suite runs: SQLite, PostgreSQL with DATABASE_URL), the filter language's
``archived``, the web pages and bulk actions, the JSON API and the purge after
TRASH_DAYS. Files removed from storage on a permanent delete: the local disk in the
default pass, a local S3 server with STUDIO_TEST_STORAGE=s3 (``make test-s3``)."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
from django.core.management import call_command
from django.utils import timezone

from studio.audit.models import AuditEntry
from studio.errors import Conflict, ValidationError
from studio.rules.runquery import RunQuery
from studio.tracking import selectors, services, storage
from studio.tracking.models import Run
from studio.tracking.runlist import query as runlist
from tests.web.listing_helpers import get, listed, make_run


def _finished(experiment, name: str, **kw) -> Run:
    run = make_run(experiment, name, **kw)
    services.run_complete(run=run)
    return run


def _names(workspace, expression: str = "", **kw) -> list[str]:
    if expression:
        kw["filter"] = expression
    found = runlist.runs(RunQuery(**kw), workspace=workspace)
    return sorted(r.display_name for r in found)


@pytest.fixture
def sweep(experiment):
    """A finished parent with two finished children, and one more top-level run."""
    parent = _finished(experiment, "sweep")
    children = services.run_create_children(parent=parent, submitted_by="bob", count=2)
    for child in children:
        services.run_complete(run=child)
    other = _finished(experiment, "other")
    return parent, children, other


# --- archive ------------------------------------------------------------------------------


def test_archived_runs_leave_lists_unless_the_filter_names_them(workspace, sweep):
    parent, children, _ = sweep
    assert services.run_archive(runs=[parent]) == 3  # the children go with it
    assert _names(workspace) == ["other"]
    assert _names(workspace, "archived") == ["sweep"]
    assert _names(workspace, "archived = true") == ["sweep"]
    assert _names(workspace, "archived = false") == ["other"]
    assert _names(workspace, "archived in (true, false)") == ["other", "sweep"]
    assert _names(workspace, "not archived") == ["other"]
    # A named run's children are listed (get_children), archived or not.
    assert len(list(runlist.runs(RunQuery(parent=parent.run_id), workspace=workspace))) == 2
    # Everything else about the run stays: it opens, it is not in the trash.
    assert selectors.run_get(run_id=parent.run_id).archived

    services.run_unarchive(runs=[parent])
    assert _names(workspace) == ["other", "sweep"]
    assert not Run.objects.filter(archived=True).exists()


@pytest.mark.parametrize(
    "expression, words",
    [
        ("archived = maybe", "true or false"),
        ("archived ~ t", "takes = != in"),
        ("status", "needs a comparison"),
        ("tags.x", "needs a comparison"),
    ],
)
def test_bad_archived_filters_say_why(workspace, expression, words):
    with pytest.raises(ValidationError) as err:
        _names(workspace, expression)
    assert words in err.value.message and err.value.field == "filter"


# --- delete, restore ----------------------------------------------------------------------


def test_deleted_runs_are_gone_from_every_read_until_restored(workspace, sweep):
    parent, children, other = sweep
    assert services.run_delete(runs=[parent]) == 3
    assert _names(workspace) == ["other"]
    assert _names(workspace, "archived in (true, false)", children=True) == ["other"]
    with pytest.raises(Exception, match="does not exist"):
        selectors.run_get(run_id=children[0].run_id)
    assert [r.run_id for r in selectors.trash_list(workspace=workspace)] == [parent.run_id]

    services.run_restore(runs=[selectors.run_get(run_id=parent.run_id, trashed=True)])
    assert _names(workspace) == ["other", "sweep"]
    assert selectors.run_get(run_id=children[1].run_id).deleted_at is None
    assert selectors.run_get(run_id=parent.run_id).child_count == 2


def test_a_deleted_child_leaves_its_parent_count_and_comes_back(workspace, sweep):
    parent, children, _ = sweep
    services.run_delete(runs=[children[0]])
    assert selectors.run_get(run_id=parent.run_id).child_count == 1
    assert [r.run_id for r in selectors.run_children_page(run=parent)] == [children[1].run_id]
    services.run_restore(runs=[selectors.run_get(run_id=children[0].run_id, trashed=True)])
    assert selectors.run_get(run_id=parent.run_id).child_count == 2


def test_a_going_run_cannot_be_deleted_and_nothing_changes(workspace, experiment, sweep):
    parent, _, _ = sweep
    running = make_run(experiment, "running", parent=parent)  # still Running
    with pytest.raises(Conflict, match="is Running"):
        services.run_delete(runs=[parent])
    assert not Run.all_objects.filter(deleted_at__isnull=False).exists()
    assert selectors.run_get(run_id=running.run_id).status == "Running"


def test_a_child_of_a_trashed_parent_comes_back_only_with_it(workspace, sweep):
    parent, children, _ = sweep
    services.run_delete(runs=[parent])
    child = selectors.run_get(run_id=children[0].run_id, trashed=True)
    with pytest.raises(Conflict, match="parent run"):
        services.run_restore(runs=[child])
    assert Run.all_objects.filter(deleted_at__isnull=False).count() == 3


def test_restore_and_purge_take_only_trashed_runs(sweep):
    _, _, other = sweep
    for action in (services.run_restore, services.run_purge):
        with pytest.raises(ValidationError, match="not in the trash"):
            action(runs=[other])
    with pytest.raises(ValidationError, match="Choose"):
        services.run_delete(runs=[])
    assert Run.objects.count() == 4


def test_each_action_is_audited_with_who_did_it(
    workspace, member, sweep, django_capture_on_commit_callbacks
):
    parent, _, _ = sweep
    with django_capture_on_commit_callbacks(execute=True):
        services.run_archive(runs=[parent], by=member, address="10.0.0.1")
        services.run_delete(runs=[parent], by=member)
    entries = list(AuditEntry.objects.filter(workspace=workspace).order_by("id"))
    assert [(e.action, e.username, e.detail) for e in entries] == [
        ("run_archive", "bob", parent.run_id),
        ("run_delete", "bob", parent.run_id),
    ]
    assert entries[0].address == "10.0.0.1"


# --- permanent deletion, files, the purge ---------------------------------------------------


def _files_of(run: Run) -> tuple[list[str], str]:
    services.run_file_upload(run=run, name="outputs/model.bin", content=io.BytesIO(b"w" * 100))
    for at in (0, 5):
        services.run_live_log_append(run=run, offset=at, data=b"line\n")
    from studio.tracking.models import LogChunk, RunFile

    keys = list(
        RunFile.objects.filter(run=run, chunked=False).values_list("storage_key", flat=True)
    )
    keys += LogChunk.objects.filter(run_file__run=run).values_list("storage_key", flat=True)
    return keys, f"runs/{run.uuid.hex}"


def _gone(keys: list[str], folder: str, s3_server) -> bool:
    store = storage.files_storage()
    if any(store.exists(k) for k in keys):
        return False
    if s3_server is not None:
        return s3_server.keys(folder + "/") == []
    return not os.path.exists(store.path(folder))


def test_deleting_for_good_removes_rows_and_files(
    workspace, experiment, s3_server, django_capture_on_commit_callbacks
):
    parent = make_run(experiment, "parent")
    child = services.run_create_children(parent=parent, submitted_by="bob", count=1)[0]
    parent_files, child_files = _files_of(parent), _files_of(child)
    kept = make_run(experiment, "kept")
    kept_files = _files_of(kept)
    for run in (child, parent, kept):
        services.run_complete(run=run)
    store = storage.files_storage()
    assert all(store.exists(k) for k in parent_files[0] + child_files[0])

    services.run_delete(runs=[parent])
    assert all(store.exists(k) for k in parent_files[0])  # the trash keeps the files
    with django_capture_on_commit_callbacks(execute=True):
        services.run_purge(runs=[selectors.run_get(run_id=parent.run_id, trashed=True)])

    assert not Run.all_objects.filter(pk__in=[parent.pk, child.pk]).exists()
    assert _gone(*parent_files, s3_server) and _gone(*child_files, s3_server)
    assert all(store.exists(k) for k in kept_files[0])


def test_the_purge_deletes_runs_trashed_more_than_30_days_ago(
    workspace, experiment, sweep, s3_server, django_capture_on_commit_callbacks
):
    parent, children, other = sweep
    old = make_run(experiment, "old")
    old_files = _files_of(old)
    services.run_complete(run=old)
    services.run_delete(runs=[parent, old, other])
    now = timezone.now()
    # Time travel: the parent's tree and "old" went to the trash 31 days ago.
    Run.all_objects.filter(pk__in=[old.pk, parent.pk, *(c.pk for c in children)]).update(
        deleted_at=now - dt.timedelta(days=services.TRASH_DAYS + 1)
    )
    Run.all_objects.filter(pk=other.pk).update(deleted_at=now - dt.timedelta(days=29))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_trash", stdout=io.StringIO())

    assert list(Run.all_objects.values_list("display_name", flat=True)) == ["other"]
    assert _gone(*old_files, s3_server)
    assert services.trash_purge_expired() == 0


def test_deleting_a_workspace_removes_its_trashed_runs_files(
    owner, experiment, s3_server, django_capture_on_commit_callbacks
):
    run = make_run(experiment, "trashed")
    files = _files_of(run)
    services.run_complete(run=run)
    services.run_delete(runs=[run])
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.api.delete(
            "/api/v1/workspaces/default", '{"confirm": "default"}', content_type="application/json"
        )
    assert response.status_code == 200, response.content
    assert _gone(*files, s3_server)


# --- the studio ---------------------------------------------------------------------------


def test_archive_from_the_run_page_then_the_list_shows_it_only_when_asked(client, member, sweep):
    parent, _, _ = sweep
    client.force_login(member)
    response = client.post(f"/runs/{parent.run_id}/archive/")
    assert response.status_code == 302
    assert listed(get(client, "/runs/?all=1")) == [sweep[2].run_id]
    body = get(client, "/runs/?q=archived")
    assert listed(body) == [parent.run_id] and "Hide archived" in body
    assert "Unarchive" in get(client, f"/runs/{parent.run_id}/")
    client.post(f"/runs/{parent.run_id}/unarchive/")
    assert parent.run_id in listed(get(client, "/runs/?all=1"))


def test_delete_then_trash_then_restore_in_the_studio(client, member, sweep):
    parent, children, _ = sweep
    client.force_login(member)
    page = get(client, f"/runs/{parent.run_id}/")
    assert f'action="/runs/{parent.run_id}/delete/"' in page and "data-confirm=" in page
    assert client.post(f"/runs/{parent.run_id}/delete/").status_code == 302
    assert client.get(f"/runs/{parent.run_id}/").status_code == 404
    assert client.get(f"/runs/{children[0].run_id}/").status_code == 404
    assert client.get(f"/compare/?runs={parent.run_id},{sweep[2].run_id}").status_code == 404
    trash = get(client, "/trash/")
    assert f'data-trashed-run="{parent.run_id}"' in trash and "30 days" in trash
    assert f'data-trashed-run="{children[0].run_id}"' not in trash  # it comes back with it
    assert "data-confirm=" in trash
    response = client.post(f"/trash/{parent.run_id}/restore/")
    assert response.status_code == 302 and response.url == f"/runs/{parent.run_id}/"
    assert get(client, f"/runs/{children[0].run_id}/")
    assert "The trash is empty" in get(client, "/trash/")


def test_bulk_archive_and_delete_from_the_list(client, member, sweep):
    parent, _, other = sweep
    client.force_login(member)
    client.post("/actions/runs/", {"action": "archive", "run": [other.run_id]})
    assert listed(get(client, "/runs/?all=1")) == [parent.run_id]
    client.post("/actions/runs/", {"action": "delete", "run": [parent.run_id]})
    assert listed(get(client, "/runs/?all=1")) == []
    assert Run.all_objects.get(pk=parent.pk).deleted_at is not None


def test_bulk_delete_of_a_going_run_says_why_and_changes_nothing(client, member, experiment):
    going = make_run(experiment, "going")
    client.force_login(member)
    response = client.post(
        "/actions/runs/", {"action": "delete", "run": [going.run_id]}, follow=True
    )
    assert "is Running" in response.content.decode()
    assert Run.objects.filter(pk=going.pk).exists()


def test_readers_cannot_archive_delete_restore_or_purge(client, reader, member, sweep):
    parent, _, other = sweep
    client.force_login(reader)
    for url in (f"/runs/{parent.run_id}/archive/", f"/runs/{parent.run_id}/delete/"):
        assert client.post(url).status_code == 403
    for action in ("archive", "delete"):
        assert (
            client.post("/actions/runs/", {"action": action, "run": [other.run_id]}).status_code
            == 403
        )
    services.run_delete(runs=[other])
    trash = get(client, "/trash/")  # readers see the trash, without its buttons
    assert f'data-trashed-run="{other.run_id}"' in trash and "Restore</button>" not in trash
    for url in (f"/trash/{other.run_id}/restore/", f"/trash/{other.run_id}/delete/"):
        assert client.post(url).status_code == 403
    for verb in ("archive", "delete", "restore", "purge"):
        response = reader.api.post(
            f"/api/v1/runs/{other.run_id if verb in ('restore', 'purge') else parent.run_id}/{verb}",
            "{}",
            content_type="application/json",
        )
        assert response.status_code == 403, verb
    assert not Run.objects.filter(archived=True).exists()
    assert Run.all_objects.get(pk=other.pk).deleted_at is not None
    assert Run.objects.get(pk=parent.pk).deleted_at is None


def test_outsiders_see_no_trash_of_another_workspace(client, outsider, sweep):
    _, _, other = sweep
    services.run_delete(runs=[other])
    client.force_login(outsider)
    assert client.post(f"/trash/{other.run_id}/restore/").status_code == 404
    assert other.run_id not in get(client, "/trash/")


# --- the API ------------------------------------------------------------------------------


def test_the_api_archives_deletes_lists_the_trash_restores_and_purges(member, sweep):
    parent, children, other = sweep
    api = member.api

    def post(path):
        return api.post(f"/api/v1/runs/{path}", "{}", content_type="application/json")

    response = post(f"{other.run_id}/archive")
    assert response.status_code == 200 and response.json()["run"]["archived"] is True
    runs = api.get("/api/v1/workspaces/default/runs").json()["runs"]
    assert [r["id"] for r in runs] == [parent.run_id]
    runs = api.get("/api/v1/workspaces/default/runs", {"filter": "archived"}).json()["runs"]
    assert [r["id"] for r in runs] == [other.run_id] and runs[0]["archived"] is True

    response = post(f"{parent.run_id}/delete")
    assert response.status_code == 200 and response.json()["changed"] == 3
    assert api.get(f"/api/v1/runs/{parent.run_id}").status_code == 404
    assert api.get(f"/api/v1/runs/{children[0].run_id}").status_code == 404
    trash = api.get("/api/v1/workspaces/default/trash").json()["runs"]
    assert [r["id"] for r in trash] == [parent.run_id] and trash[0]["deleted"]

    assert post(f"{parent.run_id}/delete").status_code == 404  # already in the trash
    assert post(f"{other.run_id}/restore").status_code == 404  # not in the trash
    response = post(f"{parent.run_id}/restore")
    assert response.status_code == 200 and response.json()["run"]["deleted"] is None
    assert api.get(f"/api/v1/runs/{children[0].run_id}").status_code == 200

    post(f"{parent.run_id}/delete")
    assert post(f"{parent.run_id}/purge").status_code == 200
    assert not Run.all_objects.filter(pk=parent.pk).exists()


def test_the_api_refuses_to_delete_a_going_run(member, experiment):
    going = make_run(experiment, "going")
    response = member.api.post(
        f"/api/v1/runs/{going.run_id}/delete", "{}", content_type="application/json"
    )
    assert response.status_code == 409
    assert "is Running" in response.json()["error"]["message"]
    assert Run.objects.filter(pk=going.pk).exists()


def test_the_experiments_page_does_not_count_trashed_runs(workspace, sweep):
    from studio.tracking.runlist.pages import experiments_with_counts

    parent, _, _ = sweep
    services.run_delete(runs=[parent])
    (experiment,) = experiments_with_counts(workspace=workspace)
    assert experiment.run_total == 1 and experiment.runs_failed == 0
