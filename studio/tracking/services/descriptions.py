"""Run descriptions: the history every save writes (versions, restore) and the
images pasted into the editor (description attachments)."""

from __future__ import annotations

import uuid
from typing import IO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max

from studio.errors import NotFound, PayloadTooLarge, ValidationError
from studio.rules import filenames, images, validation
from studio.tracking.models import DescriptionVersion, Run, RunFile


def description_save(*, run: Run, text: str, author=None, restored_from: int | None = None) -> bool:
    """Set the run's description to ``text`` (checked) and record it as the next
    version, in one transaction with the run row locked (two saves at once get
    numbers one after the other). A save that changes nothing records nothing;
    returns whether the text changed. ``author``: a user, or None (the SDK's local
    store, a pipeline definition)."""
    from studio.tracking.services.runs import _lock_run

    text = validation.text(text, "description", max_length=validation.MAX_DESCRIPTION)
    author = author if isinstance(author, get_user_model()) else None
    with transaction.atomic():
        _lock_run(run)
        current = Run.objects.filter(pk=run.pk).values_list("description", flat=True).get()
        if current == text:
            run.description = text
            return False
        last = run.description_versions.aggregate(n=Max("number"))["n"] or 0
        if last == 0 and current:
            # A text from before history: kept as version 1 so a diff can show it.
            DescriptionVersion.objects.create(run=run, number=1, text=current)
            last = 1
        Run.objects.filter(pk=run.pk).update(description=text)
        DescriptionVersion.objects.create(
            run=run, number=last + 1, text=text, author=author, restored_from=restored_from
        )
    run.description = text
    return True


def description_restore(*, run: Run, number: int, author=None) -> DescriptionVersion:
    """Make version ``number``'s text the description again: a new version (history
    is never rewritten)."""
    try:
        old = run.description_versions.get(number=number)
    except (DescriptionVersion.DoesNotExist, ValueError, TypeError):
        raise NotFound(
            f"Run {run.run_id} has no description version {number}.", field="version"
        ) from None
    if not description_save(run=run, text=old.text, author=author, restored_from=old.number):
        raise ValidationError(
            f"Version {number} is the description already.", field="version", code="unchanged"
        )
    return run.description_versions.first()


def description_attachment_upload(
    *, run: Run, content: IO[bytes], size: int | None = None
) -> RunFile:
    """Store an image pasted or dropped into the description editor as a file of the
    run (``description/<random>.<type>``). Allowed on finished runs too: it belongs to
    the description, not to the run's outputs. The type comes from the bytes, never
    from a name a browser sent: PNG, JPEG, GIF or WebP, anything else (an SVG, HTML)
    is refused; at most ``STUDIO_MAX_ATTACHMENT_BYTES``."""
    from studio.tracking.services.files import file_store

    limit = settings.STUDIO_MAX_ATTACHMENT_BYTES
    if size is not None and size > limit:
        raise PayloadTooLarge(f"The image is {size} bytes; the limit is {limit}.", field="file")
    head = content.read(images.HEAD_BYTES)
    suffix = images.sniff_suffix(head)
    if suffix is None:
        raise ValidationError(
            "Only PNG, JPEG, GIF or WebP images can be attached (the file's content is "
            "none of these; SVG and HTML are refused).",
            field="file",
            code="image_type",
        )
    content.seek(0)
    name = f"{filenames.DESCRIPTION}{uuid.uuid4().hex[:16]}{suffix}"
    stored = file_store(run=run, name=name, content=content)
    if stored.size > limit:
        from studio.tracking import storage

        storage.files_storage().delete(stored.storage_key)
        stored.delete()
        raise PayloadTooLarge(
            f"The image is {stored.size} bytes; the limit is {limit}.", field="file"
        )
    return stored
