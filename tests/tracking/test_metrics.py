"""Batched metric ingest: atomic batches, idempotent retries, chunked storage,
summaries, and the bad-input policy (NaN/inf stored, booleans refused)."""

import math

import numpy as np
import pytest
from django.db import connection

from studio.core import prepared
from studio.errors import RunTerminal, ValidationError
from studio.rules import metricdata
from studio.tracking import selectors, services
from studio.tracking.models import (
    MetricBatch,
    MetricChunk,
    MetricRecord,
    MetricSummary,
    RunChange,
)

T0 = 1_790_000_000.0


def series(name, values, steps=None, times=None):
    n = len(values)
    return {
        "name": name,
        "steps": list(range(n)) if steps is None else steps,
        "values": values,
        "times": [T0 + i for i in range(n)] if times is None else times,
    }


def nothing_stored(run):
    return (
        MetricBatch.objects.filter(run=run).count() == 0
        and MetricChunk.objects.filter(run=run).count() == 0
        and MetricSummary.objects.filter(run=run).count() == 0
        and MetricRecord.objects.filter(run=run).count() == 0
        and not RunChange.objects.filter(run=run, kind="points").exists()
    )


def test_a_batch_is_stored_and_summarised(run):
    result = services.metric_log_batch(
        run=run, batch_id="b1", series=[series("loss", [3.0, 1.0, 2.0])]
    )
    assert result == {"batch_id": "b1", "stored": 3, "duplicate": False}
    summary = MetricSummary.objects.get(run=run, name="loss")
    assert (summary.count, summary.last_value, summary.min_value, summary.max_value) == (
        3,
        2.0,
        1.0,
        3.0,
    )
    assert summary.last_step == 2


def test_a_retried_batch_id_never_duplicates_points(run):
    batch = [series("loss", [1.0, 2.0])]
    services.metric_log_batch(run=run, batch_id="same", series=batch)
    again = services.metric_log_batch(run=run, batch_id="same", series=batch)
    assert again["duplicate"] is True
    steps, values, _ = selectors.metric_series(run=run, name="loss")
    assert values.tolist() == [1.0, 2.0]
    assert MetricSummary.objects.get(run=run, name="loss").count == 2


def test_a_batch_is_recognised_after_its_change_was_pruned(
    run, monkeypatch, django_capture_on_commit_callbacks
):
    """A batch of numbers is noted by its live change; when the feed prunes the
    change, the id moves to MetricBatch and a late retry is still recognised."""
    import datetime as dt

    from django.utils import timezone

    from studio.tracking.services import changes

    batch = [series("loss", [1.0, 2.0])]
    services.metric_log_batch(run=run, batch_id="early", series=batch)
    assert not MetricBatch.objects.exists()
    assert RunChange.objects.get(batch_id="early").kind == "points"
    RunChange.objects.update(created_at=timezone.now() - dt.timedelta(days=1))
    monkeypatch.setattr(changes, "PRUNE_EVERY", 1)
    with django_capture_on_commit_callbacks(execute=True):  # the prune, once committed
        services.metric_log_batch(run=run, batch_id="late", series=[series("loss", [3.0])])
    assert not RunChange.objects.filter(batch_id="early").exists()  # pruned
    assert list(MetricBatch.objects.values_list("batch_id", flat=True)) == ["early"]
    again = services.metric_log_batch(run=run, batch_id="early", series=batch)
    assert again["duplicate"] is True
    again = services.metric_log_batch(run=run, batch_id="late", series=batch)
    assert again["duplicate"] is True
    assert selectors.metric_series(run=run, name="loss")[1].tolist() == [1.0, 2.0, 3.0]


def test_a_batch_with_nothing_to_show_live_is_noted_and_recognised(run):

    text = {"name": "note", "steps": [0], "values": ["hi"], "times": [1.75e9]}
    records = [{"name": "cm", "kind": "list", "data": [1, 2]}]
    for batch_id, kwargs in (("t", {"series": [text]}), ("r", {"records": records})):
        first = services.metric_log_batch(run=run, batch_id=batch_id, **kwargs)
        assert first["duplicate"] is False
        again = services.metric_log_batch(run=run, batch_id=batch_id, **kwargs)
        assert again["duplicate"] is True
    assert sorted(MetricBatch.objects.values_list("batch_id", flat=True)) == ["r", "t"]
    assert not RunChange.objects.exclude(batch_id=None).exists()
    assert MetricSummary.objects.get(run=run, name="note").count == 1
    assert MetricRecord.objects.filter(run=run, name="cm").count() == 1


