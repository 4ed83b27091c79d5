"""Batched metric ingest: all of a batch or nothing, retries recognised by batch id."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from studio.core import prepared
from studio.errors import NotFound, RunTerminal, ValidationError
from studio.rules import metricdata, transitions, validation
from studio.tracking.models import (
    MetricBatch,
    MetricChunk,
    MetricRecord,
    MetricSummary,
    Run,
    RunChange,
)
from studio.tracking.services.changes import change_points
from studio.tracking.services.runs import _lock_run

MAX_BATCH_ITEMS = 1_000

# --- metrics ---------------------------------------------------------------------


def _check_records(records: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, Any]]:
    clean = []
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise ValidationError(f"records[{i}] must be an object.", field=f"records[{i}]")
        name = validation.key(record.get("name"), f"records[{i}].name")
        kind = record.get("kind")
        data = metricdata.check_record(kind, record.get("data"), f"records[{i}]")
        clean.append((name, kind, data))
    return clean


def metric_log_batch(
    *,
    run: Run,
    batch_id: str,
    series: Iterable[Mapping[str, Any]] = (),
    records: Iterable[Mapping[str, Any]] = (),
    system: bool = False,
) -> dict[str, Any]:
    """Store one batch of metric points and records: all of it or nothing.

    ``series`` items are ``{"name", "steps", "values", "times"}``; ``records`` items
    are ``{"name", "kind", "data"}``. A batch id already stored for this run is a
    retry whose first attempt committed: it is skipped, never stored twice.

    Names under the reserved ``sys/`` prefix are refused, unless ``system``: the
    supervisor's sampled system metrics, series only and every name under it.
    """
    batch_id = validation.text(batch_id, "batch_id", max_length=64, allow_empty=False)
    series_items = list(series)
    record_items = list(records)
    if len(series_items) + len(record_items) > MAX_BATCH_ITEMS:
        raise ValidationError(
            f"A batch holds at most {MAX_BATCH_ITEMS} metrics; split it into batches.",
            field="series",
        )
    parsed: dict[str, metricdata.Series] = {}
    for i, item in enumerate(series_items):
        if not isinstance(item, Mapping):
            raise ValidationError(f"series[{i}] must be an object.", field=f"series[{i}]")
        s = metricdata.parse_series(
            item.get("name"), item.get("steps", ()), item.get("values", ()), item.get("times", ())
        )
        if s.name in parsed:
            prev = parsed[s.name]
            if prev.kind != s.kind:
                raise ValidationError(
                    f"Metric {s.name!r} mixes numbers and text.", field=f"series[{i}]"
                )
            s = metricdata.Series(
                s.name,
                s.kind,
                _concat_arrays(prev.steps, s.steps),
                metricdata.concat(s.kind, prev.values, s.values),
                _concat_arrays(prev.times, s.times),
                prev.integral and s.integral,
            )
        parsed[s.name] = s
    for name, s in parsed.items():
        validation.metric_name(name, f"series.{name}", system=system)
        if system and s.kind != "scalar":
            raise ValidationError(
                f"System metric {name!r} must be numbers.", field=f"series.{name}"
            )
    if system and record_items:
        raise ValidationError("System metrics are series of numbers only.", field="records")
    clean_records = _check_records(record_items)
    for i, (name, _kind, _data) in enumerate(clean_records):
        validation.metric_name(name, f"records[{i}].name", system=system)
    points = sum(len(s) for s in parsed.values())

    try:
        # PostgreSQL: BEGIN goes with the lock and the read, COMMIT with nothing after
        # the writes' answers (token, access, [BEGIN, lock, read], [writes, change],
        # COMMIT: 5 round trips).
        with prepared.pipeline(), transaction.atomic():
            # The run's row locked, then one read of what the batch needs: whether
            # the run still takes metrics, whether the batch was stored before, the
            # summaries and last chunks of its series.
            state = _open_run(run, batch_id, _mergeable(parsed))
            if not state.accepts:
                raise RunTerminal(
                    f"Run {run.run_id} is {state.status}; it no longer accepts metrics.",
                    field="run_id",
                )
            if state.noted:
                return _duplicate(batch_id)
            if state.beat_due:
                _heartbeat(run)
            writes = _plan_series(run, parsed, state.summaries, state.tails) if parsed else None
            if writes is not None:
                writes.apply()
            if clean_records:
                _store_records(run, clean_records)
            # Last, the batch id is noted: by the change for open pages, or, for a
            # batch with nothing to show live (None), in MetricBatch. Its answer
            # comes with the writes' (one round trip).
            noted = None
            if writes is not None:
                noted = change_points(
                    run=run, series=parsed, summaries=writes.summaries, batch_id=batch_id
                )
            if noted is None:
                noted = _batch_noted(run, batch_id)
            # False: the same batch, committed while this one waited for the lock;
            # the writes are rolled back.
            if not noted.value:
                raise _NotedMeanwhile
    except _NotedMeanwhile:
        return _duplicate(batch_id)
    return {"batch_id": batch_id, "stored": points + len(clean_records), "duplicate": False}


class _NotedMeanwhile(Exception):
    """The batch was stored by another request while this one waited: roll back."""


def _duplicate(batch_id: str) -> dict[str, Any]:
    return {"batch_id": batch_id, "stored": 0, "duplicate": True}


def _heartbeat(run: Run) -> None:
    """Note the run alive (its row is locked, and it takes metrics)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with prepared.cursor() as cursor:
        cursor.execute(_HEARTBEAT, [now, run.pk])


