"""Workspaces, experiments and runs: creating, numbering, status changes, properties
and tags."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from studio.core import prepared
from studio.core.prepared import insert
from studio.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PropertyConflict,
    ValidationError,
    WorkspaceArchived,
)
from studio.rules import clients, transitions, validation
from studio.tracking.models import (
    Experiment,
    Run,
    RunProperty,
    RunStatus,
    RunTag,
    RunType,
    Workspace,
)
from studio.tracking.services.changes import change_run_status

MAX_CHILDREN_PER_CALL = 10_000


# --- workspaces and experiments ---------------------------------------------------


def workspace_get_or_create(*, name: str) -> Workspace:
    name = validation.workspace_name(name)
    # Every call of the local store names its workspace: the read is compiled once.
    found = _WORKSPACE.first(name=name)
    if found is not None:
        return found
    workspace, _ = Workspace.objects.get_or_create(name=name)
    return workspace


_WORKSPACE = prepared.Prepared(
    lambda name: Workspace.objects.filter(name=name).order_by(), name=str
)


def workspace_check_writable(workspace: Workspace) -> None:
    """Archived workspaces are read-only for everyone: every write refuses them (the
    access helpers and the SDK's local store call this)."""
    if workspace.archived:
        raise WorkspaceArchived(
            f"Workspace {workspace.name!r} is archived and read-only; an owner can "
            "unarchive it (Settings → Workspace, or `studio workspace archive --undo`).",
            field="workspace",
        )


def experiment_get_or_create(*, workspace: Workspace, name: str) -> Experiment:
    name = validation.experiment_name(name)
    experiment, _ = Experiment.objects.get_or_create(workspace=workspace, name=name)
    return experiment


# --- runs --------------------------------------------------------------------------


# A run id a client chooses (azureml-core names its child runs itself): URL-safe.
_CLIENT_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")


def _check_client_run_ids(run_ids: list[str]) -> list[str]:
    """Run ids chosen by the client: well formed, distinct and not taken."""
    for i, run_id in enumerate(run_ids):
        if not isinstance(run_id, str) or not _CLIENT_RUN_ID.fullmatch(run_id):
            raise ValidationError(
                f"Run id {run_id!r} must be 1 to 255 letters, digits, '_', '-' or '.'.",
                field=f"run_ids[{i}]",
            )
    if len(set(run_ids)) != len(run_ids):
        raise ValidationError("The run ids of one call must differ.", field="run_ids")
    taken = list(Run.objects.filter(run_id__in=run_ids).values_list("run_id", flat=True)[:1])
    if taken:
        raise Conflict(f"A run with id {taken[0]!r} already exists.", field="run_id")
    return run_ids


def _new_run_id(experiment_name: str) -> str:
    return f"{experiment_name}_{int(time.time())}_{secrets.token_hex(4)}"


def _new_run_ids(experiment_name: str, count: int) -> list[str]:
    """``count`` distinct new run ids. 32 random bits per second collide once in a
    while when thousands of runs are made in the same second (a 10,000-child batch:
    about 1 in 100), so ids already taken, in the batch or in the database, are
    drawn again."""
    ids: set[str] = set()
    while len(ids) < count:
        ids.update(_new_run_id(experiment_name) for _ in range(count - len(ids)))
        ids -= set(Run.objects.filter(run_id__in=list(ids)).values_list("run_id", flat=True))
    return list(ids)


class WorkspaceChanged(Exception):
    """``run_create(workspace_name=...)``: the experiment no longer has its name, or
    its workspace is no longer the writable workspace of that name; nothing was
    written."""


def _reserve_numbers(experiment: Experiment, count: int, workspace_name: str | None = None) -> int:
    """Bump the experiment's counter by ``count`` and return the first new number.
    Must run inside the creating transaction: the UPDATE holds the row lock. With
    ``workspace_name``, only if the experiment still has its name and its workspace
    that name, not archived (else WorkspaceChanged)."""
    # One statement: UPDATE ... RETURNING; the ORM's update() answers a row count.
    sql = (
        f"UPDATE {Experiment._meta.db_table} SET run_counter = run_counter + %s,"
        " last_activity_at = %s WHERE id = %s"
    )
    params = [count, timezone.now(), experiment.pk]
    if workspace_name is not None:
        sql += (
            f" AND name = %s AND workspace_id IN (SELECT id FROM {Workspace._meta.db_table}"
            " WHERE name = %s AND NOT archived)"
        )
        params += [experiment.name, workspace_name]
    found = returning(sql + " RETURNING run_counter", params)
    if found is None:
        raise WorkspaceChanged(experiment.pk)
    return found[0] - count + 1


def returning(sql: str, params: list[Any]) -> tuple | None:
    """The row an ``UPDATE``/``INSERT ... RETURNING`` answers (SQLite 3.35+ and
    PostgreSQL have it; the ORM writes neither), None if it touched no row. Times
    among ``params`` are adapted as the ORM would store them."""
    params = [
        connection.ops.adapt_datetimefield_value(p) if isinstance(p, dt.datetime) else p
        for p in params
    ]
    with prepared.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _check_run_fields(
    display_name: str, compute_target: str, script: str, arguments: Iterable[str]
) -> list[str]:
    validation.text(display_name, "display_name", max_length=validation.MAX_DISPLAY_NAME)
    validation.text(compute_target, "compute_target", max_length=100)
    validation.text(script, "script", max_length=500)
    args = list(arguments)
    for i, arg in enumerate(args):
        validation.text(arg, f"arguments[{i}]", max_length=10_000)
    return args


def run_create(
    *,
    experiment: Experiment,
    submitted_by: str,
    type: str = RunType.INTERACTIVE,
    status: str = RunStatus.RUNNING,
    parent: Run | None = None,
    display_name: str = "",
    compute_target: str = "local",
    script: str = "",
    arguments: Iterable[str] = (),
    tags: Mapping[str, str | None] | None = None,
    properties: Mapping[str, str] | None = None,
    run_id: str | None = None,
    workspace_name: str | None = None,
) -> Run:
    """Create one run (``start_logging``, ``child_run``, ``submit``). ``run_id``: the
    id the client chose (v1's ``child_run`` names its runs), else a new one.
    ``workspace_name``: for a caller holding an experiment it read earlier, the run is
    made only if the experiment still has its name and its workspace is still the
    writable workspace of that name (else WorkspaceChanged, and nothing is written);
    the check is part of the statement that numbers the run."""
    if type not in RunType.values:
        raise ValidationError(f"Unknown run type {type!r}.", field="type")
    if status not in (RunStatus.RUNNING, RunStatus.NOT_STARTED, RunStatus.QUEUED):
        raise ValidationError(f"A run cannot be created as {status}.", field="status")
    args = _check_run_fields(display_name, compute_target, script, arguments)
    clean_tags = _check_tags(tags or {})
    clean_props = _check_properties(properties or {})
    if parent is not None and parent.experiment_id != experiment.pk:
        raise ValidationError("A child run belongs to its parent's experiment.", field="parent")
    if run_id is not None:
        _check_client_run_ids([run_id])
    now = timezone.now()
    # PostgreSQL: BEGIN goes with the numbering UPDATE, COMMIT with the change (3
    # round trips, not 5).
    with prepared.pipeline(), transaction.atomic():
        number = _reserve_numbers(experiment, 1, workspace_name)
        run = Run(
            run_id=run_id or _new_run_id(experiment.name),
            workspace_id=experiment.workspace_id,
            experiment=experiment,
            number=number,
            parent=parent,
            root_id=(parent.root_id or parent.pk) if parent else None,
            display_name=display_name,
            type=type,
            status=status,
            submitted_by=submitted_by,
            compute_target=compute_target,
            script=script,
            arguments=args,
            started_at=now if status == RunStatus.RUNNING else None,
            heartbeat_at=now if status == RunStatus.RUNNING else None,
        )
        insert(run)  # every start_logging(): written once, not compiled per call
        if parent is not None:
            Run.objects.filter(pk=parent.pk).update(child_count=F("child_count") + 1)
        if clean_tags:  # (an empty bulk_create still builds two querysets: 8 us)
            RunTag.objects.bulk_create(
                RunTag(run=run, key=k, value=v) for k, v in clean_tags.items()
            )
        if clean_props:
            RunProperty.objects.bulk_create(
                RunProperty(run=run, key=k, value=v) for k, v in clean_props.items()
            )
        change_run_status(run=run, created=True)
    return run


def run_create_children(
    *,
    parent: Run,
    submitted_by: str,
    count: int | None = None,
    tag_key: str | None = None,
    tag_values: Iterable[str] | None = None,
    run_ids: Iterable[str] | None = None,
) -> list[Run]:
    """Create many child runs in one transaction (``create_children``).

    With ``tag_key`` and ``tag_values``, one child per value, tagged ``tag_key=value``.
    ``run_ids``: the ids the client chose for them (v1's ``create_children``).
    """
    chosen = list(run_ids) if run_ids is not None else None
    if chosen is not None:
        _check_client_run_ids(chosen)
        if count is None and tag_values is None:
            count = len(chosen)
    values = list(tag_values) if tag_values is not None else None
    if values is not None:
        if tag_key is None:
            raise ValidationError("tag_values needs a tag_key.", field="tag_key")
        tag_key = validation.key(tag_key, "tag_key")
        values = [
            validation.text(v, f"tag_values[{i}]", max_length=validation.MAX_TAG_VALUE)
            for i, v in enumerate(values)
        ]
        if count is not None and count != len(values):
            raise ValidationError("count must match the number of tag_values.", field="count")
        count = len(values)
    if type(count) is not int or count < 0:
        raise ValidationError("count must be a non-negative integer.", field="count")
    if count > MAX_CHILDREN_PER_CALL:
        raise ValidationError(f"At most {MAX_CHILDREN_PER_CALL} children per call.", field="count")
    if chosen is not None and len(chosen) != count:
        raise ValidationError("One run id per child is needed.", field="run_ids")
    if count == 0:
        return []
    experiment = parent.experiment
    now = timezone.now()
    with transaction.atomic():
        first = _reserve_numbers(experiment, count)
        new_ids = chosen or _new_run_ids(experiment.name, count)
        runs = [
            Run(
                run_id=new_ids[i],
                workspace_id=parent.workspace_id,
                experiment=experiment,
                number=first + i,
                parent=parent,
                root_id=parent.root_id or parent.pk,
                type=RunType.INTERACTIVE,
                status=RunStatus.RUNNING,
                submitted_by=submitted_by,
                compute_target=parent.compute_target,
                started_at=now,
                heartbeat_at=now,
            )
            for i in range(count)
        ]
        Run.objects.bulk_create(runs)
        # Not every backend returns primary keys from bulk_create: fetch them back.
        by_id = dict(
            Run.objects.filter(run_id__in=[r.run_id for r in runs]).values_list("run_id", "pk")
        )
        for r in runs:
            r.pk = by_id[r.run_id]
        if values is not None:
            RunTag.objects.bulk_create(
                RunTag(run=r, key=tag_key, value=v) for r, v in zip(runs, values, strict=True)
            )
        Run.objects.filter(pk=parent.pk).update(child_count=F("child_count") + count)
    return runs


def run_transition(
    *,
    run: Run,
    status: str,
    reason: str = "",
    error: Mapping[str, Any] | None = None,
    only_from: str | None = None,
) -> Run:
    """Move a run to ``status`` if the transition table allows it from its current one
    (and, with ``only_from``, only from that one: a worker claims a Queued run).

    A conditional UPDATE (``WHERE status IN allowed``) checked by its row count:
    of two racing transitions exactly one wins; the loser gets InvalidTransition.
    """
    allowed, fields, now = _transition_plan(status, reason, error)
    if only_from is not None:
        allowed &= {only_from}
    with transaction.atomic():  # the change is told exactly when it is made
        updated = _transition_update(run, allowed, fields)
        if updated:
            _updated_in_hand(run, fields, now)
            change_run_status(run=run)
    if not updated:
        current = Run.objects.filter(pk=run.pk).values_list("status", flat=True).first()
        if current is None:
            raise NotFound(f"Run {run.run_id} does not exist.", field="run_id")
        raise InvalidTransition.between(run.run_id, current, status)
    return run


def _transition_plan(
    status: str, reason: str, error: Mapping[str, Any] | None
) -> tuple[set[str], dict[str, Any], dt.datetime]:
    """(the statuses a run may move to ``status`` from, the fields the move writes,
    its time); a ValidationError for an unknown status or a bad reason."""
    if status not in transitions.STATUSES:
        raise ValidationError(f"Unknown status {status!r}.", field="status")
    validation.text(reason, "reason", max_length=255)
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "status_changed_at": now, "status_reason": reason}
    if status in transitions.TAKEN:
        fields["heartbeat_at"] = now  # the lease starts with the process taking it on
    if status == RunStatus.RUNNING:
        fields["started_at"] = Coalesce(F("started_at"), now)
    if status in transitions.TERMINAL:
        fields["ended_at"] = Coalesce(F("ended_at"), now)
    if error is not None:
        fields["error"] = dict(error)
    return set(transitions.allowed_from(status)), fields, now