def test_a_batch_with_one_bad_item_stores_nothing(run):
    good = series("loss", [1.0, 2.0])
    bad = series("acc", [0.5, True])  # a bool where a number is expected
    with pytest.raises(ValidationError) as err:
        services.metric_log_batch(run=run, batch_id="b", series=[good, bad])
    assert err.value.field == "values[1]"
    assert "bool" in err.value.message
    assert nothing_stored(run)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), -0.0, 5e-324])
def test_special_floats_come_back_as_they_went_in(run, value):
    services.metric_log_batch(run=run, batch_id="b", series=[series("x", [1.0, value])])
    _, values, _ = selectors.metric_series(run=run, name="x")
    assert values[1].tobytes() == np.float64(value).tobytes()
    summary = MetricSummary.objects.get(run=run, name="x")
    if math.isnan(value):
        assert summary.last_is_nan and summary.last_value is None
    else:
        assert summary.last_value == value


def test_nan_does_not_poison_min_and_max(run):
    services.metric_log_batch(
        run=run, batch_id="b", series=[series("x", [float("nan"), 2.0, -1.0])]
    )
    summary = MetricSummary.objects.get(run=run, name="x")
    assert (summary.min_value, summary.max_value) == (-1.0, 2.0)


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"values": ["0.5", 1.0]}, "values[0]"),  # text where numbers are
        ({"values": [None, 1.0]}, "values[0]"),
        ({"values": [[1.0], 1.0]}, "values[0]"),
        ({"steps": [-1, 0]}, "steps"),
        ({"steps": [2**63, 0]}, "steps"),
        ({"steps": [0.5, 1]}, "steps[0]"),
        ({"steps": [True, 1]}, "steps[0]"),
        ({"times": [0.0, T0]}, "times"),
        ({"times": [T0 * 1000, T0]}, "times"),  # milliseconds
        ({"values": [10**400, 1.0]}, "values"),
        ({"steps": [0]}, "steps"),  # length mismatch
    ],
)
def test_bad_points_are_refused_with_the_field_named(run, bad, field):
    item = series("m", [1.0, 2.0])
    item.update(bad)
    with pytest.raises(ValidationError) as err:
        services.metric_log_batch(run=run, batch_id="b", series=[item])
    assert err.value.field == field
    assert nothing_stored(run)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "a" * 256,
        "bad\x00name",
        "lone\ud800surrogate",
        "rtl\u202eoverride",
        "zero\u200bwidth",
        7,
    ],
)
def test_bad_metric_names_are_refused(run, name):
    with pytest.raises(ValidationError) as err:
        services.metric_log_batch(run=run, batch_id="b", series=[series(name, [1.0])])
    assert err.value.code == "invalid"
    assert nothing_stored(run)


def test_names_are_nfc_normalised_so_one_metric_does_not_become_two(run):
    nfd = "e\u0301"
    nfc = "\u00e9"
    services.metric_log_batch(run=run, batch_id="a", series=[series(nfd, [1.0])])
    services.metric_log_batch(run=run, batch_id="b", series=[series(nfc, [2.0])])
    assert list(MetricSummary.objects.filter(run=run).values_list("name", "count")) == [(nfc, 2)]


def test_metrics_sent_to_a_finished_run_are_refused(run):
    services.run_complete(run=run)
    with pytest.raises(RunTerminal):
        services.metric_log_batch(run=run, batch_id="b", series=[series("loss", [1.0])])
    assert nothing_stored(run)


def test_batches_over_the_item_limit_are_refused(run):
    items = [series(f"m{i}", [1.0]) for i in range(services.MAX_BATCH_ITEMS + 1)]
    with pytest.raises(ValidationError) as err:
        services.metric_log_batch(run=run, batch_id="b", series=items)
    assert "split" in err.value.message
    assert nothing_stored(run)


def test_a_long_series_is_stored_in_full_chunks_across_many_batches(run):
    n_batches, per_batch = 7, 1500
    sent = []
    for b in range(n_batches):
        values = [float(b * per_batch + i) for i in range(per_batch)]
        sent += values
        services.metric_log_batch(
            run=run,
            batch_id=f"b{b}",
            series=[series("loss", values, steps=[None] * per_batch)],
        )
    chunks = list(MetricChunk.objects.filter(run=run, name="loss").order_by("seq"))
    total = n_batches * per_batch
    assert [c.count for c in chunks] == [metricdata.CHUNK_POINTS] * (
        total // metricdata.CHUNK_POINTS
    ) + [total % metricdata.CHUNK_POINTS]
    steps, values, _ = selectors.metric_series(run=run, name="loss")
    assert values.tolist() == sent
    assert steps.tolist() == list(range(total))  # steps numbered across batches
    summary = MetricSummary.objects.get(run=run, name="loss")
    assert (summary.count, summary.chunk_count) == (total, len(chunks))


