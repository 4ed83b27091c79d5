"""Workspaces: create, rename, archive, delete. Who may do it is the access helpers'
business (``studio.accounts.access``); the creator's membership is added by
``studio.accounts.services.workspace_create``."""

from __future__ import annotations

import logging

from django.apps import apps
from django.db import transaction
from django.db.models import QuerySet

from studio.errors import Conflict, NotFound, StudioError, ValidationError
from studio.rules import validation
from studio.rules.transitions import TERMINAL
from studio.tracking import storage
from studio.tracking.models import LogChunk, Run, RunFile, Workspace

log = logging.getLogger(__name__)


def _check_name_free(name: str, *, but: Workspace | None = None) -> None:
    """Names are unique whatever their case: "Team" and "team" would be told apart by
    nobody reading a URL or a switcher."""
    taken = Workspace.objects.filter(name__iexact=name)
    if but is not None:
        taken = taken.exclude(pk=but.pk)
    if (other := taken.first()) is not None:
        raise Conflict(f"Workspace {other.name!r} already exists.", field="name")


def workspace_create(*, name: str) -> Workspace:
    """Create the workspace ``name``. Bad names and names taken in any case are
    refused and nothing is created."""
    name = validation.workspace_name(name)
    with transaction.atomic():
        _check_name_free(name)
        return Workspace.objects.create(name=name)


def workspace_rename(*, workspace: Workspace, name: str) -> Workspace:
    """Give ``workspace`` a new name (its runs, views and members stay)."""
    name = validation.workspace_name(name)
    with transaction.atomic():
        _check_name_free(name, but=workspace)
        workspace.name = name
        workspace.save(update_fields=["name"])
    return workspace


def workspace_set_archived(*, workspace: Workspace, archived: bool) -> Workspace:
    """Archive (read-only for everyone, out of the switcher, runs kept) or unarchive."""
    if not isinstance(archived, bool):
        raise ValidationError("archived must be true or false.", field="archived")
    workspace.archived = archived
    workspace.save(update_fields=["archived"])
    return workspace


def workspace_delete(*, workspace: Workspace, confirm: str) -> None:
    """Delete ``workspace`` with its runs, views and memberships. ``confirm`` must be
    its name, typed again; refused while any of its runs is still going."""
    if confirm != workspace.name:
        raise ValidationError(
            f"Type the workspace's name, {workspace.name!r}, to confirm its deletion.",
            field="confirm",
        )
    with transaction.atomic():
        going = len(
            Run.objects.select_for_update()
            .filter(workspace=workspace)
            .exclude(status__in=TERMINAL)
            .values_list("pk", flat=True)
        )
        if going:
            raise Conflict(
                f"Workspace {workspace.name!r} has {going} run(s) still going; cancel them "
                "or wait for them to end before deleting it.",
                field="workspace",
            )
        keys, folders = run_files(Run.all_objects.filter(workspace=workspace))
        keys += _registry_keys(workspace)
        workspace.delete()
        # The bytes go once the rows are gone for good: a delete rolled back keeps them.
        transaction.on_commit(lambda: remove_files(keys, folders))


def run_files(runs: QuerySet[Run]) -> tuple[list[str], list[str]]:
    """What ``runs`` hold in the files storage, for deleting them for good (a
    workspace's runs, or runs purged from its trash): the storage keys of their files
    (a live log's bytes are its chunks; its own key names no object) and their
    folders (``runs/<uuid>``), where whatever else is left of them lies."""
    keys = list(
        RunFile.objects.filter(run__in=runs, chunked=False).values_list("storage_key", flat=True)
    )
    keys += LogChunk.objects.filter(run_file__run__in=runs).values_list("storage_key", flat=True)
    folders = [f"runs/{u.hex}" for u in runs.values_list("uuid", flat=True)]
    return keys, folders


def _registry_keys(workspace: Workspace) -> list[str]:
    """The storage keys of the rows of other apps that name bytes in the files storage
    (``storage_key``) and belong to ``workspace`` (the registry's model files, copies
    of run files): they go with the workspace, not with its runs."""
    keys: list[str] = []
    for model in apps.get_models():
        fields = {f.name: f for f in model._meta.concrete_fields}
        owner = fields.get("workspace")
        if model is RunFile or "storage_key" not in fields or owner is None:
            continue
        if owner.is_relation and owner.related_model is Workspace:
            rows = model._default_manager.filter(workspace=workspace)
            keys += rows.values_list("storage_key", flat=True)
    return keys


def remove_files(keys: list[str], folders: list[str]) -> None:
    """Delete ``keys`` and what is left under the runs' folders; files already gone
    are no error, and one that cannot be deleted is logged, not raised (the rows are
    deleted already). Called after the commit that deleted the rows."""
    store = storage.files_storage()
    for key in keys:
        _remove(store, key)
    for folder in folders:
        _remove_tree(store, folder)


def _remove_tree(store, folder: str) -> None:
    """What is left under ``folder`` (a live log's chunks are a folder of their own)."""
    try:
        with storage.storage_errors(f"list {folder}"):
            dirs, names = store.listdir(folder)
    except (FileNotFoundError, NotADirectoryError, NotFound):
        return
    except (OSError, StudioError) as exc:
        log.warning("Could not list %s of deleted runs: %s", folder, exc)
        return
    for name in dirs:
        _remove_tree(store, f"{folder}/{name}")
    for name in names:
        _remove(store, f"{folder}/{name}")
    _remove(store, folder)  # the folder itself, where the storage has folders


def _remove(store, key: str) -> None:
    try:
        with storage.storage_errors(f"delete {key}"):
            store.delete(key)
    except (FileNotFoundError, NotFound):
        pass
    except (OSError, StudioError) as exc:  # a bucket that cannot be reached, too
        log.warning("Could not delete %s of deleted runs: %s", key, exc)