def _set_clause(fields: Mapping[str, Any]) -> tuple[str, list]:
    """``SET`` of a transition's ``fields`` (a ``Coalesce(F(name), value)`` keeps a
    value already set) and its parameters, prepared as the ORM would."""
    q = connection.ops.quote_name
    sets, params = [], []
    for name, value in fields.items():
        field = Run._meta.get_field(name)
        column = q(field.column)
        if isinstance(value, Coalesce):
            value = value.source_expressions[1].value
            sets.append(f"{column} = COALESCE({column}, %s)")
        else:
            sets.append(f"{column} = %s")
        params.append(field.get_db_prep_save(value, connection))
    return ", ".join(sets), params


def _transition_update(run: Run, allowed: set[str], fields: Mapping[str, Any]) -> int:
    """``Run.objects.filter(pk=run.pk, status__in=allowed).update(**fields)``, as a
    statement written here rather than compiled per call: every start, completion and
    claim makes one."""
    statuses = sorted(allowed)
    if not statuses:
        return 0
    sets, params = _set_clause(fields)
    sql = (
        f"UPDATE {connection.ops.quote_name(Run._meta.db_table)} SET {sets}"
        f" WHERE id = %s AND deleted_at IS NULL"
        f" AND status IN ({', '.join(['%s'] * len(statuses))})"
    )
    with prepared.cursor() as cursor:
        cursor.execute(sql, [*params, run.pk, *statuses])
        return cursor.rowcount


