"""Every read of the tracking domain: queries that views, the API, the SDK's local
store and commands share. Lists come back as querysets with their related rows
prefetched, so a page costs a fixed number of queries whatever its size."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterable
from typing import IO, Any

import numpy as np
from django.db.models import CharField, QuerySet, Value

from studio.core import prepared
from studio.core.prepared import Prepared
from studio.errors import NotFound, ValidationError
from studio.rules import metricdata, validation
from studio.tracking import storage
from studio.tracking.models import (
    Experiment,
    LogChunk,
    MetricChunk,
    MetricKind,
    MetricRecord,
    MetricSummary,
    Run,
    RunFile,
    RunProperty,
    RunTag,
    Workspace,
)
from studio.tracking.services import liveness


def workspace_get(*, name: str) -> Workspace:
    try:
        return Workspace.objects.get(name=name)
    except Workspace.DoesNotExist:
        raise NotFound(f"Workspace {name!r} does not exist.", field="workspace") from None


def experiment_get(*, workspace: Workspace, name: str) -> Experiment:
    try:
        return Experiment.objects.get(workspace=workspace, name=name)
    except Experiment.DoesNotExist:
        raise NotFound(f"Experiment {name!r} does not exist.", field="experiment") from None


def experiment_with_workspace(*, workspace: str, name: str) -> Experiment | None:
    """The experiment ``name`` of the workspace named ``workspace``, its workspace
    joined (one query), or None if either does not exist yet."""
    return _EXPERIMENT.first(
        workspace=validation.workspace_name(workspace), name=validation.experiment_name(name)
    )


_EXPERIMENT = Prepared(
    lambda workspace, name: (
        Experiment.objects.select_related("workspace")
        .filter(workspace__name=workspace, name=name)
        .order_by("pk")[:1]
    ),
    workspace=str,
    name=str,
)


def experiment_list(*, workspace: Workspace) -> QuerySet[Experiment]:
    return Experiment.objects.filter(workspace=workspace).order_by("name")


def run_get(
    *,
    run_id: str,
    workspace: Workspace | None = None,
    light: bool = False,
    writer: bool = False,
    trashed: bool = False,
) -> Run:
    """The run ``run_id`` with its experiment, workspace, parent, tags and properties;
    ``light``: the run's row and its workspace only, for writes that read nothing
    else (one query instead of three). ``writer``: its experiment, workspace and
    parent joined but no tags or properties (one query): for a write that answers
    with the run's dictionary, built from this object once the change is made
    (``run_labels`` reads the tags and properties after it). ``trashed``: a run in
    its workspace's trash (restore, delete for good), which is otherwise not found.

    The lost-run check (``liveness``) is made once, on the row read here: the read
    brings the reaper's watch along, so a run that is not lost costs no other query."""

    def query() -> QuerySet[Run]:
        return run_query(
            run_id=run_id, workspace=workspace, light=light, writer=writer, trashed=trashed
        )

    if (light or writer) and not trashed and workspace is None:
        # The request-at-a-time writes (start, complete, a metric batch): compiled once.
        if not isinstance(run_id, str) or not run_id:
            raise ValidationError("A run id is required.", field="run_id")
        found = _RUN_READS["light" if light else "writer"].first(run_id=run_id)
    else:
        found = query().first()
    return run_checked(found, run_id=run_id, query=query)


def run_query(
    *,
    run_id: str,
    workspace: Workspace | None = None,
    light: bool = False,
    writer: bool = False,
    trashed: bool = False,
) -> QuerySet[Run]:
    """``run_get``'s query (the access check adds the caller's role to it)."""
    if not isinstance(run_id, str) or not run_id:
        raise ValidationError("A run id is required.", field="run_id")
    if trashed:
        qs = Run.all_objects.filter(run_id=run_id, deleted_at__isnull=False)
    else:
        qs = Run.objects.filter(run_id=run_id)
    if light:
        qs = qs.select_related("workspace")
    elif writer:
        # Of the joined rows only what a write and the run's dictionary read: the
        # parent's 27 columns and the experiment's times cost more to convert than the
        # rest of the read (a field left out is read on first use, as Django defers).
        qs = qs.select_related("experiment", "workspace", "parent").defer(*_WRITER_SKIPS)
    else:
        qs = qs.with_related()
    if workspace is not None:
        qs = qs.filter(workspace=workspace)
    return liveness.with_watch(qs)


