"""Workspaces: create, rename, archive, delete. Who may do it is the access helpers'
business (``studio.accounts.access``); the creator's membership is added by
``studio.accounts.services.workspace_create``."""

from __future__ import annotations

from django.db import transaction

from studio.errors import Conflict, ValidationError
from studio.rules import validation
from studio.rules.transitions import TERMINAL
from studio.tracking.models import Run, Workspace


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
        workspace.delete()