# A run's row as a plain SELECT of it reads it: the shape run_transition_live's
# UPDATE answers, turned into an instance as that SELECT's would be.
_RUN_ROW = prepared.Prepared(lambda pk: Run.objects.filter(pk=pk).order_by(), pk=int)


def run_transition_live(
    *, run_id: str, status: str, reason: str = "", error: Mapping[str, Any] | None = None
) -> Run | None:
    """``run_transition`` for a run known by its id, in one statement that moves it and
    answers its row (no read before): for a run whose heartbeat is within the lease,
    which the lost-run check (``liveness``) never marks lost, the usual end of a run its
    own process reports. The run comes back with its workspace's and experiment's
    names and its parent's id (the rest of those rows is read on first use), and its
    tags and properties as ``run.labels_read`` (what ``selectors.run_labels`` answers).

    None when that does not apply: no such run, in the trash, a status it may not move
    from, or a heartbeat older than the lease (or none). Then nothing was written, and
    the caller reads the run (``selectors.run_get``, which makes the lost-run check)
    and calls ``run_transition``, which says what stands in the way."""
    from studio.tracking.services import liveness

    allowed, fields, now = _transition_plan(status, reason, error)
    statuses = sorted(allowed)
    if not isinstance(run_id, str) or not run_id or not statuses:
        return None
    q = connection.ops.quote_name
    table = q(Run._meta.db_table)
    columns = ", ".join(f"{table}.{q(f.column)}" for f in Run._meta.concrete_fields)
    sets, params = _set_clause(fields)
    cutoff = now - dt.timedelta(seconds=liveness.lease_seconds())
    sql = (
        f"UPDATE {table} SET {sets}"
        f" WHERE run_id = %s AND deleted_at IS NULL"
        f" AND status IN ({', '.join(['%s'] * len(statuses))}) AND heartbeat_at >= %s"
        f" RETURNING {columns},"
        f" (SELECT w.name FROM {q(Workspace._meta.db_table)} w WHERE w.id = {table}.workspace_id),"
        f" (SELECT e.name FROM {q(Experiment._meta.db_table)} e WHERE e.id = {table}.experiment_id),"
        f" (SELECT p.run_id FROM {table} p WHERE p.id = {table}.parent_id),"
        f" {_labels_json(RunTag, table)}, {_labels_json(RunProperty, table)}"
    )
    params += [run_id, *statuses, connection.ops.adapt_datetimefield_value(cutoff)]
    # The change is told exactly when it is made; on PostgreSQL BEGIN goes with the
    # UPDATE and COMMIT with the change (2 round trips, not 4).
    with prepared.pipeline(), transaction.atomic():
        with prepared.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        *values, workspace, experiment, parent, tags, properties = row
        (run,) = _RUN_ROW.from_rows([tuple(values)], connection.alias)
        run.labels_read = (_labels_from(tags), _labels_from(properties))
        run.workspace = Workspace.from_db(
            connection.alias, ["id", "name"], [run.workspace_id, workspace]
        )
        run.experiment = Experiment.from_db(
            connection.alias, ["id", "name"], [run.experiment_id, experiment]
        )
        if run.parent_id is not None:
            run.parent = Run.from_db(connection.alias, ["id", "run_id"], [run.parent_id, parent])
        change_run_status(run=run)
    return run


