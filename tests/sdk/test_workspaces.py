"""Workspaces through the SDK's stores, alike in-process and over HTTP: create (names
checked, unique whatever their case), rename, archive (read-only, runs kept),
delete (typed confirmation, refused while a run is going)."""

import pytest

from studio.errors import Conflict, NotFound, ValidationError, WorkspaceArchived


def _names(ws) -> list[str]:
    return [w["name"] for w in ws._store.list_workspaces()]


def test_create_lists_the_workspace_with_its_creator_as_owner(ws):
    created = ws._store.create_workspace("team-a")
    assert created["name"] == "team-a" and created["archived"] is False
    assert created["role"] == "owner"
    assert "team-a" in _names(ws)
    assert ws._store.get_workspace("team-a")["role"] == "owner"


@pytest.mark.parametrize("name", ["", "x" * 256, "../x", "a\x00b", "   ", "a b", "x/y"], ids=repr)
def test_bad_names_are_refused_and_nothing_is_created(ws, name):
    before = _names(ws)
    with pytest.raises(ValidationError) as err:
        ws._store.create_workspace(name)
    assert "Workspace name" in err.value.message
    assert _names(ws) == before


def test_a_name_taken_in_another_case_is_refused(ws):
    ws._store.create_workspace("Team")
    before = _names(ws)
    for name in ("team", "TEAM", "DEFAULT"):
        with pytest.raises(Conflict) as err:
            ws._store.create_workspace(name)
        assert "already exists" in err.value.message
    assert _names(ws) == before


def test_rename_keeps_the_runs_and_refuses_a_taken_name(ws, sdk):
    ws._store.create_workspace("old-name")
    old = sdk.Workspace("old-name", tracking_uri=ws.tracking_uri)
    run = sdk.Experiment(workspace=old, name="e").start_logging()
    run.complete()
    renamed = ws._store.update_workspace("old-name", new_name="new-name")
    assert renamed["name"] == "new-name"
    assert "old-name" not in _names(ws)
    new = sdk.Workspace("new-name", tracking_uri=ws.tracking_uri)
    assert [r.id for r in sdk.Experiment(workspace=new, name="e").get_runs()] == [run.id]
    with pytest.raises(Conflict):
        ws._store.update_workspace("new-name", new_name="Default")
    with pytest.raises(ValidationError):
        ws._store.update_workspace("new-name", new_name="../x")
    assert "new-name" in _names(ws)


def test_archived_is_read_only_and_keeps_its_runs_until_unarchived(ws, sdk):
    ws._store.create_workspace("archive-me")
    target = sdk.Workspace("archive-me", tracking_uri=ws.tracking_uri)
    exp = sdk.Experiment(workspace=target, name="e")
    kept = exp.start_logging()
    kept.log("loss", 1.0)
    kept.complete()
    assert ws._store.update_workspace("archive-me", archived=True)["archived"] is True
    for write in (exp.start_logging, lambda: sdk.Experiment(workspace=target, name="new")):
        with pytest.raises(WorkspaceArchived) as err:
            write()
        assert "archived" in err.value.message and err.value.code == "workspace_archived"
    runs = list(exp.get_runs())
    assert [r.id for r in runs] == [kept.id]
    assert runs[0].get_metrics() == {"loss": 1.0}
    listed = {w["name"]: w["archived"] for w in ws._store.list_workspaces()}
    assert listed["archive-me"] is True
    ws._store.update_workspace("archive-me", archived=False)
    exp.start_logging().complete()
    assert len(list(exp.get_runs())) == 2


def test_delete_needs_the_typed_name_and_no_run_going(ws, sdk):
    ws._store.create_workspace("doomed")
    target = sdk.Workspace("doomed", tracking_uri=ws.tracking_uri)
    run = sdk.Experiment(workspace=target, name="e").start_logging()
    with pytest.raises(ValidationError) as err:
        ws._store.delete_workspace("doomed", confirm="DOOMED")
    assert err.value.field == "confirm"
    with pytest.raises(Conflict) as err:
        ws._store.delete_workspace("doomed", confirm="doomed")
    assert "still going" in err.value.message
    assert "doomed" in _names(ws)
    run.complete()
    ws._store.delete_workspace("doomed", confirm="doomed")
    assert "doomed" not in _names(ws)
    with pytest.raises(NotFound):
        ws._store.delete_workspace("doomed", confirm="doomed")


def test_over_http_a_missing_workspace_says_how_to_create_it(rest_workspace, sdk):
    with pytest.raises(NotFound) as err:
        sdk.Workspace("nowhere", tracking_uri=rest_workspace.tracking_uri)
    assert err.value.message == (
        "Workspace 'nowhere' does not exist: create it in the studio (the workspace "
        "switcher's New workspace), with `studio workspace create nowhere`, or ask an owner."
    )


