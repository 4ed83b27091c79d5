"""The status transition table, tested as a table, and its enforcement by a
conditional UPDATE."""

import threading

import pytest
from django.db import connection

from studio.errors import InvalidTransition
from studio.rules import transitions
from studio.tracking import services
from studio.tracking.models import Run, RunStatus

S = transitions
EXPECTED = {
    S.NOT_STARTED: {
        S.QUEUED,
        S.PREPARING,
        S.STARTING,
        S.RUNNING,
        S.CANCEL_REQUESTED,
        S.CANCELED,
        S.FAILED,
    },
    S.QUEUED: {S.PREPARING, S.STARTING, S.RUNNING, S.CANCEL_REQUESTED, S.CANCELED, S.FAILED},
    S.PREPARING: {S.QUEUED, S.STARTING, S.RUNNING, S.CANCEL_REQUESTED, S.CANCELED, S.FAILED},
    S.STARTING: {S.RUNNING, S.CANCEL_REQUESTED, S.CANCELED, S.FAILED},
    S.RUNNING: {S.FINALIZING, S.COMPLETED, S.CANCEL_REQUESTED, S.CANCELED, S.FAILED},
    S.FINALIZING: {S.COMPLETED, S.CANCEL_REQUESTED, S.CANCELED, S.FAILED},
    S.CANCEL_REQUESTED: {S.CANCELED, S.FAILED},
    S.COMPLETED: {S.FAILED},
    S.FAILED: set(),
    S.CANCELED: set(),
}


def test_statuses_are_spelled_as_the_spec_says():
    assert list(S.STATUSES) == [
        "NotStarted",
        "Queued",
        "Preparing",
        "Starting",
        "Running",
        "Finalizing",
        "CancelRequested",
        "Completed",
        "Failed",
        "Canceled",
    ]
    assert set(RunStatus.values) == set(S.STATUSES)


