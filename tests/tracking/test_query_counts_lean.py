"""What a request-at-a-time path costs in SQL (issue 16): a run started and completed
through the SDK's local store, one point POSTed over the API, and the first page of
``get_runs`` (the same whatever the number of runs, and on PostgreSQL never a cursor
over the whole match). Counts are of every statement Django sends, transaction
control included (SQLite's BEGIN IMMEDIATE / COMMIT, a test's SAVEPOINT / RELEASE)."""

from __future__ import annotations

from itertools import islice

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.errors import ValidationError
from studio.tracking import services
from studio.tracking.models import Experiment, MetricBatch, Run, RunChange, RunTag
from tests.api.conftest import post
from tests.factories import bulk_runs

T = 1_750_000_000.0
# PostgreSQL locks a run's row in a statement of its own before a metric batch reads
# (studio.tracking.services.metrics._open_run); SQLite's write transaction needs none.
LOCK = int(connection.features.has_select_for_update)


def _statements(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries]


def _many_runs(experiment: Experiment, count: int, start: int = 1) -> None:
    """``count`` runs of ``experiment``, each with a tag, written in bulk (the list
    reads them as any others)."""
    runs = bulk_runs(experiment, count, start)
    RunTag.objects.bulk_create(RunTag(run=r, key="seed", value=str(r.number)) for r in runs)


# --- lean writes -------------------------------------------------------------------


def test_start_logging_and_complete_take_at_most_six_queries_each(sdk):
    ws = sdk.Workspace.from_config()
    exp = sdk.Experiment(ws, "lean")
    exp.start_logging(outputs=False).complete()  # the workspace, experiment, watch exist
    with CaptureQueriesContext(connection) as started:
        run = exp.start_logging(outputs=False)
    with CaptureQueriesContext(connection) as completed:
        run.complete()
    assert len(started) <= 6, _statements(started)
    # The end: BEGIN, the UPDATE answering the run with its names, tags and
    # properties, the change for open pages, COMMIT.
    assert len(completed) <= 4, _statements(completed)
    # No tag or property prefetch, no read of the run after its change.
    assert not any("tracking_runtag" in sql for sql in _statements(started))
    assert sum('FROM "tracking_run"' in sql for sql in _statements(completed)) == 1
    assert not any(sql.startswith("SELECT") for sql in _statements(completed))
    # The dictionaries built from the object in hand are what a fresh read gives.
    assert run.get_status() == "Completed"
    assert run._data == ws._store.get_run(run.id)


def test_a_run_started_with_tags_answers_them_and_completes_with_them(sdk):
    ws = sdk.Workspace.from_config()
    exp = sdk.Experiment(ws, "lean")
    data = ws._store.create_run(ws.name, "lean", tags={"b": "2", "a": None}, properties={"p": "1"})
    assert data["tags"] == {"a": None, "b": "2"} and data["properties"] == {"p": "1"}
    assert data == ws._store.get_run(data["id"])
    done = ws._store.complete_run(data["id"])
    assert done["tags"] == {"a": None, "b": "2"} and done["status"] == "Completed"
    assert done == ws._store.get_run(data["id"])
    assert exp.name == done["experiment"]


def test_completing_a_lost_run_is_refused_after_marking_it_lost(sdk, settings):
    """The lost-run check made on the writer's read (the watch read along) still
    marks a quiet run lost, and the completion is then refused."""
    import datetime as dt

    from django.utils import timezone

    from studio.errors import InvalidTransition
    from studio.tracking.models import LeaseWatch

    ws = sdk.Workspace.from_config()
    data = ws._store.create_run(ws.name, "lean")
    old = timezone.now() - dt.timedelta(seconds=3 * settings.STUDIO_RUN_LEASE_SECONDS)
    Run.objects.filter(run_id=data["id"]).update(heartbeat_at=old)
    LeaseWatch.objects.update_or_create(pk=1, defaults={"since": old, "seen_at": timezone.now()})
    with pytest.raises(InvalidTransition):
        ws._store.complete_run(data["id"])
    found = ws._store.get_run(data["id"])
    assert found["status"] == "Failed"


