"""Run files: bytes under keys built from server ids, names checked once."""

from __future__ import annotations

import contextlib
import io
import uuid
from pathlib import Path
from typing import IO

from django.db import IntegrityError, transaction

from studio.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    RunTerminal,
    Unavailable,
    ValidationError,
)
from studio.rules import filenames, transitions
from studio.tracking import storage
from studio.tracking.models import (
    LogChunk,
    Run,
    RunFile,
)
from studio.tracking.services.changes import change_log

# --- files -------------------------------------------------------------------------


def run_file_upload(*, run: Run, name: str, content: IO[bytes]) -> RunFile:
    """Store a file of the run under ``name``. The bytes are written under a key made
    of server ids before the row is committed, and removed again if it is not."""
    name = storage.check_file_name(name)
    if run.status in transitions.TERMINAL and not name.startswith(filenames.LOGS):
        # Outputs of a finished run are its record; they do not change afterwards.
        raise RunTerminal(f"Run {run.run_id} is {run.status}; it takes no new files.", field="name")
    return file_store(run=run, name=name, content=content)


def file_store(*, run: Run, name: str, content: IO[bytes]) -> RunFile:
    """The bytes and the row of a new run file, whatever the run's status (callers
    decide that): one name per run."""
    name = storage.check_file_name(name)
    if RunFile.objects.filter(run=run, name=name).exists():
        raise ValidationError(
            f"The run already has a file named {name!r}.", field="name", code="file_exists"
        )
    saved, size = file_bytes_save(key=storage.new_storage_key(run.uuid), content=content)
    try:
        with transaction.atomic():
            return RunFile.objects.create(run=run, name=name, storage_key=saved, size=size)
    except IntegrityError:
        storage.files_storage().delete(saved)
        raise ValidationError(
            f"The run already has a file named {name!r}.", field="name", code="file_exists"
        ) from None


def file_bytes_save(*, key: str, content: IO[bytes]) -> tuple[str, int]:
    """Write ``content`` to the files storage under ``key`` (made of server ids) and
    return the key it was saved under and its size. An aborted or oversized upload
    leaves nothing behind; a storage that cannot be reached raises ``Unavailable``.
    Run files and registered models' files both go here."""
    from django.conf import settings
    from django.core.files import File

    store = storage.files_storage()
    if not isinstance(content, io.IOBase | File):
        content = _Stream(content)  # any object with read(): a request body, a pipe
    try:
        with storage.storage_errors(f"store {key}"):
            saved = store.save(key, File(content))
    except BaseException:
        # An aborted upload leaves nothing behind (and no row ever named it).
        with contextlib.suppress(Exception), storage.storage_errors(f"remove {key}"):
            store.delete(key)
        raise
    with storage.storage_errors(f"measure {saved}"):
        size = store.size(saved)
    if size > settings.STUDIO_MAX_UPLOAD_BYTES:
        store.delete(saved)
        raise PayloadTooLarge(
            f"The file is {size} bytes; the limit is {settings.STUDIO_MAX_UPLOAD_BYTES}.",
            field="content",
        )
    return saved, size


class _Stream(io.RawIOBase):
    """A stream that only has ``read`` as a file the storages take: not seekable (an
    object store then uploads it in parts as it is read)."""

    def __init__(self, source):
        self._source = source
        self._pending = b""  # what a read() gave beyond the size asked for

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._pending or self._source.read(len(buffer))
        n = min(len(data), len(buffer))
        buffer[:n] = data[:n]
        self._pending = data[n:]
        return n


# --- the live log: chunks plus an index ------------------------------------------------
#
# One design for the local disk and a bucket: each append is stored as one object
# (``<log key>/<offset>-<random>``) and one ``LogChunk`` row (the index), so a log is
# never rewritten, a reader finds the chunk of any offset with one indexed query, and
# a 1 GB log opens its tail as fast as a 1 KB one. Senders batch (a supervisor ships
# what its script wrote every half second, at most ``MAX_LOG_CHUNK`` a request), and
# runs of small chunks are merged here so a tail never spans more than a few objects.

# A chunk smaller than this is "small"; LOG_MERGE_AFTER small ones in a row at the end
# of the log become one object.
LOG_SEAL = 256 << 10
LOG_MERGE_AFTER = 8


def run_live_log_open(*, run: Run) -> RunFile:
    """The run's live log (``LIVE_LOG``), a chunked file; made, empty, on first call."""
    live, _ = RunFile.objects.get_or_create(
        run=run,
        name=filenames.LIVE_LOG,
        defaults={"storage_key": storage.new_storage_key(run.uuid), "chunked": True},
    )
    return live