_WRITER_SKIPS = (
    "experiment__created_at",
    "experiment__run_counter",
    "experiment__last_activity_at",
    "workspace__created_at",
    *(
        f"parent__{f.name}"
        for f in Run._meta.concrete_fields
        if f.name not in ("id", "run_id", "uuid", "workspace", "experiment", "root")
    ),
)

_RUN_READS = {
    mode: Prepared(
        lambda run_id, mode=mode: run_query(run_id=run_id, **{mode: True}).order_by()[:1],
        run_id=str,
    )
    for mode in ("light", "writer")
}


def run_checked(run: Run | None, *, run_id: str, query: Callable[[], QuerySet[Run]]) -> Run:
    """``run`` as ``query()`` (a ``run_query``) found it, NotFound if it did not; a run
    whose process is gone is marked lost first, then read again (what was annotated on
    the first read, the caller's role, is kept)."""
    if run is None:
        raise NotFound(f"Run {run_id!r} does not exist.", field="run_id")
    if liveness.runs_reap_lost(runs=[run]):  # its process is gone: Failed, "lost"
        again = query().get()
        if hasattr(run, "_role"):
            again._role = run._role
        run = again
    return run


def _labels(run: int) -> QuerySet:
    kind = Value("t", output_field=CharField())
    tags = RunTag.objects.filter(run_id=run).order_by().values_list(kind, "key", "value")
    props = RunProperty.objects.filter(run_id=run).order_by()
    both = tags.union(
        props.values_list(Value("p", output_field=CharField()), "key", "value"), all=True
    )
    return both.order_by("key")


_LABELS = Prepared(_labels, run=int)


def run_labels(*, run: Run) -> tuple[dict[str, str | None], dict[str, str]]:
    """The tags and properties of ``run`` in one query (a writer's run, read without
    them, answering with its dictionary after the change)."""
    found: dict[str, dict] = {"t": {}, "p": {}}
    for which, key, value in _LABELS.rows(run=run.pk):
        found[which][key] = value
    return found["t"], found["p"]


# --- metrics -----------------------------------------------------------------------


_SERIES_CHUNKS = (
    'SELECT "encoding", "steps", "values", "times" FROM "tracking_metricchunk"'
    ' WHERE "run_id" = %s AND "name" = %s ORDER BY "seq"'
)


def metric_series(*, run: Run, name: str) -> tuple[np.ndarray, Any, np.ndarray]:
    """All points of one scalar or text series, in the order they were logged."""
    with prepared.cursor(binary=True) as cursor:
        cursor.execute(_SERIES_CHUNKS, [run.pk, name])
        chunks = cursor.fetchall()
    if not chunks:
        return np.empty(0, np.int64), np.empty(0), np.empty(0)
    steps = np.concatenate([metricdata.decode_steps(c[1]) for c in chunks])
    times = np.concatenate([metricdata.decode_times(c[3]) for c in chunks])
    if chunks[0][0] == "json":
        values: Any = [v for c in chunks for v in metricdata.decode_values("json", c[2])]
    else:
        values = np.concatenate([metricdata.decode_values("f8", c[2]) for c in chunks])
        if all(c[0] == "f8i" for c in chunks):  # every point was logged as an int
            values = values.astype(np.int64)
    return steps, values, times


def metric_history(*, run: Run, name: str) -> tuple[np.ndarray, Any, np.ndarray]:
    """Every point of the run's scalar or text series ``name``: (steps, values, times)
    as ``metric_series`` gives them; another kind of metric, or none, is an error."""
    kind = MetricSummary.objects.filter(run=run, name=name).values_list("kind", flat=True).first()
    if kind is None:
        raise NotFound(f"Run {run.run_id} has no metric named {name!r}.", field="name")
    if kind not in (MetricKind.SCALAR, MetricKind.TEXT):
        raise ValidationError(
            f"{name!r} is a {kind}, not a series: read it with get_metrics().", field="name"
        )
    return metric_series(run=run, name=name)