def _point(i: int) -> dict:
    return {
        "batch_id": f"b{i}",
        "series": [{"name": "loss", "steps": [i], "values": [0.5], "times": [T]}],
    }


def test_a_one_point_metric_post_takes_six_statements(owner, experiment, monkeypatch):
    from studio.tracking.services import metrics

    monkeypatch.setattr(metrics, "heartbeat_every", lambda: 3600.0)  # however slow the machine
    run = services.run_create(experiment=experiment, submitted_by="alice")
    url = f"/api/v1/runs/{run.run_id}/metrics"
    assert post(owner.api, url, _point(0)).status_code == 200  # the series exists
    with CaptureQueriesContext(connection) as captured:
        response = post(owner.api, url, _point(1))
    assert response.status_code == 200, response.content
    assert response.json()["stored"] == 1
    # The token (with its user); the run with its workspace, the lease watch and the
    # caller's role, in one; then, in the transaction, the run's row locked with its
    # state, the batch id looked up and the summary with its last chunk, in one
    # (PostgreSQL: the lock in a statement of its own, LOCK); the change for open
    # pages, which notes the batch id; the chunk's and the summary's updates: 6
    # statements (7) and the transaction's two (was 18 for a running run).
    statements = _statements(captured)
    assert len(statements) == 8 + LOCK, statements
    assert sum("accounts_membership" in sql for sql in statements) == 1  # inside the run's
    assert not any("tracking_runtag" in sql for sql in statements)
    assert not any("tracking_metricbatch" in sql for sql in statements if "INSERT" in sql)
    again = post(owner.api, url, _point(1))  # the same batch again: stored once
    assert again.json() == {"batch_id": "b1", "stored": 0, "duplicate": True}
    series = owner.api.get(f"/api/v1/runs/{run.run_id}/metrics?name=loss").json()
    assert series["metrics"]["loss"] == [0.5, 0.5]


def test_a_metric_post_writes_a_stale_heartbeat(owner, experiment, settings, monkeypatch):
    """A batch notes the run alive when its heartbeat is older than heartbeat_every()
    (a second at most, a tenth of the lease): one more statement, not one per batch."""
    import datetime as dt

    from django.utils import timezone

    from studio.tracking.services import metrics

    settings.STUDIO_RUN_LEASE_SECONDS = 60
    assert metrics.heartbeat_every() == 1.0
    monkeypatch.setattr(metrics, "heartbeat_every", lambda: 30.0)  # however slow the machine
    run = services.run_create(experiment=experiment, submitted_by="alice")
    url = f"/api/v1/runs/{run.run_id}/metrics"
    old = timezone.now() - dt.timedelta(seconds=31)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=old)
    assert post(owner.api, url, _point(0)).status_code == 200
    beat = Run.objects.get(pk=run.pk).heartbeat_at
    assert beat > old + dt.timedelta(seconds=30)
    with CaptureQueriesContext(connection) as captured:
        assert post(owner.api, url, _point(1)).status_code == 200
    writes = [sql for sql in _statements(captured) if sql.startswith("UPDATE")]
    assert not any("heartbeat_at" in sql for sql in writes), writes
    assert Run.objects.get(pk=run.pk).heartbeat_at == beat
    Run.objects.filter(pk=run.pk).update(heartbeat_at=old)
    with CaptureQueriesContext(connection) as captured:
        assert post(owner.api, url, _point(2)).status_code == 200
    assert len(captured) == 9 + LOCK, _statements(captured)
    assert Run.objects.get(pk=run.pk).heartbeat_at > beat


def test_a_metric_post_to_a_finished_run_is_refused_and_stores_nothing(owner, experiment):
    run = services.run_create(experiment=experiment, submitted_by="alice")
    services.run_complete(run=run)
    points = {"name": "loss", "steps": [0], "values": [1.0], "times": [T]}
    body = {"batch_id": "x", "series": [points]}
    response = post(owner.api, f"/api/v1/runs/{run.run_id}/metrics", body)
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "run_terminal" and "Completed" in error["message"]
    assert not MetricBatch.objects.filter(run=run).exists()
    assert not RunChange.objects.filter(run=run).exclude(batch_id=None).exists()