def _labels_json(model, table: str) -> str:
    """A scalar subquery answering the run's rows of ``model`` (tags or properties)
    as one JSON object, key to value: in the statement that ends a run, so its
    dictionary needs no read after it."""
    q = connection.ops.quote_name
    rows = f"FROM {q(model._meta.db_table)} x WHERE x.run_id = {table}.id"
    if connection.vendor == "postgresql":
        # In the database's key order (its collation), as selectors.run_labels reads
        # them; NULL for none.
        return f"(SELECT json_object_agg(x.key, x.value ORDER BY x.key) {rows})"
    return f"(SELECT json_group_object(x.key, x.value) {rows})"  # '{}' for none


def _labels_from(found) -> dict[str, Any]:
    """The JSON object of ``_labels_json`` in key order, as ``selectors.run_labels``
    gives it: on PostgreSQL decoded by psycopg in the order the database sorted; on
    SQLite text, sorted here (SQLite's default collation compares code points)."""
    if isinstance(found, str):
        found = dict(sorted(json.loads(found).items()))
    return found or {}


def _updated_in_hand(run: Run, fields: Mapping[str, Any], now) -> None:
    """``run`` as the conditional UPDATE of ``fields`` left its row, without reading
    it back: the values written, and for a ``Coalesce(field, now)`` the value it had
    as read (the UPDATE matched only a status it may move from, in which these
    fields are not set by anyone else) or ``now``. A run read with deferred fields
    is read back instead."""
    if run.get_deferred_fields():
        run.refresh_from_db()
        return
    for name, value in fields.items():
        if isinstance(value, Coalesce):
            value = getattr(run, name) or now
        setattr(run, name, value)