def test_chart_data_keeps_every_peak_and_dip(run):
    values = np.sin(np.arange(200_000) / 1000.0)
    values[123_457] = 50.0
    values[7] = -40.0
    services.metric_log_batch(
        run=run,
        batch_id="b",
        series=[
            {
                "name": "x",
                "steps": np.arange(200_000),
                "values": values,
                "times": np.full(200_000, T0),
            }
        ],
    )
    data = selectors.metric_chart_data(run=run, name="x", max_points=1000)
    assert data["reduced"] and len(data["min"]) <= 500
    assert data["max"].max() == 50.0 and data["min"].min() == -40.0
    zoom = selectors.metric_chart_data(
        run=run, name="x", max_points=1000, step_range=(123_000, 123_900)
    )
    assert not zoom["reduced"]
    assert 50.0 in zoom["values"].tolist()


def test_text_values_form_a_text_series(run):
    services.metric_log_batch(
        run=run, batch_id="b", series=[series("message", ["Hello from run!"])]
    )
    assert selectors.metrics_get(run=run) == {"message": "Hello from run!"}
    with pytest.raises(ValidationError):
        services.metric_log_batch(run=run, batch_id="c", series=[series("message", [1.0])])


def test_lists_rows_and_tables_are_records(run):
    services.metric_log_batch(
        run=run,
        batch_id="b",
        records=[
            {"name": "accuracies", "kind": "list", "data": [0.1, 0.2]},
            {"name": "by_epoch", "kind": "row", "data": {"epoch": 1, "loss": 0.5}},
            {"name": "by_epoch", "kind": "row", "data": {"epoch": 2, "loss": 0.25}},
            {"name": "confusion", "kind": "table", "data": {"a": [1, 2], "b": [3, 4]}},
        ],
    )
    assert selectors.metrics_get(run=run) == {
        "accuracies": [0.1, 0.2],
        "by_epoch": {"epoch": [1, 2], "loss": [0.5, 0.25]},
        "confusion": {"a": [1, 2], "b": [3, 4]},
    }
    assert MetricSummary.objects.get(run=run, name="by_epoch").count == 2


@pytest.mark.parametrize(
    "record",
    [
        {"name": "t", "kind": "table", "data": {"a": [1, 2], "b": [3]}},
        {"name": "t", "kind": "list", "data": "not a list"},
        {"name": "t", "kind": "row", "data": {"a": {"nested": 1}}},
        {"name": "t", "kind": "script", "data": []},
        {"name": "t", "kind": "image", "data": {"file": "../../etc/passwd"}},
    ],
)
def test_bad_records_are_refused(run, record):
    with pytest.raises(ValidationError):
        services.metric_log_batch(run=run, batch_id="b", records=[record])
    assert nothing_stored(run)


def test_a_batch_found_stored_meanwhile_rolls_back_its_points(run, monkeypatch):
    """The batch id is noted last; should it turn out stored by another request (the
    change's INSERT answers nothing), the points written before it are rolled back."""
    from studio.tracking.services import metrics

    services.metric_log_batch(run=run, batch_id="b1", series=[series("loss", [1.0])])
    opened = metrics._open_run

    def stored_meanwhile(run, batch_id, most):
        state = opened(run, batch_id, most)  # not noted yet: the batch goes on
        RunChange.objects.create(
            workspace_id=run.workspace_id,
            experiment_id=run.experiment_id,
            run=run,
            kind="points",
            batch_id=batch_id,
        )
        return state

    monkeypatch.setattr(metrics, "_open_run", stored_meanwhile)

    result = services.metric_log_batch(
        run=run, batch_id="b2", series=[series("loss", [2.0], steps=[1])]
    )

    assert result == {"batch_id": "b2", "stored": 0, "duplicate": True}
    summary = MetricSummary.objects.get(run=run, name="loss")
    assert (summary.count, summary.last_value) == (1, 1.0)
    steps, values, _ = selectors.metric_history(run=run, name="loss")
    assert list(steps) == [0] and list(values) == [1.0]
    assert not RunChange.objects.filter(run=run, batch_id="b2").exists()  # rolled back too


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's pipeline mode")
def test_a_batchs_transaction_is_sent_in_one_pipeline_on_postgresql(run, monkeypatch):
    """From BEGIN (here the test's savepoint) to the change, every statement of a batch
    goes out in pipeline mode; the ones before it (the run's access) do not. The
    change's answer is read in the pipeline, before COMMIT (a batch noted meanwhile
    rolls back): the round trips are counted in test_round_trips."""
    sent = []

    def note(execute, sql, params, many, context):
        sent.append((sql, context["connection"].connection._pipeline is not None))
        return execute(sql, params, many, context)

    read = prepared.Answer.read

    def note_read(answer):  # the change's answer, read with the writes
        if not answer._read:  # later reads give the row already read
            sent.append(("read", connection.connection._pipeline is not None))
        return read(answer)

    monkeypatch.setattr(prepared.Answer, "read", note_read)
    with connection.execute_wrapper(note):
        for i, value in enumerate([1.0, 2.0, 3.0]):
            services.metric_log_batch(
                run=run, batch_id=f"b{i}", series=[series("loss", [value], steps=[i])]
            )

    work = [(sql, piped) for sql, piped in sent if not sql.startswith(("SAVEPOINT", "RELEASE"))]
    assert sum("FOR UPDATE" in sql for sql, _ in work) == 3  # each batch's lock
    assert sum(sql.startswith("INSERT INTO tracking_runchange") for sql, _ in work) == 3
    statements = [(sql, piped) for sql, piped in work if sql != "read"]
    assert statements[-1][0].startswith("INSERT INTO tracking_runchange")  # noted last
    assert all(piped for _, piped in statements), work
    reads = [piped for sql, piped in work if sql == "read"]
    assert reads and all(reads)  # ... and its answer read in the pipeline
    assert MetricSummary.objects.get(run=run, name="loss").count == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's TOAST")
