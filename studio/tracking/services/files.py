"""Run files: bytes under keys built from server ids, names checked once."""

from __future__ import annotations

from typing import IO

from django.db import IntegrityError, transaction

from studio.errors import (
    PayloadTooLarge,
    RunTerminal,
    ValidationError,
)
from studio.rules import transitions
from studio.tracking import storage
from studio.tracking.models import (
    Run,
    RunFile,
)

# --- files -------------------------------------------------------------------------


def run_file_upload(*, run: Run, name: str, content: IO[bytes]) -> RunFile:
    """Store a file of the run under ``name``. The bytes are written under a key made
    of server ids before the row is committed, and removed again if it is not."""
    from django.conf import settings
    from django.core.files import File

    name = storage.check_file_name(name)
    if run.status in transitions.TERMINAL and not name.startswith("logs/"):
        # Outputs of a finished run are its record; they do not change afterwards.
        raise RunTerminal(f"Run {run.run_id} is {run.status}; it takes no new files.", field="name")
    if RunFile.objects.filter(run=run, name=name).exists():
        raise ValidationError(
            f"The run already has a file named {name!r}.", field="name", code="file_exists"
        )
    store = storage.files_storage()
    key = storage.new_storage_key(run.uuid)
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
    try:
        with transaction.atomic():
            return RunFile.objects.create(run=run, name=name, storage_key=saved, size=size)
    except IntegrityError:
        store.delete(saved)
        raise ValidationError(
            f"The run already has a file named {name!r}.", field="name", code="file_exists"
        ) from None