def run_complete(*, run: Run) -> Run:
    return run_transition(run=run, status=RunStatus.COMPLETED)


def run_fail(*, run: Run, error_details: str | None = None, error_code: str | None = None) -> Run:
    error = run_failure(error_details, error_code)
    return run_transition(run=run, status=RunStatus.FAILED, reason="failed", error=error)


def run_failure(error_details: str | None, error_code: str | None) -> dict[str, str] | None:
    """The ``error`` a failed run keeps (checked), None when neither is given."""
    if error_details is None and error_code is None:
        return None
    return {
        "message": validation.text(error_details or "", "error_details", max_length=10_000),
        "code": validation.text(error_code or "", "error_code", max_length=100),
    }


def run_cancel(*, run: Run) -> Run:
    """Cancel a run. An interactive run has no process to stop, and a submitted run
    that has not started never will: both end Canceled at once. A started one goes to
    CancelRequested; its supervisor stops the processes, then marks it Canceled."""
    for _ in range(3):  # the run may move (claimed, started) between read and write
        current = Run.objects.filter(pk=run.pk).values_list("status", flat=True).first()
        if current is None:
            raise NotFound(f"Run {run.run_id} does not exist.", field="run_id")
        if current in transitions.TERMINAL:
            raise InvalidTransition(
                f"Run {run.run_id} is already {current}; cancelling it changes nothing.",
                field="status",
            )
        if current == RunStatus.CANCEL_REQUESTED:
            run.refresh_from_db()
            return run
        immediate = run.type == RunType.INTERACTIVE or current in (
            RunStatus.NOT_STARTED,
            RunStatus.QUEUED,
        )
        target = RunStatus.CANCELED if immediate else RunStatus.CANCEL_REQUESTED
        try:
            return run_transition(
                run=run, status=target, reason="canceled" if immediate else "cancel requested"
            )
        except InvalidTransition:
            continue
    run.refresh_from_db()
    return run