_HEARTBEAT = f"UPDATE {Run._meta.db_table} SET heartbeat_at = %s WHERE id = %s"


def heartbeat_every() -> float:
    """How stale a run's heartbeat may be before a metric batch writes it again: a
    run logging many small batches writes its row once a second, not per batch, and
    is still far inside its lease."""
    return min(1.0, settings.STUDIO_RUN_LEASE_SECONDS / 10)


def _batch_noted(run: Run, batch_id: str) -> prepared.Answer:
    """Note the batch ``batch_id`` of ``run`` (one with nothing to show live, so no
    change notes it); the answer's value is False if it was noted before (a retry
    whose first attempt committed). One statement: INSERT ... ON CONFLICT DO NOTHING
    RETURNING (SQLite 3.35+, PostgreSQL) answers a row only if it inserted one."""
    return prepared.answer(
        _BATCH_NOTE,
        [run.pk, batch_id, connection.ops.adapt_datetimefield_value(timezone.now())],
        lambda row: row is not None,
    )


_BATCH_NOTE = (
    f"INSERT INTO {MetricBatch._meta.db_table} (run_id, batch_id, created_at)"
    " VALUES (%s, %s, %s) ON CONFLICT (run_id, batch_id) DO NOTHING RETURNING id"
)


def _concat_arrays(a, b):
    return metricdata.concat("scalar", a, b)


def _mergeable(parsed: dict[str, metricdata.Series]) -> dict[str, int]:
    """Per series: the largest count of its last chunk worth topping up. The last
    chunk is topped up only while rewriting it costs about as much as the points
    being added (geometric growth): small batches then cost O(batch), not O(chunk),
    and chunks still grow to hundreds of points."""
    return {
        name: min(
            metricdata.CHUNK_POINTS - 1,
            metricdata.TAIL_MERGE_FACTOR * len(s) + metricdata.TAIL_MERGE_SLACK,
        )
        for name, s in parsed.items()
    }