def test_v1_workspace_create_makes_the_workspace_and_warns_once_about_azure_arguments(
    ws, sdk, monkeypatch
):
    from studio.sdk import notice

    monkeypatch.setattr(notice, "_warned", set())  # once per process: each store's turn
    if not ws.tracking_uri.startswith("local"):
        monkeypatch.setenv("STUDIO_TRACKING_URI", ws.tracking_uri)
    with pytest.warns(sdk.V1CompatibilityWarning, match="sku, storage_account ignored"):
        created = sdk.Workspace.create(
            "v1-team", subscription_id="sub", sku="basic", storage_account="acct"
        )
    assert created.name == "v1-team" and "v1-team" in _names(ws)
    with pytest.raises(Conflict):
        sdk.Workspace.create("v1-team")
    assert sdk.Workspace.create("v1-team", exist_ok=True).name == "v1-team"
    with pytest.raises(Conflict):
        sdk.Workspace.create("V1-TEAM", exist_ok=True)  # another case is another name


def test_the_local_store_starts_runs_where_the_names_point_after_a_rename_or_delete(sdk):
    """The local store remembers the experiment a start found, and the statement that
    numbers the next run checks its workspace still has that name and is writable:
    renamed, deleted or archived meanwhile (by anyone), the start goes where the names
    point now, as a store that read them again would."""
    from studio.tracking.models import Run, Workspace
    from studio.tracking.services import workspaces as services

    here = sdk.Workspace("moving")
    exp = sdk.Experiment(workspace=here, name="e")
    first = exp.start_logging()
    first.complete()
    services.workspace_rename(workspace=Workspace.objects.get(name="moving"), name="moved")
    second = exp.start_logging()
    second.complete()
    runs = Run.objects.filter(run_id__in=[first.id, second.id]).select_related("workspace")
    assert {r.run_id: r.workspace.name for r in runs} == {first.id: "moved", second.id: "moving"}
    assert second.number == 1  # a new experiment of that name, in a new workspace
    services.workspace_set_archived(workspace=Workspace.objects.get(name="moving"), archived=True)
    with pytest.raises(WorkspaceArchived):
        exp.start_logging()
    assert Run.objects.filter(workspace__name="moving").count() == 1
    services.workspace_delete(workspace=Workspace.objects.get(name="moving"), confirm="moving")
    third = exp.start_logging()  # the local store makes a workspace on first use
    third.complete()
    assert Run.objects.get(run_id=third.id).workspace.name == "moving"
    assert not Workspace.objects.get(name="moving").archived


def test_a_remembered_experiment_costs_its_start_one_query_less(sdk, django_assert_num_queries):
    exp = sdk.Experiment(workspace=sdk.Workspace("counted"), name="e")
    exp.start_logging().complete()
    # BEGIN, the numbering UPDATE (which checks the workspace), the run, its change,
    # COMMIT: the experiment is not read again
    with django_assert_num_queries(5):
        run = exp.start_logging()
    run.complete()


def test_two_threads_finding_a_remembered_workspace_changed_both_start(sdk, monkeypatch):
    """Both threads of one local store find the workspace renamed under the experiment
    it remembers; each forgets it (the second finding it forgotten already) and reads
    the names again. (A review found the second failing with KeyError.)"""
    import threading
    import time

    from django.db import connection

    from studio.sdk.stores import store_for
    from studio.tracking import selectors, services
    from studio.tracking.models import Workspace
    from studio.tracking.services import workspaces

    store = store_for(None)
    store.create_run("race", "e")  # remembered
    workspaces.workspace_rename(workspace=Workspace.objects.get(name="race"), name="raced")
    real_create, real_find = services.run_create, selectors.experiment_with_workspace
    barrier = threading.Barrier(2)

    def run_create(**kw):
        try:
            return real_create(**kw)
        except services.WorkspaceChanged:
            barrier.wait(5)  # both found it changed
            if threading.current_thread().name == "B":
                time.sleep(0.1)  # A forgets the experiment first
            raise

    def find(**kw):
        if threading.current_thread().name == "A":
            time.sleep(0.5)  # A reads the names again, slowly
        return real_find(**kw)

    monkeypatch.setattr(services, "run_create", run_create)
    monkeypatch.setattr(selectors, "experiment_with_workspace", find)
    errors, made = {}, []

    def start(name):
        try:
            made.append(store.create_run("race", "e")["workspace"])
        except Exception as exc:  # noqa: BLE001
            errors[name] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(n,), name=n) for n in "AB"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == {}
    assert made == ["race", "race"]