def run_update(
    *,
    run: Run,
    display_name: str | None = None,
    description: str | None = None,
    author=None,
) -> Run:
    """Rename the run and/or set its description. A description that changes is
    recorded as a version by ``author`` (a user, or None), from the web, the API
    or the SDK alike (``descriptions.description_save``)."""
    from studio.tracking.services.descriptions import description_save

    if display_name is not None:
        name = validation.text(display_name, "display_name", max_length=validation.MAX_DISPLAY_NAME)
        if description is not None:  # both checked before either is written
            validation.text(description, "description", max_length=validation.MAX_DESCRIPTION)
        run.display_name = name
        run.save(update_fields=["display_name"])
    if description is not None:
        description_save(run=run, text=description, author=author)
    return run


def run_note_client(*, run: Run, user_agent: str | None) -> None:
    """Remember which client logged ``run`` (``clients.logged_with``): the first
    recognised one to write to it; Studio's own SDK leaves it blank."""
    label = clients.logged_with(user_agent)
    if label and run.logged_with != label:
        Run.objects.filter(pk=run.pk).update(logged_with=label)
        run.logged_with = label


def run_heartbeat(*, run: Run) -> None:
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())


def runs_heartbeat(*, runs: QuerySet[Run]) -> list[str]:
    """The runs a process keeps alive (its open interactive runs): two queries for
    the whole batch, which read ids and statuses only (never tags or properties).
    Finished runs are left alone; returns the ids of the runs still alive."""
    active = runs.prefetch_related(None).filter(status__in=transitions.ACTIVE)
    alive = dict(active.values_list("pk", "run_id"))
    if alive:
        Run.objects.filter(pk__in=list(alive), status__in=transitions.ACTIVE).update(
            heartbeat_at=timezone.now()
        )
    return sorted(alive.values())


def _lock_run(run: Run, *, read: bool = True) -> str | None:
    """Lock the run row for this transaction (PostgreSQL; SQLite's IMMEDIATE
    transaction already holds the database write lock) and return its status; a run
    gone or in the trash is not found. Written once, not compiled per call: every
    metric batch on PostgreSQL takes this lock.

    ``read=False`` (PostgreSQL): only send the lock, for a caller that reads the row
    next in the same pipeline and finds a missing run there."""
    sql = _LOCK if connection.features.has_select_for_update else _STATUS
    with prepared.cursor() as cursor:
        cursor.execute(sql, [run.pk])
        if not read:
            return None
        found = cursor.fetchone()
    if found is None:
        raise NotFound(f"Run {run.run_id} does not exist.", field="run_id")
    return found[0]


_STATUS = f"SELECT status FROM {Run._meta.db_table} WHERE id = %s AND deleted_at IS NULL"
_LOCK = f"{_STATUS} FOR UPDATE"


