"""Run files: bytes under keys built from server ids, names checked once."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from django.db import IntegrityError, transaction

from studio.errors import (
    PayloadTooLarge,
    RunTerminal,
    ValidationError,
)
from studio.rules import filenames, transitions
from studio.tracking import storage
from studio.tracking.models import (
    Run,
    RunFile,
)

# --- files -------------------------------------------------------------------------


def run_file_upload(*, run: Run, name: str, content: IO[bytes]) -> RunFile:
    """Store a file of the run under ``name``. The bytes are written under a key made
    of server ids before the row is committed, and removed again if it is not."""
    name = storage.check_file_name(name)
    if run.status in transitions.TERMINAL and not name.startswith(filenames.LOGS):
        # Outputs of a finished run are its record; they do not change afterwards.
        raise RunTerminal(f"Run {run.run_id} is {run.status}; it takes no new files.", field="name")
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
    leaves nothing behind. Run files and registered models' files both go here."""
    from django.conf import settings
    from django.core.files import File

    store = storage.files_storage()
    try:
        saved = store.save(key, File(content))
    except BaseException:
        # An aborted upload leaves nothing behind (and no row ever named it).
        if store.exists(key):
            store.delete(key)
        raise
    size = store.size(saved)
    if size > settings.STUDIO_MAX_UPLOAD_BYTES:
        store.delete(saved)
        raise PayloadTooLarge(
            f"The file is {size} bytes; the limit is {settings.STUDIO_MAX_UPLOAD_BYTES}.",
            field="content",
        )
    return saved, size


def run_live_log_open(*, run: Run) -> Path:
    """The path of the run's live log (``LIVE_LOG``), a file whose bytes its
    supervisor appends in place as the script writes them (so it needs a
    filesystem-backed storage, the default). Made, empty, on first call."""
    live, _ = RunFile.objects.get_or_create(
        run=run,
        name=filenames.LIVE_LOG,
        defaults={"storage_key": storage.new_storage_key(run.uuid)},
    )
    path = Path(storage.files_storage().path(live.storage_key))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
    return path


def run_file_sizes_update(*, run: Run, prefix: str) -> None:
    """Record the sizes of the run's files under ``prefix`` that grew in place."""
    store = storage.files_storage()
    for run_file in RunFile.objects.filter(run=run, name__startswith=prefix):
        try:
            size = store.size(run_file.storage_key)
        except OSError:
            continue  # removed meanwhile: the row keeps its last size
        RunFile.objects.filter(pk=run_file.pk).update(size=size)