def metric_summaries(*, run: Run) -> QuerySet[MetricSummary]:
    return MetricSummary.objects.filter(run=run).order_by("name")


def metrics_get(*, run: Run, name: str | None = None) -> dict[str, Any]:
    """The run's metrics as ``get_metrics()`` returns them: a single logged value as
    itself, a series as a list, a list as the list, rows as columns, a table as its
    columns, an image as its file name."""
    summaries = metric_summaries(run=run)
    if name is not None:
        summaries = summaries.filter(name=name)
    out: dict[str, Any] = {}
    records: dict[str, list] = {}
    record_names = [s.name for s in summaries if s.kind not in (MetricKind.SCALAR, MetricKind.TEXT)]
    for record in MetricRecord.objects.filter(run=run, name__in=record_names).order_by("id"):
        records.setdefault(record.name, []).append(record.data)
    for summary in summaries:
        if summary.kind in (MetricKind.SCALAR, MetricKind.TEXT):
            _, values, _ = metric_series(run=run, name=summary.name)
            values = values.tolist() if isinstance(values, np.ndarray) else values
            out[summary.name] = values[0] if len(values) == 1 else values
        elif summary.kind == MetricKind.ROW:
            rows = records.get(summary.name, [])
            if len(rows) == 1:  # as v1: one row reads back as its values
                out[summary.name] = dict(rows[0])
                continue
            columns: dict[str, list] = {}
            for row in rows:
                for col, value in row.items():
                    columns.setdefault(col, []).append(value)
            out[summary.name] = columns
        elif summary.kind == MetricKind.IMAGE:
            files = [r["file"] for r in records.get(summary.name, [])]
            out[summary.name] = files[0] if len(files) == 1 else files
        else:  # list, table: the last one logged under that name
            items = records.get(summary.name, [])
            out[summary.name] = items[-1] if items else None
    return out


# A zoomed chart reads raw points when the chunks it overlaps hold at most this many
# times the points it can show; beyond that it reads the precomputed buckets.
RAW_READ_FACTOR = 64


