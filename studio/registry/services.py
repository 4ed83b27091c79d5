"""Every write of the model registry. Keyword-only, validated before any transaction.

A version is made in two steps: its bytes are written first (copied from the run's
files, or uploaded earlier under an upload id), outside any transaction; then one
short transaction locks the model's row, takes the next version number and creates
the version with its files. Two registrations of one name never get the same
number: the row lock serializes them (SQLite's IMMEDIATE transactions do the same),
and the unique (model, version) constraint backs it, with a retry."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import IO

from django.db import IntegrityError, transaction

from studio.errors import ModelPathNotFound, ValidationError
from studio.registry.models import ModelFile, ModelVersion, RegisteredModel, new_storage_key
from studio.rules import registry as rules
from studio.rules import validation
from studio.rules.filenames import check_file_name
from studio.tracking import selectors as tracking
from studio.tracking import storage
from studio.tracking.models import Run, Workspace
from studio.tracking.services.files import file_bytes_save

ATTEMPTS = 3


def model_file_stage(
    *, workspace: Workspace, upload: uuid.UUID, name: str, content: IO[bytes], uploaded_by: str
) -> ModelFile:
    """Store one file of a model that is being uploaded, before it is registered
    (``model_register(upload=...)`` makes it part of a version)."""
    name = check_file_name(name)
    if not isinstance(upload, uuid.UUID):
        raise ValidationError("The upload id must be a UUID.", field="upload")
    if ModelFile.objects.filter(upload=upload, name=name, version__isnull=True).exists():
        raise ValidationError(
            f"The upload already has a file named {name!r}.", field="name", code="file_exists"
        )
    saved, size = file_bytes_save(key=new_storage_key(), content=content)
    try:
        with transaction.atomic():
            return ModelFile.objects.create(
                workspace=workspace,
                upload=upload,
                uploaded_by=uploaded_by,
                name=name,
                storage_key=saved,
                size=size,
            )
    except IntegrityError:
        storage.files_storage().delete(saved)
        raise ValidationError(
            f"The upload already has a file named {name!r}.", field="name", code="file_exists"
        ) from None


def _copy_run_files(run: Run, path: str) -> list[tuple[str, str, int]]:
    """Copies of the run files ``path`` names: (name in the model, key, size)."""
    names = tracking.file_names(run=run)
    chosen = rules.files_under(path, names)
    if not chosen:
        shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
        raise ModelPathNotFound(
            f"Could not locate the provided model_path {path!r} in the files of run "
            f"{run.run_id}: [{shown}]",
            field="model_path",
        )
    copied: list[tuple[str, str, int]] = []
    try:
        for run_name, model_name in sorted(chosen.items()):
            run_file = tracking.file_get(run=run, name=run_name)
            with tracking.file_open(run_file=run_file) as src:
                key, size = file_bytes_save(key=new_storage_key(), content=src)
            copied.append((model_name, key, size))
    except BaseException:
        _delete([key for _, key, _ in copied])
        raise
    return copied


def _delete(keys: list[str]) -> None:
    store = storage.files_storage()
    for key in keys:
        store.delete(key)


def model_register(
    *,
    workspace: Workspace,
    name: str,
    created_by: str,
    run: Run | None = None,
    path: str | None = None,
    upload: uuid.UUID | None = None,
    tags: Mapping[str, str] | None = None,
    properties: Mapping[str, str] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Register the next version of ``name``: from the run's files under ``path``
    (copied), or from the files uploaded under ``upload``. Nothing is created when
    the path names no file of the run."""
    name = rules.model_name(name)
    tags = rules.string_map(tags, "tags")
    properties = rules.string_map(properties, "properties")
    description = validation.text(
        description or "", "description", max_length=validation.MAX_DESCRIPTION
    )
    if (run is None) == (upload is None):
        raise ValidationError("Register a model from a run or from an upload.", field="upload")
    if run is not None:
        if run.workspace_id != workspace.pk:
            raise ValidationError("The run is in another workspace.", field="run_id")
        source = rules.model_path(path if path is not None else name)
        copied = _copy_run_files(run, source)
        staged = None
    else:
        source = path or ""
        staged = list(
            ModelFile.objects.filter(upload=upload, version__isnull=True, workspace=workspace)
        )
        if not staged:
            raise ValidationError(f"The upload {upload} has no files.", field="upload")
        copied = []
    try:
        return _create_version(
            workspace=workspace,
            name=name,
            created_by=created_by,
            run=run,
            source=source,
            copied=copied,
            staged=staged,
            tags=tags,
            properties=properties,
            description=description,
        )
    except BaseException:
        _delete([key for _, key, _ in copied])
        raise


def _create_version(*, workspace, name, copied, staged, **fields) -> ModelVersion:
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                model, _ = RegisteredModel.objects.get_or_create(workspace=workspace, name=name)
                model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
                model.version_counter += 1
                model.save(update_fields=["version_counter", "updated_at"])
                version = ModelVersion.objects.create(
                    model=model,
                    version=model.version_counter,
                    description=fields["description"],
                    tags=fields["tags"],
                    properties=fields["properties"],
                    run=fields["run"],
                    source_path=fields["source"],
                    created_by=fields["created_by"],
                )
                if staged is not None:
                    attached = ModelFile.objects.filter(
                        pk__in=[f.pk for f in staged], version__isnull=True
                    ).update(version=version)
                    if attached != len(staged):
                        raise ValidationError(
                            "The upload was registered by another request.", field="upload"
                        )
                else:
                    ModelFile.objects.bulk_create(
                        ModelFile(
                            workspace=workspace, version=version, name=n, storage_key=k, size=s
                        )
                        for n, k, s in copied
                    )
                version.model = model
                return version
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def model_version_update(
    *,
    version: ModelVersion,
    tags: Mapping[str, str] | None = None,
    remove_tags: list[str] | None = None,
    properties: Mapping[str, str] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """v1's ``add_tags`` / ``remove_tags`` / ``add_properties`` / ``update``:
    tags change freely; properties are added, never changed."""
    from studio.errors import PropertyConflict

    tags = rules.string_map(tags, "tags")
    properties = rules.string_map(properties, "properties")
    remove = [validation.key(k, "tag key") for k in remove_tags or []]
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().get(pk=version.pk)
        for key, value in properties.items():
            stored = current.properties.get(key)
            if stored is not None and stored != value:
                raise PropertyConflict.for_key(key, stored, value)
        current.tags = {k: v for k, v in {**current.tags, **tags}.items() if k not in remove}
        current.properties = {**current.properties, **properties}
        fields = ["tags", "properties"]
        if description is not None:
            current.description = validation.text(
                description, "description", max_length=validation.MAX_DESCRIPTION
            )
            fields.append("description")
        current.save(update_fields=fields)
    version.tags, version.properties = current.tags, current.properties
    version.description = current.description
    return version


def model_upload_discard(*, workspace: Workspace, upload: uuid.UUID) -> int:
    """Drop the files of an upload that will not be registered (and their bytes)."""
    staged = ModelFile.objects.filter(workspace=workspace, upload=upload, version__isnull=True)
    keys = list(staged.values_list("storage_key", flat=True))
    deleted, _ = staged.delete()
    _delete(keys)
    return deleted
