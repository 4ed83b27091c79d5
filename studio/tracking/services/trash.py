"""Archiving runs, and the workspace's trash: delete (into the trash), restore,
delete for good (by hand, or by the purge after ``TRASH_DAYS``).

- Archived runs are left out of lists unless the filter asks for them
  (``archived``); nothing else about them changes.
- A deleted run is in its workspace's trash (``deleted_at``): ``Run.objects`` no
  longer sees it, so it is gone from every list, search, compare, the API and the
  SDK, and its pages answer 404, until it is restored. ``TRASH_DAYS`` after, the
  purge deletes it for good: its rows, then (after the commit) its files.

Each action takes the runs chosen (a run page's one, a list's selection) and acts
on them and every run below them (a sweep's or a pipeline's children go with it), in
one transaction: a refused action changes nothing. Who may do it is the access
helpers' business; each action is told to ``run_lifecycle`` receivers (the audit
log) with who did it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone

from studio.errors import Conflict, ValidationError
from studio.rules.transitions import TERMINAL
from studio.tracking.models import Run, Workspace
from studio.tracking.services.workspaces import remove_files, run_files

TRASH_DAYS = 30
MAX_RUNS_PER_CALL = 1000  # runs chosen by one call (their children are not counted)

# Sent after an action commits: action ("archive", "unarchive", "delete", "restore",
# "purge"), workspace, runs (the run ids chosen), by (a user or None), address.
run_lifecycle = Signal()


def _chosen(runs: Iterable[Run]) -> list[Run]:
    """The runs of one call: at least one, at most MAX_RUNS_PER_CALL, of one workspace."""
    chosen = list({run.pk: run for run in runs}.values())
    if not chosen:
        raise ValidationError("Choose one or more runs.", field="runs")
    if len(chosen) > MAX_RUNS_PER_CALL:
        raise ValidationError(f"At most {MAX_RUNS_PER_CALL} runs per call.", field="runs")
    if len({run.workspace_id for run in chosen}) > 1:
        raise ValidationError("The runs of one call belong to one workspace.", field="runs")
    return chosen


def _with_descendants(pks: Iterable[int]) -> set[int]:
    """``pks`` and every run below them, trashed or not (one query per level)."""
    found = set(pks)
    level = set(found)
    while level:
        below = Run.all_objects.filter(parent_id__in=level).values_list("pk", flat=True)
        level = set(below) - found
        found |= level
    return found


def _told(action: str, chosen: Sequence[Run], by, address: str | None) -> None:
    workspace = Workspace.objects.get(pk=chosen[0].workspace_id)
    ids = [run.run_id for run in chosen]
    transaction.on_commit(
        lambda: run_lifecycle.send(
            sender=Run, action=action, workspace=workspace, runs=ids, by=by, address=address
        )
    )


def _tops(chosen: Sequence[Run]) -> list[Run]:
    """The chosen runs no other chosen run is above (their trees hold the others)."""
    pks = {run.pk for run in chosen}
    below = _with_descendants(pks) - pks
    return [run for run in chosen if run.pk not in below]


def _set_archived(chosen: list[Run], archived: bool) -> int:
    pks = _with_descendants(run.pk for run in chosen)
    changed = Run.objects.filter(pk__in=pks).exclude(archived=archived).update(archived=archived)
    for run in chosen:
        run.archived = archived
    return changed


def run_archive(*, runs: Iterable[Run], by=None, address: str | None = None) -> int:
    """Archive ``runs`` and the runs below them: lists leave them out unless their
    filter says ``archived``. Returns how many runs changed."""
    chosen = _chosen(runs)
    with transaction.atomic():
        changed = _set_archived(chosen, True)
        _told("archive", chosen, by, address)
    return changed


def run_unarchive(*, runs: Iterable[Run], by=None, address: str | None = None) -> int:
    """Put archived ``runs`` (and the runs below them) back in the lists."""
    chosen = _chosen(runs)
    with transaction.atomic():
        changed = _set_archived(chosen, False)
        _told("unarchive", chosen, by, address)
    return changed


def run_delete(*, runs: Iterable[Run], by=None, address: str | None = None) -> int:
    """Move ``runs`` and the runs below them to their workspace's trash, where they
    stay TRASH_DAYS days. Refused, changing nothing, while any of them is still
    going (cancel it first). Returns how many runs went to the trash."""
    chosen = _chosen(runs)
    with transaction.atomic():
        pks = _with_descendants(run.pk for run in chosen)
        # Locked (PostgreSQL; SQLite's IMMEDIATE transaction holds the database), so
        # no run starts between this check and the update.
        rows = list(
            Run.objects.select_for_update()
            .filter(pk__in=pks)
            .values_list("pk", "run_id", "status", "parent_id")
        )
        going = [(run_id, status) for _, run_id, status, _ in rows if status not in TERMINAL]
        if going:
            run_id, status = going[0]
            more = f" (and {len(going) - 1} more)" if len(going) > 1 else ""
            raise Conflict(
                f"Run {run_id} is {status}{more}; cancel it or wait for it to end before "
                "deleting it.",
                field="runs",
            )
        now = timezone.now()
        Run.objects.filter(pk__in=pks).update(deleted_at=now)
        _recount(parent for _, _, _, parent in rows)
        for run in chosen:
            run.deleted_at = now
        _told("delete", chosen, by, address)
    return len(rows)


def _recount(parents: Iterable[int | None]) -> None:
    """``child_count`` of ``parents`` counted again: their children out of the trash."""
    children = (
        Run.objects.filter(parent=OuterRef("pk"))
        .order_by()
        .values("parent")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Run.all_objects.filter(pk__in={p for p in parents if p is not None}).update(
        child_count=Coalesce(Subquery(children), 0)
    )


def _trashed(chosen: Sequence[Run]) -> None:
    if outside := [run.run_id for run in chosen if run.deleted_at is None]:
        raise ValidationError(f"Run {outside[0]} is not in the trash.", field="runs")


def run_restore(*, runs: Iterable[Run], by=None, address: str | None = None) -> int:
    """Take trashed ``runs`` and the trashed runs below them out of the trash, back
    where they were. A run whose parent is still in the trash comes back with it:
    restore the parent. Returns how many runs came back."""
    chosen = _chosen(runs)
    _trashed(chosen)
    with transaction.atomic():
        pks = _with_descendants(run.pk for run in chosen)
        rows = list(
            Run.all_objects.select_for_update()
            .filter(pk__in=pks, deleted_at__isnull=False)
            .values_list("pk", "parent_id")
        )
        parents = {parent for pk, parent in rows if parent is not None and parent not in pks}
        in_trash = set(
            Run.all_objects.filter(pk__in=parents, deleted_at__isnull=False).values_list(
                "run_id", flat=True
            )
        )
        if in_trash:
            raise Conflict(
                f"The parent run {sorted(in_trash)[0]} is in the trash too: restore it, "
                "and its children come back with it.",
                field="runs",
            )
        Run.all_objects.filter(pk__in=[pk for pk, _ in rows]).update(deleted_at=None)
        _recount(parent for _, parent in rows)
        for run in chosen:
            run.deleted_at = None
        _told("restore", chosen, by, address)
    return len(rows)


def run_purge(*, runs: Iterable[Run], by=None, address: str | None = None) -> int:
    """Delete trashed ``runs`` and every run below them for good: their rows now,
    their files (disk or S3) once that is committed. Returns how many runs went."""
    chosen = _chosen(runs)
    _trashed(chosen)
    with transaction.atomic():
        count = _purge(_with_descendants(run.pk for run in chosen))
        _told("purge", chosen, by, address)
    return count


def _purge(pks: set[int]) -> int:
    """Delete the rows of ``pks`` (trashed runs: their parents counted them out when
    they went to the trash), and their files after the commit."""
    doomed = Run.all_objects.filter(pk__in=pks)
    keys, folders = run_files(doomed)
    doomed.delete()
    transaction.on_commit(lambda: remove_files(keys, folders))
    return len(pks)


def trash_purge_expired(
    *, workspace: Workspace | None = None, now: dt.datetime | None = None
) -> int:
    """Delete for good the runs in the trash for more than TRASH_DAYS (of
    ``workspace``, or of every workspace): ``manage.py purge_trash``, and the trash
    page each time it opens. Returns how many runs went."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=TRASH_DAYS)
    expired = Run.all_objects.filter(deleted_at__lt=cutoff)
    if workspace is not None:
        expired = expired.filter(workspace=workspace)
    pks = set(expired.values_list("pk", flat=True))
    if not pks:
        return 0
    with transaction.atomic():
        return _purge(_with_descendants(pks))