def metric_chart_data(
    *, run: Run, name: str, max_points: int = 2000, step_range: tuple[int, int] | None = None
) -> dict[str, Any]:
    """A scalar series reduced for a chart: raw points when few, else min/max per
    bucket so no peak or dip is lost. An overview reads the chunks' bucket summaries,
    not their points; a zoomed ``step_range`` reads only the chunks that overlap it."""
    qs = MetricChunk.objects.filter(
        run=run, name=name, encoding__in=metricdata.NUMERIC_ENCODINGS
    ).order_by("seq")
    if step_range is not None:
        qs = qs.filter(last_step__gte=step_range[0], first_step__lte=step_range[1])
    counts = list(qs.values_list("count", flat=True))
    total = sum(counts)
    if total <= max_points or (step_range is not None and total <= RAW_READ_FACTOR * max_points):
        return _chart_from_points(qs, max_points, step_range)
    buckets = np.concatenate(
        [metricdata.decode_buckets(b) for b in qs.values_list("buckets", flat=True)]
    )
    if step_range is not None:
        buckets = buckets[(buckets[:, 1] >= step_range[0]) & (buckets[:, 0] <= step_range[1])]
    return _reduced(metricdata.reduce_buckets(buckets, max_points // 2), total)


def _reduced(buckets: np.ndarray, total: int) -> dict[str, Any]:
    return {
        "reduced": True,
        "step_lo": buckets[:, 0],
        "step_hi": buckets[:, 1],
        "min": buckets[:, 2],
        "max": buckets[:, 3],
        "total": total,
    }


def _chart_from_points(qs, max_points: int, step_range: tuple[int, int] | None) -> dict[str, Any]:
    return _points_chart(list(qs.values_list("steps", "values", "times")), max_points, step_range)


def _points_chart(parts, max_points: int, step_range: tuple[int, int] | None) -> dict[str, Any]:
    if not parts:
        return {"reduced": False, "steps": [], "values": [], "times": [], "total": 0}
    s = np.concatenate([metricdata.decode_steps(p[0]) for p in parts])
    v = np.concatenate([metricdata.decode_values("f8", p[1]) for p in parts])
    t = np.concatenate([metricdata.decode_times(p[2]) for p in parts])
    if step_range is not None:
        keep = (s >= step_range[0]) & (s <= step_range[1])
        s, v, t = s[keep], v[keep], t[keep]
    if len(s) > max_points:
        return _reduced(metricdata.points_to_buckets(s, v, max_points // 2), len(s))
    return {"reduced": False, "steps": s, "values": v, "times": t, "total": int(len(s))}


def metric_chart_batch(
    *,
    runs: Iterable[Run],
    names: Iterable[str],
    max_points: int,
    step_range: tuple[int, int] | None = None,
) -> dict[tuple[int, str], dict[str, Any]]:
    """``metric_chart_data`` for every (run, metric) pair of several runs at once, in
    two queries whatever their number: the chunks' counts and stored buckets, then
    the raw points of the series small enough to send as they are. Keyed by (run pk,
    name); a pair without a scalar series is left out."""
    pks, names = [r.pk for r in runs], list(names)
    qs = MetricChunk.objects.filter(
        run__in=pks, name__in=names, encoding__in=metricdata.NUMERIC_ENCODINGS
    ).order_by("run", "name", "seq")
    if step_range is not None:
        qs = qs.filter(last_step__gte=step_range[0], first_step__lte=step_range[1])
    chunks: dict[tuple[int, str], list[tuple[int, bytes]]] = {}
    for run_pk, name, count, buckets in qs.values_list("run", "name", "count", "buckets"):
        chunks.setdefault((run_pk, name), []).append((count, buckets))
    raw_limit = max_points if step_range is None else RAW_READ_FACTOR * max_points
    raw = {key for key, parts in chunks.items() if sum(c for c, _ in parts) <= raw_limit}
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for key, parts in chunks.items():
        if key in raw:
            continue
        buckets = np.concatenate([metricdata.decode_buckets(b) for _, b in parts])
        if step_range is not None:
            buckets = buckets[(buckets[:, 1] >= step_range[0]) & (buckets[:, 0] <= step_range[1])]
        total = sum(c for c, _ in parts)
        out[key] = _reduced(metricdata.reduce_buckets(buckets, max_points // 2), total)
    points: dict[tuple[int, str], list[tuple[bytes, bytes, bytes]]] = {}
    if raw:
        raw_qs = qs.filter(run__in={k[0] for k in raw}, name__in={k[1] for k in raw})
        for run_pk, name, *arrays in raw_qs.values_list("run", "name", "steps", "values", "times"):
            if (run_pk, name) in raw:
                points.setdefault((run_pk, name), []).append(tuple(arrays))
    for key, parts in points.items():
        out[key] = _points_chart(parts, max_points, step_range)
    return out


def metric_steps_times(
    *, runs: Iterable[Run], names: Iterable[str]
) -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
    """(steps, times) of each (run pk, name) series, sorted by step, in one query that
    never reads the values: what a chart drawn against time looks up."""
    qs = MetricChunk.objects.filter(
        run__in=[r.pk for r in runs],
        name__in=list(names),
        encoding__in=metricdata.NUMERIC_ENCODINGS,
    ).order_by("run", "name", "seq")
    parts: dict[tuple[int, str], list[tuple[bytes, bytes]]] = {}
    for run_pk, name, steps, times in qs.values_list("run", "name", "steps", "times"):
        parts.setdefault((run_pk, name), []).append((steps, times))
    out = {}
    for key, chunks in parts.items():
        s = np.concatenate([metricdata.decode_steps(c[0]) for c in chunks])
        t = np.concatenate([metricdata.decode_times(c[1]) for c in chunks])
        order = np.argsort(s, kind="stable")
        out[key] = (s[order], t[order])
    return out


def metric_steps_values(
    *, runs: Iterable[Run], name: str
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """(steps, values) of one scalar metric of each run (by run pk), sorted by step:
    a chart drawn against another metric looks its x up here (one query)."""
    qs = MetricChunk.objects.filter(
        run__in=[r.pk for r in runs], name=name, encoding__in=metricdata.NUMERIC_ENCODINGS
    ).order_by("run", "seq")
    parts: dict[int, list[tuple[bytes, bytes]]] = {}
    for run_pk, steps, values in qs.values_list("run", "steps", "values"):
        parts.setdefault(run_pk, []).append((steps, values))
    out = {}
    for run_pk, chunks in parts.items():
        s = np.concatenate([metricdata.decode_steps(c[0]) for c in chunks])
        v = np.concatenate([metricdata.decode_values("f8", c[1]) for c in chunks])
        order = np.argsort(s, kind="stable")
        out[run_pk] = (s[order], v[order])
    return out


def scalar_metric_names(*, runs: Iterable[Run], names: Iterable[str | None]) -> list[str]:
    """Which of ``names`` some run of ``runs`` logged as a scalar series (one query)."""
    wanted = [n for n in names if n is not None]
    return list(
        MetricSummary.objects.filter(
            run__in=[r.pk for r in runs], name__in=wanted, kind=MetricKind.SCALAR
        )
        .values_list("name", flat=True)
        .distinct()
    )


# --- files -------------------------------------------------------------------------


def file_names(*, run: Run, prefix: str | None = None) -> list[str]:
    qs = RunFile.objects.filter(run=run).order_by("name")
    if prefix:
        qs = qs.filter(name__startswith=prefix)
    return list(qs.values_list("name", flat=True))


def file_get(*, run: Run, name: str) -> RunFile:
    name = storage.check_file_name(name)
    try:
        return RunFile.objects.get(run=run, name=name)
    except RunFile.DoesNotExist:
        raise NotFound(f"Run {run.run_id} has no file named {name!r}.", field="name") from None


def file_open(*, run_file: RunFile) -> IO[bytes]:
    """The file's bytes. On the filesystem only a regular file is opened: a job that
    replaced its log by a FIFO or a symlink to ``/dev/zero`` gets neither a hang nor
    an endless read (docs/requirements.md B7)."""
    if run_file.chunked:
        return io.BufferedReader(_ChunkedFile(run_file), buffer_size=64 << 10)
    store = storage.files_storage()
    try:
        path = store.path(run_file.storage_key)
    except NotImplementedError:  # an object store: no FIFOs, no symlinks
        return storage.open_object(run_file.storage_key, size=run_file.size)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise NotFound(f"The bytes of {run_file.name!r} are missing.", field="name") from None
    if not stat.S_ISREG(mode):
        raise ValidationError(f"{run_file.name!r} is not a regular file.", field="name")
    return open(path, "rb")  # noqa: SIM115 - the caller closes it


class _ChunkedFile(storage.SeekableReader):
    """A chunked run file (a live log) read as one seekable file: its size is where
    its last chunk ends, and a read at any offset finds its chunk through the index
    (one indexed query) and reads that chunk's object from the storage."""

    def __init__(self, run_file: RunFile):
        self._file_id = run_file.pk
        self._name = run_file.name
        last = (  # with the size, the last chunk: a tail (the log viewer's first look) is one query
            LogChunk.objects.filter(run_file_id=self._file_id)
            .order_by("-offset")
            .values_list("offset", "size", "storage_key")
            .first()
        )
        self._size = last[0] + last[1] if last else 0
        self._pos = 0
        self._last: tuple[int, int, str] | None = last
        self._chunk: tuple[int, int, str] | None = None
        self._reader = None

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        for attempt in range(2):
            try:
                chunk = self._chunk
                if chunk is None or not chunk[0] <= self._pos < chunk[0] + chunk[1]:
                    chunk = self._find()
                want = min(len(buffer), chunk[0] + chunk[1] - self._pos)
                self._reader.seek(self._pos - chunk[0])
                n = self._reader.readinto(memoryview(buffer)[:want])
            except (NotFound, FileNotFoundError):
                # Merged into a bigger chunk meanwhile (services.run_live_log_append):
                # the index names the new one.
                self._chunk = None
                if attempt:
                    raise NotFound(f"The bytes of {self._name!r} are missing.") from None
                continue
            if not n:
                raise NotFound(f"The bytes of {self._name!r} end early at {self._pos}.")
            self._pos += n
            return n
        return 0

    def _find(self) -> tuple[int, int, str]:
        found, self._last = self._last, None  # the last chunk: once, then the index
        if found is None or not found[0] <= self._pos < found[0] + found[1]:
            found = (
                LogChunk.objects.filter(run_file_id=self._file_id, offset__lte=self._pos)
                .order_by("-offset")
                .values_list("offset", "size", "storage_key")
                .first()
            )
        if found is None or found[0] + found[1] <= self._pos:
            raise NotFound(f"The bytes of {self._name!r} at {self._pos} are missing.")
        self._close_reader()
        try:
            self._reader = storage.open_object(found[2], size=found[1], buffered=False)
        except FileNotFoundError:
            raise NotFound(f"The bytes of {self._name!r} are missing.") from None
        self._chunk = found
        return found

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def close(self) -> None:
        self._close_reader()
        super().close()


MAX_READ = 1 << 20


def file_read(*, run_file: RunFile, offset: int = 0, limit: int = MAX_READ) -> tuple[bytes, int]:
    """At most ``limit`` (<= 1 MB) bytes from ``offset`` and the file's size now.
    Bounded, so a huge or growing log never fills memory (docs/requirements.md B7); a negative
    offset counts from the end."""
    if type(offset) is not int or type(limit) is not int or not 0 < limit <= MAX_READ:
        raise ValidationError(f"limit must be 1..{MAX_READ} and offset an integer.", field="limit")
    with file_open(run_file=run_file) as f:
        f.seek(0, 2)
        size = f.tell()
        if offset < 0:
            offset = max(size + offset, 0)
        if offset > size:
            raise ValidationError(f"offset {offset} is past the end ({size}).", field="offset")
        f.seek(offset)
        return f.read(min(limit, size - offset)), size


def runs_by_ids(*, run_ids: Iterable[str]) -> QuerySet[Run]:
    return Run.objects.filter(run_id__in=list(run_ids)).with_related()


def trash_list(*, workspace: Workspace) -> QuerySet[Run]:
    """The runs in ``workspace``'s trash that were deleted themselves, not with a
    parent also in the trash (those come back with it), most recently deleted first,
    with their experiment."""
    trashed = Run.all_objects.filter(workspace=workspace, deleted_at__isnull=False)
    return (
        trashed.exclude(parent__in=trashed.values("pk"))
        .select_related("experiment")
        .order_by("-deleted_at", "-id")
    )


def trash_runs(*, workspace: Workspace, run_ids: Iterable[str]) -> list[Run]:
    """The runs of ``run_ids`` in ``workspace``'s trash (others are left out)."""
    found = Run.all_objects.filter(
        workspace=workspace, deleted_at__isnull=False, run_id__in=list(run_ids)
    )
    return list(found.select_related("workspace"))


# --- run page, compare and their fragments (studio/web/run_page.py) -----------------


def file_sizes(*, run: Run, limit: int = 10_000) -> list[tuple[str, int]]:
    """(name, size) of the run's files, by name; a live log's size is its last known."""
    return list(
        RunFile.objects.filter(run=run).order_by("name").values_list("name", "size")[:limit]
    )


def run_ancestors(*, run: Run, max_depth: int = 50) -> list[Run]:
    """The run's parents, the top-level run first: one query per level."""
    chain: list[Run] = []
    parent_pk = run.parent_id
    while parent_pk is not None and len(chain) < max_depth:
        parent = Run.objects.select_related("experiment").filter(pk=parent_pk).first()
        if parent is None:
            break
        chain.append(parent)
        parent_pk = parent.parent_id
    return chain[::-1]


def run_children_page(*, run: Run, offset: int = 0, limit: int = 100) -> QuerySet[Run]:
    """A page of the run's direct children, oldest first (a tree loads level by level)."""
    return Run.objects.filter(parent=run).order_by("created_at", "id")[offset : offset + limit]


def metric_summaries_of(
    *, runs: Iterable[Run], names: Iterable[str] | None = None
) -> QuerySet[MetricSummary]:
    """Summaries (last/min/max/count) of several runs in one query."""
    qs = MetricSummary.objects.filter(run__in=[r.pk for r in runs])
    if names is not None:
        qs = qs.filter(name__in=list(names))
    return qs.order_by("name", "run_id")


def child_metric_names(*, run: Run, limit: int = 200) -> list[str]:
    """Names of the scalar metrics the run's direct children logged; their own first,
    then their system metrics (``sys/...``), so the first is one they chose to log."""
    from studio.rules.validation import SYSTEM_METRIC_PREFIX

    names = list(
        MetricSummary.objects.filter(run__parent=run, kind=MetricKind.SCALAR)
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()[:limit]
    )
    return sorted(names, key=lambda name: name.startswith(SYSTEM_METRIC_PREFIX))


def metric_records(*, run: Run, limit: int = 2000) -> dict[str, list[Any]]:
    """The run's logged lists, rows, tables and image references by name, oldest
    first; at most the last ``limit`` of them (one query)."""
    rows = list(
        MetricRecord.objects.filter(run=run).order_by("-id").values_list("name", "data")[:limit]
    )
    out: dict[str, list[Any]] = {}
    for name, data in reversed(rows):
        out.setdefault(name, []).append(data)
    return out


def metric_times_at(*, run: Run, name: str, steps: np.ndarray) -> np.ndarray:
    """The time at which a scalar series reached each of ``steps`` (interpolated
    between logged points): a reduced chart drawn against time. Reads the steps and
    times of the series, never its values."""
    parts = list(
        MetricChunk.objects.filter(run=run, name=name, encoding__in=metricdata.NUMERIC_ENCODINGS)
        .order_by("seq")
        .values_list("steps", "times")
    )
    if not parts:
        return np.full(len(steps), np.nan)
    s = np.concatenate([metricdata.decode_steps(p[0]) for p in parts])
    t = np.concatenate([metricdata.decode_times(p[1]) for p in parts])
    order = np.argsort(s, kind="stable")
    return np.interp(np.asarray(steps, dtype=np.float64), s[order], t[order])


SEARCH_BLOCK = 1 << 20


SEARCH_CONTEXT = 2  # lines shown before and after a matching line
SEARCH_LINE_CHARS = 2000


def _lines_before(data: bytes, at: int, count: int) -> list[bytes]:
    """Up to ``count`` whole lines of ``data`` that end just before ``at`` (a line start)."""
    found: list[bytes] = []
    while len(found) < count and at > 0:
        begin = data.rfind(b"\n", 0, at - 1) + 1
        found.append(data[begin : at - 1][:SEARCH_LINE_CHARS])
        at = begin
    return found[::-1]


def _lines_after(data: bytes, at: int, count: int) -> list[bytes]:
    """Up to ``count`` lines of ``data`` from ``at`` (a line start)."""
    found: list[bytes] = []
    while len(found) < count and at < len(data):
        end = data.find(b"\n", at)
        end = len(data) if end == -1 else end
        found.append(data[at:end][:SEARCH_LINE_CHARS])
        at = end + 1
    return found


def file_search(
    *,
    run_file: RunFile,
    needle: str,
    offset: int = 0,
    line: int = 1,
    max_bytes: int = 256 << 20,
    max_matches: int = 200,
) -> dict[str, Any]:
    """Lines of the file that contain ``needle`` (case-insensitive), scanning at most
    ``max_bytes`` from ``offset`` in 1 MB blocks, so memory stays flat on a 1 GB log.
    Each match has the byte offset of its line, its number (``line`` is the number of
    the line at ``offset``; newlines are counted as the scan goes, so numbers are real
    from offset 0), its text and ``SEARCH_CONTEXT`` lines ``before`` and ``after`` it.
    ``next_offset`` and ``next_line`` are where a further call continues (None at the end)."""
    if not isinstance(needle, str) or not 0 < len(needle) <= 200:
        raise ValidationError("Search for 1 to 200 characters.", field="q")
    if type(offset) is not int or offset < 0:
        raise ValidationError("offset must be a non-negative integer.", field="offset")
    if type(line) is not int or line < 1:
        raise ValidationError("line must be a positive integer.", field="line")
    target = needle.lower().encode()
    matches: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []  # matches still short of lines after them
    history: list[bytes] = []  # the last lines before the current block
    number = line  # the number of the line at ``start`` of the current block

    def fill(data: bytes, at: int) -> None:
        for match in pending:
            match["after"] += _lines_after(data, at, SEARCH_CONTEXT - len(match["after"]))
        pending[:] = [m for m in pending if len(m["after"]) < SEARCH_CONTEXT]

    with file_open(run_file=run_file) as f:
        f.seek(0, 2)
        size = f.tell()
        if offset > size:
            raise ValidationError(f"offset {offset} is past the end ({size}).", field="offset")
        stop = min(size, offset + max_bytes)
        pos, carry = offset, b""
        while pos < stop and len(matches) < max_matches:
            f.seek(pos)
            block = f.read(min(SEARCH_BLOCK, stop - pos))
            if not block:
                break
            pos += len(block)
            data = carry + block
            start = pos - len(data)
            # Whole lines only; the tail without a newline waits for the next block or
            # call (unless it is a line of 4 blocks already, or the end of the file).
            cut = data.rfind(b"\n") + 1
            if (cut == 0 and len(data) >= 4 * SEARCH_BLOCK) or pos >= size:
                cut = len(data)
            lines, carry = data[:cut], data[cut:]
            fill(lines, 0)
            lowered = lines.lower()
            counted, counted_at = number, 0
            at = lowered.find(target)
            while at != -1 and len(matches) < max_matches:
                line_start = lowered.rfind(b"\n", 0, at) + 1
                line_end = lowered.find(b"\n", at)
                line_end = len(lines) if line_end == -1 else line_end
                counted += lines.count(b"\n", counted_at, line_start)
                counted_at = line_start
                before = _lines_before(lines, line_start, SEARCH_CONTEXT)
                if len(before) < SEARCH_CONTEXT:  # the block's first lines: the rest came before
                    before = history[-(SEARCH_CONTEXT - len(before)) :] + before
                match = {
                    "offset": start + line_start,
                    "number": counted,
                    "line": lines[line_start : min(line_end, line_start + SEARCH_LINE_CHARS)],
                    "before": before,
                    "after": _lines_after(lines, line_end + 1, SEARCH_CONTEXT),
                }
                matches.append(match)
                if len(match["after"]) < SEARCH_CONTEXT:
                    pending.append(match)
                at = lowered.find(target, line_end + 1) if line_end < len(lines) else -1
            if len(matches) >= max_matches:
                last = matches[-1]["offset"]
                end = lines.find(b"\n", last - start)
                pos = start + (len(lines) if end == -1 else end + 1)
                number = counted + lines.count(b"\n", counted_at, pos - start)
                carry = b""
                break
            number = counted + lines.count(b"\n", counted_at)
            history = (history + _lines_before(lines, len(lines), SEARCH_CONTEXT))[-SEARCH_CONTEXT:]
        pos -= len(carry)
        if pending and pos < size:  # the lines after the last matches, past where the scan stopped
            f.seek(pos)
            fill(f.read(min(SEARCH_BLOCK // 16, size - pos)), 0)
    for match in matches:
        match["line"] = match["line"].decode("utf-8", "replace")
        match["before"] = [text.decode("utf-8", "replace") for text in match["before"]]
        match["after"] = [text.decode("utf-8", "replace") for text in match["after"]]
    more = pos < size
    return {
        "matches": matches,
        "next_offset": pos if more else None,
        "next_line": number if more else None,
        "size": size,
    }