# --- properties and tags ----------------------------------------------------------


def _check_pairs(
    pairs: object, field: str, *, allow_none: bool, max_value: int, max_keys: int
) -> dict:
    if not isinstance(pairs, Mapping):
        raise ValidationError(f"{field} must be a mapping of key to value.", field=field)
    if len(pairs) > max_keys:
        raise ValidationError(
            f"A run holds at most {max_keys} {field}; {len(pairs)} were given.", field=field
        )
    clean: dict[str, str | None] = {}
    for raw_key, value in pairs.items():
        k = validation.key(raw_key, f"{field} key")
        if value is None and allow_none:
            v = None
        else:
            v = validation.text(value, f"{field}.{k}", max_length=max_value)
        if k in clean and clean[k] != v:
            raise ValidationError(
                f"{field} key {k!r} is given twice with different values.", field=f"{field}.{k}"
            )
        clean[k] = v
    return clean


def _check_tags(tags: object) -> dict[str, str | None]:
    return _check_pairs(
        tags,
        "tags",
        allow_none=True,
        max_value=validation.MAX_TAG_VALUE,
        max_keys=validation.MAX_TAGS,
    )


def _check_properties(properties: object) -> dict[str, str]:
    return _check_pairs(
        properties,
        "properties",
        allow_none=False,
        max_value=validation.MAX_PROPERTY_VALUE,
        max_keys=validation.MAX_PROPERTIES,
    )  # type: ignore[return-value]


def _check_room(run: Run, model, keys: list[str], field: str, limit: int) -> None:
    """Refuse keys that would take the run past ``limit`` (call with the run locked)."""
    counts = model.objects.filter(run=run).aggregate(
        held=Count("pk"), known=Count("pk", filter=Q(key__in=keys))
    )
    new = len(keys) - counts["known"]
    if counts["held"] + new > limit:
        raise ValidationError(
            f"A run holds at most {limit} {field}; run {run.run_id} has {counts['held']} "
            f"and this adds {new}.",
            field=field,
        )


def run_add_properties(*, run: Run, properties: Mapping[str, str]) -> dict[str, str]:
    """Add immutable properties: the same value again is a no-op, another value raises
    PropertyConflict naming the key, the stored value and the new one."""
    clean = _check_properties(properties)
    with transaction.atomic():
        _lock_run(run)
        stored = dict(
            RunProperty.objects.filter(run=run, key__in=list(clean)).values_list("key", "value")
        )
        for k, v in clean.items():
            if k in stored and stored[k] != v:
                raise PropertyConflict.for_key(k, stored[k], v)
        _check_room(run, RunProperty, list(clean), "properties", validation.MAX_PROPERTIES)
        try:
            with transaction.atomic():
                RunProperty.objects.bulk_create(
                    RunProperty(run=run, key=k, value=v)
                    for k, v in clean.items()
                    if k not in stored
                )
        except IntegrityError:
            # Lost a race with another writer of the same key: report what it stored.
            stored = dict(
                RunProperty.objects.filter(run=run, key__in=list(clean)).values_list("key", "value")
            )
            for k, v in clean.items():
                if stored.get(k) != v:
                    raise PropertyConflict.for_key(k, stored.get(k, ""), v) from None
    return dict(RunProperty.objects.filter(run=run).values_list("key", "value"))


def run_set_tags(*, run: Run, tags: Mapping[str, str | None]) -> None:
    """Add or change tags (last write wins); a ``None`` value makes a key-only tag."""
    clean = _check_tags(tags)
    if not clean:
        return
    with transaction.atomic():
        _lock_run(run)
        _check_room(run, RunTag, list(clean), "tags", validation.MAX_TAGS)
        RunTag.objects.bulk_create(
            [RunTag(run=run, key=k, value=v) for k, v in clean.items()],
            update_conflicts=True,
            unique_fields=["run", "key"],
            update_fields=["value", "updated_at"],
        )


def run_remove_tags(*, run: Run, keys: Iterable[str]) -> None:
    clean = [validation.key(k, "tag key") for k in keys]
    RunTag.objects.filter(run=run, key__in=clean).delete()
