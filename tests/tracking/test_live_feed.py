"""The change feed: what the services write into it, and the poller that hands each
change to the open streams it concerns (gaps, bounds, access)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from studio.tracking import live, services
from studio.tracking.models import ChangeKind, Run, RunChange
from studio.tracking.services import changes
from tests.web.listing_helpers import log_metric, make_run


def _sub(workspace, *, runs=(), scope=None, since=0, owner="bob"):
    return live.Subscription(
        owner=owner,
        workspace_ids=frozenset({workspace.pk}),
        runs=frozenset(r.pk for r in runs),
        scope=scope,
        since=since,
        sink=live.ThreadSink(),
    )


def _drain(sub) -> list:
    out = []
    while (item := sub.sink.get(0)) is not None:
        out.append(item)
    return out


def test_services_write_a_change_for_creation_status_and_points(experiment):
    run = make_run(experiment, "a")
    log_metric(run, "loss", 0.5, float("nan"), 0.25)
    services.run_complete(run=run)

    kinds = list(RunChange.objects.filter(run=run).values_list("kind", flat=True))
    assert kinds == [ChangeKind.CREATED, ChangeKind.POINTS, ChangeKind.STATUS]
    points = RunChange.objects.get(run=run, kind=ChangeKind.POINTS).data["series"]["loss"]
    assert points["steps"] == [0, 1, 2]
    assert points["values"] == [0.5, None, 0.25]  # NaN travels as null
    assert (points["last"], points["min"], points["max"], points["count"]) == (0.25, 0.25, 0.5, 3)
    status = RunChange.objects.get(run=run, kind=ChangeKind.STATUS).data
    assert status["status"] == "Completed" and status["ended_at"]


def test_infinities_travel_as_null_in_the_change(experiment):
    run = make_run(experiment, "a")
    log_metric(run, "x", float("inf"), float("-inf"))
    data = RunChange.objects.get(run=run, kind=ChangeKind.POINTS).data["series"]["x"]
    assert data["values"] == [None, None]
    assert (data["last"], data["min"], data["max"]) == (None, None, None)


def test_a_refused_batch_writes_no_change(experiment):
    run = make_run(experiment, "a")
    services.run_complete(run=run)
    before = RunChange.objects.count()
    with pytest.raises(Exception):  # noqa: B017 (RunTerminal: the run has ended)
        log_metric(run, "loss", 1.0)
    assert RunChange.objects.count() == before


def test_a_big_batch_carries_the_newest_points_only(experiment):
    run = make_run(experiment, "a")
    values = [float(i) for i in range(changes.TAIL_POINTS + 10)]
    values[-1] = float("nan")
    log_metric(run, "loss", *values)
    stored = RunChange.objects.get(run=run, kind=ChangeKind.POINTS).data["series"]["loss"]
    assert set(stored["values"]) == {"$f8"}  # long columns are stored packed
    data = changes.points_read({"series": {"loss": stored}})["series"]["loss"]
    assert len(data["steps"]) == changes.TAIL_POINTS
    assert data["steps"][-1] == changes.TAIL_POINTS + 9
    assert data["values"][-2:] == [float(changes.TAIL_POINTS + 8), None]  # NaN as null
    assert data["truncated"] is True


def test_streams_read_long_columns_as_lists(experiment):
    run = make_run(experiment, "a")
    mark = live.cursor()
    log_metric(run, "loss", *[0.5] * 100, float("inf"))
    sub = _sub(experiment.workspace, runs=[run])
    (change,) = live.backfill(sub, mark)
    loss = change.data["series"]["loss"]
    assert loss["steps"] == list(range(101))
    assert loss["values"] == [0.5] * 100 + [None] and len(loss["times"]) == 101


def test_old_changes_are_pruned_but_the_newest_stays(
    experiment, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(changes, "PRUNE_EVERY", 1)
    run = make_run(experiment, "a")
    RunChange.objects.update(created_at=timezone.now() - dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):  # the prune, once committed
        log_metric(run, "loss", 1.0)
    assert list(RunChange.objects.values_list("kind", flat=True)) == [ChangeKind.POINTS]


def test_the_poller_unpacks_only_the_changes_a_stream_takes(experiment, monkeypatch):
    hub = live.Hub(autostart=False)
    followed, quiet = make_run(experiment, "followed"), make_run(experiment, "quiet")
    sub = _sub(experiment.workspace, runs=[followed])
    hub.subscribe(sub, limit=5)
    unpacked = []
    read = live.points_read
    monkeypatch.setattr(live, "points_read", lambda data: unpacked.append(data) or read(data))
    log_metric(quiet, "loss", *[0.5] * 100)  # packed, followed by nobody
    log_metric(followed, "loss", *[0.25] * 100)
    hub.tick()
    (change,) = _drain(sub)
    assert change.data["series"]["loss"]["values"] == [0.25] * 100  # lists, as before
    assert len(unpacked) == 1  # the quiet run's change was never unpacked


def test_the_poller_hands_each_change_to_the_streams_it_concerns(experiment, other_workspace):
    hub = live.Hub(autostart=False)
    mine, other = make_run(experiment, "mine"), make_run(experiment, "other")
    follows_mine = _sub(experiment.workspace, runs=[mine])
    new_runs = _sub(experiment.workspace, scope=(experiment.workspace.pk, experiment.pk))
    hub.subscribe(follows_mine, limit=5)
    hub.subscribe(new_runs, limit=5)

    log_metric(mine, "loss", 1.0)
    log_metric(other, "loss", 2.0)
    fresh = make_run(experiment, "fresh")
    services.run_create_children(parent=mine, submitted_by="bob", count=1)  # not top-level
    theirs = make_run(services.experiment_get_or_create(workspace=other_workspace, name="x"), "t")
    hub.tick()

    assert [(c.kind, c.run_id) for c in _drain(follows_mine)] == [("points", mine.run_id)]
    assert [(c.kind, c.run_id) for c in _drain(new_runs)] == [("created", fresh.run_id)]
    assert theirs.run_id not in {c.run_id for c in _drain(new_runs)}

    hub.tick()  # nothing new: nothing is handed out twice
    assert _drain(follows_mine) == [] and _drain(new_runs) == []


def test_a_change_of_another_workspace_is_never_handed_out_even_for_a_followed_run(
    experiment, other_workspace
):
    hub = live.Hub(autostart=False)
    theirs = make_run(services.experiment_get_or_create(workspace=other_workspace, name="x"), "t")
    # A stream that (wrongly) names a run of a workspace it may not read.
    sub = _sub(experiment.workspace, runs=[theirs], scope=(other_workspace.pk, None))
    hub.subscribe(sub, limit=5)
    log_metric(theirs, "loss", 1.0)
    make_run(services.experiment_get_or_create(workspace=other_workspace, name="x"), "t2")
    hub.tick()
    assert _drain(sub) == []
    assert live.backfill(sub, 0) == []


def test_a_late_committed_id_is_still_delivered_and_a_lost_one_given_up(experiment, monkeypatch):
    """PostgreSQL may commit id 11 before id 10: the poller waits for 10 a while."""
    hub = live.Hub(autostart=False)
    run = make_run(experiment, "a")
    sub = _sub(experiment.workspace, runs=[run])
    hub.subscribe(sub, limit=5)
    log_metric(run, "loss", 1.0)
    log_metric(run, "loss", 2.0)
    first, second = RunChange.objects.filter(run=run, kind="points").order_by("id")
    first_id, data = first.id, first.data
    first.delete()  # not committed yet, as the poller sees it
    hub.tick()
    assert [c.id for c in _drain(sub)] == [second.id]
    assert hub.low == first_id - 1  # waiting for the missing id

    RunChange.objects.create(
        id=first_id, workspace=run.workspace, experiment_id=run.experiment_id, run=run,
        kind="points", data=data,
    )  # fmt: skip
    hub.tick()
    assert [c.id for c in _drain(sub)] == [first_id]
    assert hub.low == second.id

    log_metric(run, "loss", 3.0)
    third = RunChange.objects.filter(run=run).latest("id")
    RunChange.objects.filter(pk=third.pk).update(id=third.pk + 5)  # ids skipped: a rollback
    hub.tick()
    assert len(_drain(sub)) == 1
    assert hub.low == second.id
    monkeypatch.setattr(live, "GAP_WAIT", 0)
    hub.tick()
    assert hub.low == third.pk + 5  # the missing ids are given up


def test_a_stream_that_falls_behind_is_closed(experiment, monkeypatch):
    monkeypatch.setattr(live, "MAX_BACKLOG", 2)
    hub = live.Hub(autostart=False)
    run = make_run(experiment, "a")
    sub = _sub(experiment.workspace, runs=[run])
    hub.subscribe(sub, limit=5)
    for value in range(4):
        log_metric(run, "loss", float(value))
    hub.tick()
    items = _drain(sub)
    assert len(items) == 3 and items[-1] is live.CLOSED


def test_streams_per_owner_are_capped(experiment):
    hub = live.Hub(autostart=False)
    subs = [_sub(experiment.workspace) for _ in range(3)]
    for sub in subs:
        hub.subscribe(sub, limit=3)
    with pytest.raises(live.TooMany):
        hub.subscribe(_sub(experiment.workspace), limit=3)
    hub.subscribe(_sub(experiment.workspace, owner="alice"), limit=3)  # another user
    hub.unsubscribe(subs[0])
    hub.subscribe(_sub(experiment.workspace), limit=3)


def test_backfill_resumes_after_an_id_and_refuses_when_changes_are_gone(experiment):
    run = make_run(experiment, "a")
    log_metric(run, "loss", 1.0)
    mark = live.cursor()
    log_metric(run, "loss", 2.0)
    sub = _sub(experiment.workspace, runs=[run])
    assert [c.data["series"]["loss"]["values"] for c in live.backfill(sub, mark)] == [[2.0]]
    RunChange.objects.filter(id__lte=mark + 1).exclude(id=live.cursor()).delete()
    RunChange.objects.filter(id=live.cursor()).update(id=mark + 10)
    assert live.backfill(sub, mark) is None  # what came after ``mark`` may be gone


def test_an_open_page_sees_a_quiet_run_marked_lost(experiment, settings):
    hub = live.Hub(autostart=False)
    quiet = make_run(experiment, "quiet")
    alive = make_run(experiment, "alive")
    hub.subscribe(_sub(experiment.workspace, runs=[quiet, alive]), limit=5)
    settings.STUDIO_RUN_LEASE_SECONDS = 60
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    Run.objects.filter(pk=quiet.pk).update(heartbeat_at=hour_ago, status_changed_at=hour_ago)
    from studio.tracking.models import LeaseWatch

    LeaseWatch.objects.update_or_create(pk=1, defaults={"since": None, "seen_at": timezone.now()})
    assert hub.reap() == 1
    quiet.refresh_from_db()
    assert (quiet.status, quiet.status_reason) == ("Failed", "lost")
    assert RunChange.objects.filter(run=quiet, kind="status").exists()