@dataclass
class _SeriesWrites:
    """What storing a batch's series writes, worked out before anything is written
    (the change that notes the batch is written after them: a batch found stored
    meanwhile rolls them back)."""

    summaries: dict[str, MetricSummary]  # every series' summary after the batch
    updated: list[MetricSummary]
    created: list[MetricSummary]
    tails: list[MetricChunk]
    chunks: list[MetricChunk]

    def apply(self) -> None:
        for tail in self.tails:
            _write(_CHUNK_UPDATE, tail, _CHUNK_FIELDS)
        # The arrays bound as parameters, not written into the statement as hex as
        # bulk_create does on PostgreSQL: a 20,000-point run.log() flush 16.4 -> 8.5 ms.
        prepared.insert_many(self.chunks)
        MetricSummary.objects.bulk_create(self.created)
        # One plain UPDATE per existing summary (the run's row is locked). bulk_update
        # would build a CASE WHEN per field and row: ~1 ms of ORM work per metric,
        # several times what these small updates by primary key cost (bench/ingest.py);
        # the statement is written once, not compiled per call.
        for summary in self.updated:
            _write(_SUMMARY_UPDATE, summary, _SUMMARY_FIELDS)


def _plan_series(
    run: Run,
    parsed: dict[str, metricdata.Series],
    summaries: dict[str, MetricSummary],
    tails: dict[str, MetricChunk],
) -> _SeriesWrites:
    """The writes that store the points, given the series' summaries and the last
    chunks worth topping up (read under the run's row lock, so they cannot change
    under the caller)."""
    new_chunks: list[MetricChunk] = []
    new_summaries: list[MetricSummary] = []
    topped: list[MetricChunk] = []
    for name, s in parsed.items():
        summary = summaries.get(name)
        if summary is None:
            summary = MetricSummary(run=run, name=name, kind=s.kind)
            new_summaries.append(summary)
        elif summary.kind != s.kind:
            raise ValidationError(
                f"Metric {name!r} holds {summary.kind} values; it cannot take {s.kind} ones.",
                field=f"series.{name}",
            )
        s.steps = metricdata.number_auto_steps(s.steps, summary.count)
        steps, values, times = s.steps, s.values, s.times
        tail = tails.get(name)
        if tail is not None:
            # Fill the last, partly empty chunk first so chunks stay large.
            room = metricdata.CHUNK_POINTS - tail.count
            head_steps, head_values, head_times = steps[:room], values[:room], times[:room]
            steps, values, times = steps[room:], values[room:], times[room:]
            merged_steps = _concat_arrays(metricdata.decode_steps(tail.steps), head_steps)
            merged_values = metricdata.concat(
                s.kind, metricdata.decode_values(tail.encoding, tail.values), head_values
            )
            merged_times = _concat_arrays(metricdata.decode_times(tail.times), head_times)
            integral = s.integral and tail.encoding == "f8i"
            _fill_chunk(tail, s.kind, merged_steps, merged_values, merged_times, integral)
            topped.append(tail)
        for c_steps, c_values, c_times in metricdata.split_chunks(steps, values, times):
            chunk = MetricChunk(run=run, name=name, seq=summary.chunk_count)
            _fill_chunk(chunk, s.kind, c_steps, c_values, c_times, s.integral)
            new_chunks.append(chunk)
            summary.chunk_count += 1
        _update_summary(summary, s)
    return _SeriesWrites(
        summaries={**summaries, **{summary.name: summary for summary in new_summaries}},
        updated=list(summaries.values()),
        created=new_summaries,
        tails=topped,
        chunks=new_chunks,
    )


_SUMMARY_FIELDS = (
    "count",
    "last_value",
    "last_is_nan",
    "last_text",
    "last_step",
    "last_time",
    "min_value",
    "max_value",
    "chunk_count",
)
_CHUNK_FIELDS = (
    "count",
    "encoding",
    "first_step",
    "last_step",
    "steps",
    "values",
    "times",
    "buckets",
)


def _update_sql(model, fields: tuple[str, ...]) -> str:
    """``UPDATE <table> SET <field> = %s, ... WHERE id = %s`` for ``model``."""
    q = connection.ops.quote_name
    columns = ", ".join(f"{q(model._meta.get_field(f).column)} = %s" for f in fields)
    return f"UPDATE {q(model._meta.db_table)} SET {columns} WHERE {q('id')} = %s"


