"""Writing the change feed (``RunChange``) that open pages follow live.

The run and metric services call these inside the transaction that makes the change,
so a change is visible to the feed's poller exactly when the change itself is. Why a
table and not signals or LISTEN/NOTIFY: the SDK, workers and supervisors write from
other processes, on SQLite as on PostgreSQL; a row with a monotonic id is the one
cursor every backend has, and a page that reconnects resumes from it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from studio.core import prepared
from studio.rules import seriescodec
from studio.tracking.models import ChangeKind, MetricBatch, Run, RunChange

log = logging.getLogger(__name__)

# How many of the newest points of each series a change carries: a live chart needs
# the tail; a batch bigger than this says "truncated" and the page reloads the series.
TAIL_POINTS = 1_000
# Every PRUNE_EVERY-th change deletes those older than the retention.
PRUNE_EVERY = 500


def retention() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "STUDIO_LIVE_RETENTION_SECONDS", 900)))


def _record(
    run: Run, kind: str, data: Mapping[str, Any], batch_id: str | None = None
) -> prepared.Answer:
    """Write one change. Its answer's value is False if ``batch_id`` is noted for the
    run already (by an earlier change: a retried metric batch), in which case nothing
    is written; inside ``prepared.pipeline()`` it is read when the pipeline ends."""
    # Every metric batch writes one: the INSERT is written once, not compiled per
    # call (issue 16); values are prepared by the fields as the ORM would.
    now = timezone.now()
    values = [
        run.workspace_id,
        run.experiment_id,
        run.pk,
        run.parent_id,
        kind,
        _DATA.get_db_prep_value(dict(data), connection),
        connection.ops.adapt_datetimefield_value(now),
        batch_id,
    ]

    def written(row: tuple | None) -> bool:
        if row is None:
            return False
        if row[0] % PRUNE_EVERY == 0:
            # Once this change is committed, in a transaction of its own: the prune
            # writes other runs' rows, which must not hold up (or fail) this change.
            before, below = now - retention(), row[0]
            transaction.on_commit(lambda: _prune(before=before, below=below))
        return True

    return prepared.answer(_INSERT, values, written)


def _prune(*, before: dt.datetime, below: int) -> None:
    """Delete the changes older than ``before`` (the newest, ``below``, stays: a quiet
    page resumes from it, not from nothing). The batch ids they note move to
    ``MetricBatch``, so a batch retried after its change is gone is still recognised.
    If a run is deleted meanwhile (its batch ids then refer to nothing), nothing is
    pruned this time; the next prune takes the rest."""
    try:
        with transaction.atomic():
            old = RunChange.objects.filter(created_at__lt=before, id__lt=below)
            noted = old.exclude(batch_id=None).values_list("run_id", "batch_id")
            MetricBatch.objects.bulk_create(
                (MetricBatch(run_id=r, batch_id=b) for r, b in noted.iterator()),
                batch_size=500,
                ignore_conflicts=True,
            )
            old.delete()
    except IntegrityError:
        log.info("Change feed not pruned: a run was deleted meanwhile; the next prune will.")


_COLUMNS = (
    "workspace_id",
    "experiment_id",
    "run_id",
    "parent_id",
    "kind",
    "data",
    "created_at",
    "batch_id",
)
# A batch id the run's changes hold already inserts nothing (and answers no row);
# other changes have none (null), which never conflicts.
_INSERT = (
    f"INSERT INTO {RunChange._meta.db_table} ({', '.join(_COLUMNS)})"
    f" VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
    " ON CONFLICT (run_id, batch_id) DO NOTHING RETURNING id"
)
_DATA = RunChange._meta.get_field("data")


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def change_run_status(*, run: Run, created: bool = False) -> None:
    """A run was created, or its status changed (``run`` holds the new row)."""
    _record(
        run,
        ChangeKind.CREATED if created else ChangeKind.STATUS,
        {
            "status": run.status,
            "reason": run.status_reason,
            "started_at": _iso(run.started_at),
            "ended_at": _iso(run.ended_at),
        },
    )


def _number(value: Any) -> float | int | None:
    """JSON has no NaN or infinity (and PostgreSQL's jsonb and SQLite's JSON check
    refuse them): a non-finite value travels as null."""
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _finite(values: np.ndarray) -> list:
    """``values`` (numbers) as a list, non-finite ones as None: in C when all are
    finite (the usual case)."""
    finite = np.isfinite(values)
    if finite.all():
        return values.tolist()
    out = values.astype(object)
    out[~finite] = None
    return out.tolist()


def _column(values: np.ndarray) -> list | dict[str, str]:
    """A column of the change: a list (non-finite values as null) when short, else
    packed (``seriescodec``), which costs a batch of 1,000 points 0.05 ms instead of
    0.75 ms of writing floats as text; ``points_read`` turns it back into a list when
    the feed is read, so streams and their pages see lists either way."""
    if len(values) >= seriescodec.PACK_MIN:
        return seriescodec.pack(values)
    return _listed(values)


def _listed(column: np.ndarray) -> list:
    """A column as JSON can hold it: ints as they are, non-finite floats as null."""
    return column.tolist() if column.dtype.kind in "iu" else _finite(column)


def points_read(data: dict[str, Any]) -> dict[str, Any]:
    """A points change's data as streams see it: every column a list, non-finite
    values as null (JSON has no NaN)."""
    series = {}
    for name, s in data["series"].items():
        s = dict(s)
        for key in ("steps", "values", "times"):
            if isinstance(s[key], dict):
                s[key] = _listed(seriescodec.unpack(s[key], key, TAIL_POINTS))
        series[name] = s
    return {**data, "series": series}


def change_points(
    *, run: Run, series: Mapping[str, Any], summaries: Mapping[str, Any], batch_id: str
) -> prepared.Answer | None:
    """Scalar points of the metric batch ``batch_id`` are being stored: each series'
    newest TAIL_POINTS points (non-finite values as null) and its summary
    (last/min/max/count) after the batch. The change notes the batch id: its answer's
    value is False if the run has it already (a retry, nothing written); None if the
    batch has nothing to show live (no change, the batch id is not noted)."""
    out = {}
    for name, s in series.items():
        if s.kind != "scalar" or not len(s):
            continue
        summary = summaries[name]
        out[name] = {
            "steps": _column(s.steps[-TAIL_POINTS:]),
            "values": _column(np.asarray(s.values[-TAIL_POINTS:], dtype=np.float64)),
            "times": _column(np.asarray(s.times[-TAIL_POINTS:], dtype=np.float64)),
            "truncated": len(s) > TAIL_POINTS,
            "last": _number(summary.last_value),
            "min": _number(summary.min_value),
            "max": _number(summary.max_value),
            "count": summary.count,
        }
    if not out:
        return None
    return _record(run, ChangeKind.POINTS, {"series": out}, batch_id)


def change_log(*, run: Run, size: int) -> None:
    """The run's live log grew to ``size`` bytes."""
    _record(run, ChangeKind.LOG, {"size": size})
