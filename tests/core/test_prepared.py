"""``studio.core.prepared.Prepared``: a queryset compiled once gives what the same
queryset gives through the ORM (instances, select_related objects, annotations,
converted values), for every set of parameter values, on both backends."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.test.utils import CaptureQueriesContext

from studio.core.prepared import Prepared
from studio.tracking import services
from studio.tracking.models import Run

pytestmark = pytest.mark.django_db


def _runs(run_id: str, number: int):
    return (
        Run.objects.filter(run_id=run_id, number__gte=number)
        .select_related("workspace", "experiment")
        .annotate(tagline=Concat(F("run_id"), Value("/"), F("workspace__name")))
        .order_by("pk")
    )


PREPARED = Prepared(_runs, run_id=str, number=int)


@pytest.fixture
def runs():
    workspace = services.workspace_get_or_create(name="prep")
    experiment = services.experiment_get_or_create(workspace=workspace, name="e")
    return [services.run_create(experiment=experiment, submitted_by="a") for _ in range(3)]


def test_it_answers_what_the_orm_answers_for_each_set_of_values(runs):
    for run in runs:
        for number in (0, run.number, run.number + 1):
            expected = list(_runs(run.run_id, number))
            got = PREPARED.all(run_id=run.run_id, number=number)
            assert [r.pk for r in got] == [r.pk for r in expected]
            for a, b in zip(got, expected, strict=True):
                assert a.tagline == b.tagline == f"{run.run_id}/prep"
                assert a.created_at == b.created_at and a.created_at.tzinfo is not None
                assert a.arguments == b.arguments == []  # a JSON field, converted
                assert a.workspace.name == "prep" and a.experiment.name == "e"


def test_related_objects_come_in_the_same_statement(runs):
    with CaptureQueriesContext(connection) as captured:
        found = PREPARED.first(run_id=runs[0].run_id, number=0)
        assert found.workspace.name == "prep" and found.experiment.name == "e"
    assert len(captured) == 1


def test_no_match_is_none_and_values_are_parameters_not_text(runs):
    assert PREPARED.first(run_id="nope", number=0) is None
    assert PREPARED.first(run_id="x' OR '1'='1", number=0) is None
    assert PREPARED.all(run_id=runs[0].run_id, number=10**9) == []


def test_the_parameters_must_be_the_declared_ones(runs):
    with pytest.raises(TypeError):
        PREPARED.all(run_id=runs[0].run_id)
    with pytest.raises(TypeError):
        Prepared(_runs, run_id=str, number=float)
    unused = Prepared(
        lambda run_id, other: Run.objects.filter(run_id=run_id), run_id=str, other=str
    )
    with pytest.raises(ValueError, match="must appear as a parameter"):
        unused.all(run_id="a", other="b")


def _stored(run: Run) -> dict:
    return dict(Run.objects.filter(pk=run.pk).values().get())


def test_insert_stores_what_save_stores_whatever_the_value_types(workspace, experiment):
    """``insert`` skips a field's preparation only for the types it stores unchanged
    (text in a text field, an int in an integer one, a bool, None): anything else goes
    through the field as ``save()`` sends it (an int into a text field becomes text,
    times, JSON and UUIDs are prepared)."""
    import datetime as dt

    from studio.core.prepared import insert

    when = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)

    def made(number: int, **odd):
        fields = dict(
            run_id=f"r{number}",
            workspace_id=workspace.pk,
            experiment=experiment,
            number=number,
            display_name="ä \\u2603 'quoted'",
            status="Running",
            submitted_by="bob",
            arguments=["--lr", "0.1"],
            error={"code": "x", "nested": [1, None]},
            started_at=when,
            archived=False,
        )
        return Run(**{**fields, **odd})

    for odd in ({}, {"display_name": 12345, "child_count": True, "archived": 1}):
        saved, inserted = made(1), made(2, **odd)
        saved.run_id, inserted.run_id = f"saved{len(odd)}", f"inserted{len(odd)}"
        saved.number, inserted.number = 10 + len(odd), 20 + len(odd)
        for key, value in odd.items():
            setattr(saved, key, value)
        saved.save()
        insert(inserted)
        assert inserted.pk and not inserted._state.adding
        a, b = _stored(saved), _stored(inserted)
        for key in ("id", "run_id", "uuid", "number", "created_at", "status_changed_at"):
            a.pop(key), b.pop(key)
        assert a == b
        assert b["arguments"] == ["--lr", "0.1"] and b["error"] == {
            "code": "x",
            "nested": [1, None],
        }
        assert b["started_at"] == when
    assert _stored(Run.objects.get(run_id="inserted3"))["display_name"] == "12345"


# --- answer(): a RETURNING statement's row, read when its pipeline ends -----------------

_NOTE = "INSERT INTO tracking_metricbatch (run_id, batch_id, created_at) VALUES (%s, %s, %s)"


def _note(run, batch_id):
    from django.utils import timezone

    from studio.core import prepared

    return prepared.answer(
        _NOTE + " ON CONFLICT (run_id, batch_id) DO NOTHING RETURNING batch_id",
        [run.pk, batch_id, connection.ops.adapt_datetimefield_value(timezone.now())],
        lambda row: row and row[0],
    )


def test_an_answer_outside_a_pipeline_is_read_at_once(runs):
    noted = _note(runs[0], "b1")
    assert noted._read and noted.value == "b1"
    assert _note(runs[0], "b1").value is None  # the conflict: no row


def test_an_answer_in_a_pipeline_is_read_when_it_ends(runs):
    from django.db import transaction

    from studio.core import prepared

    with transaction.atomic():
        with prepared.pipeline():
            first, again = _note(runs[0], "b1"), _note(runs[0], "b1")
            # PostgreSQL: still unread (the pipeline's closing sync brings it);
            # elsewhere there is no pipeline and it was read at once.
            assert first._read == (connection.vendor != "postgresql")
        assert (first._read, again._read) == (True, True)
    assert (first.value, again.value) == ("b1", None)


def test_an_answer_asked_for_inside_its_pipeline_is_read_then(runs):
    from django.db import transaction

    from studio.core import prepared

    with transaction.atomic(), prepared.pipeline():
        assert _note(runs[0], "b1").value == "b1"
        assert _note(runs[0], "b1").value is None


def test_a_failing_statement_in_a_pipeline_fails_the_block(runs):
    from django.db import DatabaseError, transaction

    from studio.core import prepared

    with pytest.raises(DatabaseError), transaction.atomic(), prepared.pipeline():
        _note(runs[0], "b1")
        prepared.answer(_NOTE + " RETURNING id", [runs[0].pk, "b1", None])  # a NULL time
    assert prepared._pending() == {}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's pipeline mode")
def test_an_answer_that_failed_fails_again_with_its_own_error_when_the_pipeline_ends(runs):
    from django.db import IntegrityError, transaction

    from studio.core import prepared

    with pytest.raises(IntegrityError), transaction.atomic(), prepared.pipeline():
        _note(runs[0], "b1")
        twice = prepared.answer(_NOTE + " RETURNING id", [runs[0].pk, "b1", "2026-12-01"])
        with pytest.raises(IntegrityError):  # the unique (run, batch id), read here
            twice.read()
    assert prepared._pending() == {}