_CHUNK_UPDATE = _update_sql(MetricChunk, _CHUNK_FIELDS)
_SUMMARY_UPDATE = _update_sql(MetricSummary, _SUMMARY_FIELDS)


def _write(sql: str, obj, fields: tuple[str, ...]) -> None:
    with prepared.cursor() as cursor:
        cursor.execute(sql, [*(getattr(obj, f) for f in fields), obj.pk])


# The summary's columns, then its last chunk's (LEFT JOIN: none yet, or too full).
_SUMMARY_COLUMNS = [f.attname for f in MetricSummary._meta.concrete_fields]
_TAIL_COLUMNS = ("id", "count", "encoding", "steps", "values", "times")


@dataclass
class _RunState:
    status: str
    accepts: bool  # not finished
    noted: bool  # the batch id is noted already: a retry
    beat_due: bool  # the heartbeat is older than heartbeat_every()
    summaries: dict[str, MetricSummary]
    tails: dict[str, MetricChunk]


def _open_run(run: Run, batch_id: str, most: dict[str, int]) -> _RunState:
    """Lock ``run``'s row for this transaction (NotFound if it is gone or in the
    trash) and read, in one statement after the lock, its state, whether ``batch_id`` is noted (by a change, or in
    ``MetricBatch``), and the summaries of the series ``most`` names with, for each,
    its last chunk if it holds at most ``most[name]`` points (worth topping up)."""
    q = connection.ops.quote_name
    summary_cols = ", ".join(
        f"s.{q(MetricSummary._meta.get_field(a).column)}" for a in _SUMMARY_COLUMNS
    )
    tail_cols = ", ".join(f"c.{q(c)}" for c in _TAIL_COLUMNS)
    names = list(most)
    terminal = ", ".join(["%s"] * len(transitions.TERMINAL))
    sql = (
        f"SELECT r.status, r.deleted_at IS NULL, r.status NOT IN ({terminal}),"
        f" (EXISTS (SELECT 1 FROM {q(MetricBatch._meta.db_table)} b"
        "  WHERE b.run_id = r.id AND b.batch_id = %s)"
        f" OR EXISTS (SELECT 1 FROM {q(RunChange._meta.db_table)} x"
        "  WHERE x.run_id = r.id AND x.batch_id = %s)),"
        " (r.heartbeat_at IS NULL OR r.heartbeat_at < %s),"
        f" {summary_cols}, {tail_cols}"
        f" FROM {q(Run._meta.db_table)} r"
        f" LEFT JOIN {q(MetricSummary._meta.db_table)} s ON s.run_id = r.id"
        f" AND s.name IN ({', '.join(['%s'] * len(names)) or 'NULL'})"
        f" LEFT JOIN {q(MetricChunk._meta.db_table)} c"
        " ON c.run_id = s.run_id AND c.name = s.name AND c.seq = s.chunk_count - 1"
        " AND c.count <= %s"
        " WHERE r.id = %s"
    )
    stale = timezone.now() - dt.timedelta(seconds=heartbeat_every())
    params = [
        *transitions.TERMINAL,
        batch_id,
        batch_id,
        connection.ops.adapt_datetimefield_value(stale),
        *names,
        max(most.values(), default=0),
        run.pk,
    ]
    if connection.features.has_select_for_update:
        # PostgreSQL: the lock first, on its own. A statement reads as of its start,
        # so a read that also waited for the lock would see the summaries and chunks
        # as they were before the writer it waited for committed, and write over that
        # writer's points; the read after the lock sees them. (SQLite's write
        # transaction holds the database from its BEGIN: the read alone does.) Its
        # answer is not read: in the caller's pipeline, BEGIN, the lock and the read
        # go out together, and the read finds a run that is gone.
        _lock_run(run, read=False)
    # In the binary format on PostgreSQL: the last chunk's arrays come as they are
    # stored, not as hex (every column here is bytea, text, a number or a boolean).
    with prepared.cursor(binary=True) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows or not rows[0][1]:  # gone, or in the trash
        raise NotFound(f"Run {run.run_id} does not exist.", field="run_id")
    status, _present, accepts, noted, beat_due = rows[0][:5]
    width = len(_SUMMARY_COLUMNS)
    summaries: dict[str, MetricSummary] = {}
    tails: dict[str, MetricChunk] = {}
    for row in rows:
        row = row[5:]
        if row[0] is None:  # no summary of these names yet
            continue
        values = list(row[:width])
        values[_NAN_AT] = bool(values[_NAN_AT])  # SQLite answers 0/1
        summary = MetricSummary.from_db(connection.alias, _SUMMARY_COLUMNS, values)
        summaries[summary.name] = summary
        tail_id, count, encoding, steps, values_, times = row[width:]
        if tail_id is not None and count <= most[summary.name]:
            tails[summary.name] = MetricChunk.from_db(
                connection.alias,
                ["id", "run_id", "name", "seq", "count", "encoding", "steps", "values", "times"],
                [tail_id, run.pk, summary.name, summary.chunk_count - 1, count, encoding,
                 bytes(steps), bytes(values_), bytes(times)],
            )  # fmt: skip
    return _RunState(status, bool(accepts), bool(noted), bool(beat_due), summaries, tails)