def test_the_table_is_exactly_the_documented_one():
    assert {k: set(v) for k, v in S.TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize("source", S.STATUSES)
@pytest.mark.parametrize("target", S.STATUSES)
def test_every_pair_is_allowed_or_refused_by_the_table(db, experiment, source, target):
    run = services.run_create(experiment=experiment, submitted_by="alice")
    Run.objects.filter(pk=run.pk).update(status=source)
    run.refresh_from_db()
    if target in EXPECTED[source]:
        services.run_transition(run=run, status=target)
        assert Run.objects.get(pk=run.pk).status == target
    else:
        with pytest.raises(InvalidTransition) as err:
            services.run_transition(run=run, status=target)
        assert err.value.code == "invalid_transition"
        assert source in err.value.message and target in err.value.message
        assert Run.objects.get(pk=run.pk).status == source


def test_terminal_transitions_stamp_the_end_time_once(run):
    services.run_complete(run=run)
    ended = Run.objects.get(pk=run.pk).ended_at
    assert ended is not None
    services.run_fail(run=run, error_details="wrong script")
    failed = Run.objects.get(pk=run.pk)
    assert failed.status == "Failed"
    assert failed.ended_at == ended
    assert failed.error == {"message": "wrong script", "code": ""}


def test_a_run_that_was_already_updated_elsewhere_cannot_be_moved_from_a_stale_copy(run):
    stale = Run.objects.get(pk=run.pk)
    services.run_cancel(run=run)
    with pytest.raises(InvalidTransition):
        services.run_complete(run=stale)
    assert Run.objects.get(pk=run.pk).status == "Canceled"


@pytest.mark.django_db(transaction=True)
def test_two_racing_terminal_transitions_have_exactly_one_winner(experiment):
    for _ in range(10):
        run = services.run_create(experiment=experiment, submitted_by="alice")
        results = []
        barrier = threading.Barrier(2)

        def attempt(target, run=run, barrier=barrier, results=results):
            barrier.wait()
            try:
                services.run_transition(run=Run.objects.get(pk=run.pk), status=target)
                results.append(target)
            except InvalidTransition:
                results.append(None)
            finally:
                connection.close()

        threads = [threading.Thread(target=attempt, args=(t,)) for t in ("Completed", "Canceled")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [r for r in results if r]
        assert len(winners) == 1
        assert Run.objects.get(pk=run.pk).status == winners[0]


# --- run_transition_live: one statement for a run kept alive ------------------------


@pytest.mark.parametrize("source", S.STATUSES)
@pytest.mark.parametrize("target", S.STATUSES)
def test_the_one_statement_move_follows_the_same_table(db, experiment, source, target):
    from django.utils import timezone

    run = services.run_create(experiment=experiment, submitted_by="alice")
    Run.objects.filter(pk=run.pk).update(status=source, heartbeat_at=timezone.now())
    moved = services.run_transition_live(run_id=run.run_id, status=target)
    if target in EXPECTED[source]:
        assert moved is not None and moved.status == target
        assert Run.objects.get(pk=run.pk).status == target
    else:
        assert moved is None  # run_transition then says why
        assert Run.objects.get(pk=run.pk).status == source


def test_the_one_statement_move_answers_what_a_read_after_it_gives(db, experiment):
    from django.utils import timezone

    from studio.tracking import selectors
    from studio.tracking.models import RunChange
    from studio.tracking.schema import run_to_dict

    parent = services.run_create(experiment=experiment, submitted_by="alice")
    run = services.run_create(
        experiment=experiment,
        submitted_by="alice",
        parent=parent,
        tags={"t": "1", "b": None, "a": 'é " {}', "B": "[1]"},
        properties={"p": "2"},
    )
    before = RunChange.objects.filter(run=run).count()
    moved = services.run_transition_live(
        run_id=run.run_id, status="Failed", reason="failed", error={"message": "m", "code": "c"}
    )
    fresh = selectors.run_get(run_id=run.run_id)
    assert moved.labels_read == selectors.run_labels(run=fresh)
    # In the order a read gives them (the database's collation: "B" before or after "a").
    assert list(moved.labels_read[0]) == list(selectors.run_labels(run=fresh)[0])
    assert moved.labels_read[0]["B"] == "[1]"  # text that looks like JSON stays text
    assert run_to_dict(moved, moved.labels_read) == run_to_dict(fresh)
    assert moved.ended_at is not None and moved.error == {"message": "m", "code": "c"}
    assert (moved.workspace.name, moved.experiment.name) == (
        experiment.workspace.name,
        experiment.name,
    )
    assert moved.parent.run_id == parent.run_id
    assert not moved.get_deferred_fields()
    assert moved.experiment.run_counter == 2  # the rest of a related row: read on use
    change = RunChange.objects.filter(run=run).latest("id")
    assert RunChange.objects.filter(run=run).count() == before + 1
    assert change.kind == "status" and change.data["status"] == "Failed"
    # A run with no labels answers two empty ones.
    bare = services.run_create(experiment=experiment, submitted_by="alice")
    Run.objects.filter(pk=bare.pk).update(heartbeat_at=timezone.now())
    assert services.run_transition_live(run_id=bare.run_id, status="Completed").labels_read == (
        {},
        {},
    )


def test_the_one_statement_move_leaves_any_other_run_to_the_full_path(db, experiment, settings):
    """No such run, one in the trash, or one whose heartbeat is older than the lease or
    missing (which the lost-run check judges): nothing is written, None answers."""
    import datetime as dt

    from django.utils import timezone

    from studio.tracking.models import RunChange

    assert services.run_transition_live(run_id="nope", status="Completed") is None
    lease = dt.timedelta(seconds=settings.STUDIO_RUN_LEASE_SECONDS)
    cases = {
        "quiet": {"heartbeat_at": timezone.now() - lease - dt.timedelta(seconds=1)},
        "never beat": {"heartbeat_at": None},
        "in the trash": {"deleted_at": timezone.now()},
    }
    for name, change in cases.items():
        run = services.run_create(experiment=experiment, submitted_by="alice")
        Run.all_objects.filter(pk=run.pk).update(**change)
        changes = RunChange.objects.count()
        assert services.run_transition_live(run_id=run.run_id, status="Completed") is None, name
        assert Run.all_objects.get(pk=run.pk).status == "Running", name
        assert RunChange.objects.count() == changes, name