def test_a_big_batch_is_stored_with_its_change_in_lz4_and_read_back_exactly(run):
    """pglz took 0.53-0.86 ms to store a 1,000-point batch's change, lz4 0.36-0.40
    (migration 0015; where the server has lz4, PostgreSQL 14+ built with it); the
    chunks stay uncompressed (0004: a history reads faster), their arrays sent as
    parameters and read back in the binary format."""
    import importlib

    migration = importlib.import_module("studio.tracking.migrations.0015_lz4_toast")
    if not migration.lz4_available(connection):
        pytest.skip("this PostgreSQL was built without lz4")
    values = [0.25 + i / 20_000 for i in range(20_000)]
    services.metric_log_batch(run=run, batch_id="big", series=[series("loss", values)])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attrelid::regclass::text, attcompression FROM pg_attribute"
            " WHERE attname = 'data'"
            " AND attrelid IN ('tracking_runchange'::regclass, 'tracking_metricrecord'::regclass)"
            " ORDER BY 1"
        )
        assert cursor.fetchall() == [("tracking_metricrecord", "l"), ("tracking_runchange", "l")]
        cursor.execute(
            "SELECT DISTINCT pg_column_compression(steps), pg_column_compression(values),"
            " pg_column_compression(times) FROM tracking_metricchunk WHERE run_id = %s",
            [run.pk],
        )
        assert cursor.fetchall() == [(None, None, None)]
        cursor.execute(
            "SELECT pg_column_compression(data) FROM tracking_runchange WHERE batch_id = 'big'"
        )
        assert cursor.fetchone() == ("lz4",)
    steps, got, times = selectors.metric_history(run=run, name="loss")
    assert np.array_equal(steps, np.arange(20_000)) and np.array_equal(got, np.array(values))
    assert np.array_equal(times, T0 + np.arange(20_000))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side binding")
def test_a_batchs_arrays_go_as_parameters_and_come_back_in_the_binary_format(run, settings):
    """Django's bulk_create binds on the client: 96 KB of arrays became hex in the SQL
    text, which the server parsed (1.6 ms of a 3.0 ms chunk insert); the text format
    brings bytea back as hex too. The chunk INSERT runs on a server-binding cursor,
    the batch's read and the history's in the binary format."""
    from psycopg import ClientCursor, pq

    if not settings.STUDIO_PG_PREPARED:
        pytest.skip("prepared statements are off: every cursor is Django's")
    seen = []

    def note(execute, sql, params, many, context):
        raw = context["cursor"].cursor
        seen.append((sql, isinstance(raw, ClientCursor), raw.format == pq.Format.BINARY))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        for i in range(2):
            services.metric_log_batch(
                run=run, batch_id=f"big{i}", series=[series("loss", [0.5] * 5_000)]
            )
        selectors.metric_history(run=run, name="loss")

    inserts = [client for sql, client, _ in seen if "INSERT INTO" in sql and "metricchunk" in sql]
    assert inserts == [False, False]  # each batch's new chunks: bound on the server
    reads = [binary for sql, _, binary in seen if "FROM" in sql and "tracking_metricchunk" in sql]
    assert reads == [True, True, True], seen  # two batches' reads, the history
    assert MetricChunk.objects.filter(run=run, name="loss").count() == 3