_NAN_AT = _SUMMARY_COLUMNS.index("last_is_nan")


def _fill_chunk(
    chunk: MetricChunk, kind: str, steps, values, times, integral: bool = False
) -> None:
    chunk.count = len(steps)
    chunk.first_step = int(steps.min())
    chunk.last_step = int(steps.max())
    chunk.encoding, chunk.values = metricdata.encode_values(kind, values, integral)
    chunk.steps = steps.astype("int64").tobytes()
    chunk.times = times.astype("float64").tobytes()
    chunk.buckets = metricdata.compute_buckets(steps, values)


def _update_summary(summary: MetricSummary, s: metricdata.Series) -> None:
    """Fold a batch into last/min/max/count. Runs under the run's row lock, so the
    read-modify-write cannot lose an update to another writer of the same run."""
    summary.count += len(s)
    summary.last_step = int(s.steps[-1])
    summary.last_time = float(s.times[-1])
    if s.kind == "text":
        last = s.values[-1]
        summary.last_text = last if last is None or type(last) is str else str(last)
        return
    last = float(s.values[-1])
    summary.last_is_nan = last != last
    summary.last_value = None if summary.last_is_nan else last
    lo, hi = metricdata.summary_stats(s.values)
    if lo is not None:
        summary.min_value = lo if summary.min_value is None else min(summary.min_value, lo)
        summary.max_value = hi if summary.max_value is None else max(summary.max_value, hi)


def _store_records(run: Run, records: list[tuple[str, str, Any]]) -> None:
    kinds = dict(
        MetricSummary.objects.filter(run=run, name__in=[r[0] for r in records]).values_list(
            "name", "kind"
        )
    )
    new_summaries: dict[str, MetricSummary] = {}
    counts: dict[str, int] = {}
    for name, kind, _ in records:
        known = kinds.get(name) or (new_summaries[name].kind if name in new_summaries else None)
        if known is not None and known != kind:
            raise ValidationError(
                f"Metric {name!r} holds {known} values; it cannot take a {kind}.",
                field=f"records.{name}",
            )
        if known is None:
            new_summaries[name] = MetricSummary(run=run, name=name, kind=kind)
        counts[name] = counts.get(name, 0) + 1
    MetricRecord.objects.bulk_create(
        MetricRecord(run=run, name=name, kind=kind, data=data) for name, kind, data in records
    )
    for name, summary in new_summaries.items():
        summary.count = counts.pop(name)
    MetricSummary.objects.bulk_create(new_summaries.values())
    for name, n in counts.items():
        MetricSummary.objects.filter(run=run, name=name).update(count=F("count") + n)


def new_batch_id() -> str:
    return uuid.uuid4().hex