# --- pages of the size asked for ----------------------------------------------------


def _first_page_queries(exp, **kwargs) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        found = list(exp.get_runs(**kwargs))
    return len(captured), len(found)


def test_get_runs_costs_the_same_at_3_and_300_runs(sdk):
    ws = sdk.Workspace.from_config()
    exp = sdk.Experiment(ws, "many")
    experiment = Experiment.objects.get(name="many")
    _many_runs(experiment, 3)
    few, found = _first_page_queries(exp, limit=100)
    assert found == 3
    _many_runs(experiment, 297, start=4)
    many, found = _first_page_queries(exp, limit=100)
    assert found == 100
    assert many == few
    with CaptureQueriesContext(connection) as captured:
        first = list(islice(exp.get_runs(), 100))  # no limit: a first page of 100
    assert len(first) == 100 and len(captured) == few
    assert any("LIMIT 101" in sql for sql in _statements(captured))


def test_get_runs_limit_reads_that_many_across_pages(sdk):
    ws = sdk.Workspace.from_config()
    exp = sdk.Experiment(ws, "many")
    _many_runs(Experiment.objects.get(name="many"), 1_205)
    runs = list(exp.get_runs(limit=1_100))  # a page of 1,000, then one of 100
    assert len(runs) == 1_100
    assert [r.id for r in runs[:2]] == ["many_1205", "many_1204"]
    assert runs[-1].id == "many_106"
    assert len(list(exp.get_runs())) == 1_205
    with pytest.raises(ValidationError):
        list(exp.get_runs(limit=0))


def test_the_rest_store_asks_for_the_limit(rest_workspace, sdk, monkeypatch):
    exp = sdk.Experiment(rest_workspace, "many")
    _many_runs(Experiment.objects.get(name="many"), 7)
    store = rest_workspace._store
    asked: list[str | None] = []
    call = store._call

    def recording(method, path, **kwargs):
        if path.endswith("/runs"):
            asked.append(dict(kwargs.get("params") or []).get("limit"))
        return call(method, path, **kwargs)

    monkeypatch.setattr(store, "_call", recording)
    assert len(list(exp.get_runs(limit=3))) == 3
    assert asked == ["3"]
    asked.clear()
    assert len(list(exp.get_runs())) == 7
    assert asked == ["100"]


def test_the_cli_last_n_asks_for_n(sdk, capsys):
    from studio.cli.main import main

    sdk.Experiment(sdk.Workspace.from_config(), "many")
    _many_runs(Experiment.objects.get(name="many"), 30)
    capsys.readouterr()
    with CaptureQueriesContext(connection) as captured:
        assert main(["run", "list", "-e", "many", "--last", "4", "-o", "json"]) == 0
    assert '"many_30"' in capsys.readouterr().out
    runs_queries = [s for s in _statements(captured) if s.startswith('SELECT "tracking_run"')]
    assert runs_queries and all("LIMIT 5" in s for s in runs_queries), runs_queries


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's cursors")
def test_get_runs_over_20000_runs_reads_one_page_and_no_held_cursor(sdk):
    ws = sdk.Workspace.from_config()
    exp = sdk.Experiment(ws, "huge")
    _many_runs(Experiment.objects.get(name="huge"), 20_000)
    fetched: list[int] = []

    def count_rows(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith("SELECT"):
            fetched.append(context["cursor"].rowcount)
        return result

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(count_rows):
        first = list(exp.get_runs(limit=100))
        unlimited = list(islice(exp.get_runs(), 100))
    assert len(first) == 100 and len(unlimited) == 100
    statements = _statements(captured)
    assert not any("DECLARE" in s.upper() or "WITH HOLD" in s.upper() for s in statements)
    # Each read hands over a page's worth (the page's 101 rows, then its runs' tags
    # and names: one row each), not the 20,000 the filter matches.
    assert max(fetched) <= 2 * 101 and sum(fetched) < 1_000, fetched