def run_live_log_append(*, run: Run, offset: int, data: bytes) -> int:
    """Append ``data`` to the run's live log at ``offset`` (the size its sender knows
    it has); returns the log's size. A chunk sent again (its bytes are already there)
    changes nothing; one that would leave a gap is refused. The bytes are stored
    before the index names them, outside any transaction; the index row and the new
    size are committed together only if the size is still the one the bytes were
    cut against (another sender may have appended meanwhile)."""
    live = run_live_log_open(run=run)
    if not live.chunked:
        return _legacy_log_append(live, offset, data)
    store = storage.files_storage()
    for _ in range(5):
        size = RunFile.objects.filter(pk=live.pk).values_list("size", flat=True).get()
        if offset > size:
            raise Conflict(
                f"The log has {size} bytes; a chunk at {offset} would leave a gap.",
                field="offset",
            )
        tail = data[size - offset :]
        if not tail:
            return size
        key = f"{live.storage_key}/{size:016d}-{uuid.uuid4().hex[:8]}"
        key = storage.write_object(key, tail)
        try:
            with transaction.atomic():
                moved = RunFile.objects.filter(pk=live.pk, size=size).update(size=size + len(tail))
                if moved:
                    LogChunk.objects.create(
                        run_file=live, offset=size, size=len(tail), storage_key=key
                    )
                    change_log(run=run, size=size + len(tail))
        except IntegrityError:
            moved = 0
        if moved:
            # The bytes are in: a merge that fails now is tried again by a later append.
            with contextlib.suppress(NotFound, Unavailable):
                _log_merge_tail(live)
            return size + len(tail)
        store.delete(key)  # another sender got there first: cut again against it
    raise Conflict("The log is being appended to by another sender.", field="offset")


def _log_merge_tail(live: RunFile) -> None:
    """When the log ends with LOG_MERGE_AFTER small chunks, store them as one. A reader
    holding an old chunk's key finds it gone and asks the index again."""
    rows = list(
        LogChunk.objects.filter(run_file=live)
        .order_by("-offset")
        .values_list("pk", "offset", "size", "storage_key")[:LOG_MERGE_AFTER]
    )
    if len(rows) < LOG_MERGE_AFTER or any(size >= LOG_SEAL for _, _, size, _ in rows):
        return
    rows.reverse()
    store = storage.files_storage()
    with storage.storage_errors(f"merge chunks of {live.name}"):
        data = b"".join(storage.read_object(key, size) for _, _, size, key in rows)
        first = rows[0][1]
        key = storage.write_object(f"{live.storage_key}/{first:016d}-{uuid.uuid4().hex[:8]}", data)
    try:
        with transaction.atomic():
            deleted, _ = LogChunk.objects.filter(pk__in=[r[0] for r in rows]).delete()
            if deleted != len(rows):
                raise IntegrityError("merged meanwhile")
            LogChunk.objects.create(run_file=live, offset=first, size=len(data), storage_key=key)
    except IntegrityError:
        store.delete(key)
        return
    with contextlib.suppress(Unavailable):  # left over: unnamed by the index, harmless
        storage.delete_objects([old for _, _, _, old in rows])


def _legacy_log_append(live: RunFile, offset: int, data: bytes) -> int:
    """A live log made before logs were chunked (one file appended in place, on the
    local disk): a run started before the upgrade finishes its log as it began it."""
    import fcntl

    if storage.is_object_store():
        raise Conflict(
            f"{live.name} of this run was uploaded as a file; it takes no appends.",
            field="offset",
        )
    path = Path(storage.files_storage().path(live.storage_key))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
    with open(path, "r+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # one append at a time, whoever sends it
        size = f.seek(0, 2)
        if offset > size:
            raise Conflict(
                f"The log has {size} bytes; a chunk at {offset} would leave a gap.",
                field="offset",
            )
        tail = data[size - offset :]
        if tail:
            f.write(tail)
            size += len(tail)
    RunFile.objects.filter(pk=live.pk).update(size=size)
    return size


def run_file_sizes_update(*, run: Run, prefix: str) -> None:
    """Record the sizes of the run's files under ``prefix`` that grew in place (on the
    local disk; chunked logs and objects in a bucket know their sizes)."""
    store = storage.files_storage()
    if storage.is_object_store(store):
        return
    for run_file in RunFile.objects.filter(run=run, name__startswith=prefix, chunked=False):
        try:
            size = store.size(run_file.storage_key)
        except OSError:
            continue  # removed meanwhile: the row keeps its last size
        RunFile.objects.filter(pk=run_file.pk).update(size=size)
