"""Querysets compiled once, run many times (issue 16).

A request-at-a-time path (a one-point metric POST, a token's lookup, a run read for
its access check) spends more in Django's SQL compiler than in the database: each
``filter()``/``first()`` rebuilds the same statement. ``Prepared`` compiles a
queryset once per thread and database, with marker values standing for its
parameters, and then runs the compiled SQL with the real values, turning rows into
instances exactly as Django's own ``ModelIterable`` does (``select_related``
objects, annotations, the backend's value converters).

Only the parameters named when the ``Prepared`` is made vary; everything else in
the queryset (constants, subqueries, ordering, limits) is fixed at the first call.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections, models
from django.db.backends.signals import connection_created
from django.db.models import QuerySet
from django.db.models.query import _get_from_db, get_related_populators
from django.dispatch import receiver

# --- cursors for the statements every request runs ---------------------------------------
#
# On PostgreSQL a statement is parsed and planned each time it arrives, unless it was
# prepared. psycopg prepares a statement a connection has run ``PREPARE_AFTER`` times,
# but only on a cursor whose parameters the server binds; Django's cursors bind them
# on the client (any number of parameters, any place: ``pk__in`` lists of 100,000
# run ids). ``cursor()`` hands out a server-binding cursor for the statements written
# here, each with a few parameters in typed places, and Django's own for the rest.
# A run's start and end (10 statements) take 2.0 ms instead of 3.0 (issue 16).
# STUDIO_PG_PREPARED=0 turns it off (e.g. behind a pooler in transaction mode).
PREPARE_AFTER = 5

logger = logging.getLogger(__name__)


def _prepared_on(connection) -> bool:
    return connection.vendor == "postgresql" and getattr(settings, "STUDIO_PG_PREPARED", True)


@receiver(connection_created)
def _prepare_after(sender, connection, **kwargs) -> None:
    if _prepared_on(connection):
        # Django opens psycopg connections with preparing off; it applies only to
        # the server-binding cursors below (Django's client-binding ones never prepare).
        connection.connection.prepare_threshold = PREPARE_AFTER


@contextmanager
def cursor(using: str = "default", *, binary: bool = False) -> Iterator[Any]:
    """A cursor for one of the statements written in this module and the services'
    raw SQL (a handful of parameters, each in a typed place): prepared once run often
    on PostgreSQL; on SQLite, one that turns each statement's ``%s`` into ``?`` once,
    not per call. Either is wrapped by Django as usual (query logging, execute
    wrappers, the test suite's statement counts).

    ``binary``: on PostgreSQL, rows come in the binary format, for reads of big
    ``bytea`` columns (metric chunks), which the text format sends as hex that the
    client then decodes: the 245 chunks of a 1,000,000-point series read in 48 ms
    instead of 89. Only for columns of types psycopg loads in binary as Django
    does in text: bytea, text, integers, floats, booleans; not the types Django
    registers text loaders for (timestamps, jsonb, inet, cidr). Without prepared
    statements (STUDIO_PG_PREPARED=0) the cursor is Django's and rows come as text."""
    wrapped = _open(connections[using], binary=binary)
    try:
        yield wrapped
    finally:
        wrapped.close()


def _open(connection, binary: bool = False) -> Any:
    if connection.vendor == "sqlite":
        cursor_class = _qmark_cursor()
    elif _prepared_on(connection):
        cursor_class = _server_binding()
    else:
        return connection.cursor()
    # As Django's own cursors do: the first statement of a request (a token's lookup)
    # checks a kept connection first (CONN_HEALTH_CHECKS), so one the server dropped
    # (a restart) is replaced instead of failing the request.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = cursor_class(connection.connection)
    if binary and connection.vendor == "postgresql":
        from psycopg import pq

        raw.format = pq.Format.BINARY
    return connection._prepare_cursor(raw)


@contextmanager
def pipeline(using: str = "default") -> Iterator[None]:
    """On PostgreSQL, send the statements of the block without waiting for each
    answer (psycopg's pipeline mode): the server still runs them one after the other,
    and a statement whose rows are read waits for what was sent before it. Elsewhere,
    and inside an outer pipeline, it does nothing (the outer one reads the answers
    when it ends).

    Enter it around ``transaction.atomic()`` (``with pipeline(), atomic():``): BEGIN
    then goes with the block's first statement and COMMIT with whatever was sent
    after the last answer read (``studio.core.postgresql``). A metric batch's
    transaction (the lock, the read, three writes) waits on the network three times,
    not six: [BEGIN, lock, read], [writes, change], COMMIT; a run's start three times
    and its end twice. The answers of ``answer()`` not read before come with the
    commit's. The on_commit hooks of a transaction committed inside run when the
    block has ended. An error of a statement whose answer was not read is raised by
    the next statement that reads one, or when the block ends."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not _prepared_on(connection):
        yield
        return
    # As a cursor would: a kept connection the server dropped is replaced now, not
    # under the pipeline.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if raw._pipeline is not None:  # nested: the outer pipeline sends these too
        yield
        return
    pending: list[Answer] = []
    _pending()[connection.alias] = pending
    ended = False
    try:
        with connection.wrap_database_errors, _pipeline_mode(raw):
            yield
        for answer in pending:  # the pipeline's closing sync brought them all
            answer.read()
        ended = True
    finally:
        del _pending()[connection.alias]
        for answer in pending:
            answer.close()
        if hasattr(connection, "run_after_pipeline"):  # a commit's on_commit hooks
            if ended:
                connection.run_after_pipeline()
            else:  # a transaction committed before the error: its hooks still run,
                try:  # and a failing one does not hide the block's own error
                    connection.run_after_pipeline()
                except Exception:
                    logger.exception("An on_commit hook failed after a pipeline's error")


@contextmanager
def _pipeline_mode(raw) -> Iterator[None]:
    """psycopg's ``Connection.pipeline()`` (3.3), with a pipeline that leaves pipeline
    mode without a closing sync when nothing was sent since the last one and every
    answer has been read (a block that ended with COMMIT, whose sync brought the last
    answers): psycopg sends one regardless, a round trip with nothing to carry."""
    with raw.lock:
        raw._check_connection_ok()
        pipeline = raw._pipeline = _pipeline_class()(raw)
    try:
        with pipeline:
            yield
    finally:
        with raw.lock:
            raw._pipeline = None


@functools.cache
def _pipeline_class():
    from collections import deque

    from psycopg import Pipeline, pq

    class _Pipeline(Pipeline):
        def __init__(self, conn) -> None:
            super().__init__(conn)
            self.sent_since_sync = False
            pipeline = self

            class _Commands(deque):
                def append(self, command) -> None:
                    pipeline.sent_since_sync = True
                    super().append(command)

            self.command_queue = _Commands()

        def _enqueue_sync(self) -> None:
            super()._enqueue_sync()
            self.sent_since_sync = False

        def _exit_gen(self):
            # A statement sent after the last sync needs one: to be committed (an
            # implicit transaction ends at a sync), or to clear an aborted pipeline.
            if (
                self.sent_since_sync
                or self.command_queue
                or self.result_queue
                or self.pgconn.pipeline_status != pq.PipelineStatus.ON
            ):
                yield from super()._exit_gen()

    return _Pipeline


# The answers a pipeline reads when it ends, by connection alias (connections are
# per thread, and so is a pipeline).
_LOCAL = threading.local()


def _pending() -> dict[str, list[Answer]]:
    try:
        return _LOCAL.pending
    except AttributeError:
        _LOCAL.pending = {}
        return _LOCAL.pending


class Answer:
    """The first row a statement answers (an ``INSERT``/``UPDATE ... RETURNING``;
    None when it touched no row), passed through ``then``. Inside ``pipeline()`` it is
    read when the block ends, with the closing sync's answers, so waiting for it costs
    no round trip of its own; elsewhere, at once."""

    __slots__ = ("_cursor", "_then", "_value", "_read", "_error")

    def __init__(self, wrapped, then: Callable[[tuple | None], Any]) -> None:
        self._cursor, self._then, self._value, self._read = wrapped, then, None, False
        self._error: BaseException | None = None

    @property
    def value(self) -> Any:
        """``then`` of the row (read now if the pipeline has not ended: a round trip)."""
        self.read()
        return self._value

    def read(self) -> None:
        """Read the row once; a statement that failed raises its error at every read
        (the pipeline's end reads it again: the same error, not "cursor closed")."""
        if self._error is not None:
            raise self._error
        if self._read:
            return
        try:
            row = self._cursor.fetchone()
            self._value = self._then(row)
        except BaseException as error:
            self._error = error
            raise
        finally:
            self._read = True
            self.close()

    def close(self) -> None:
        self._cursor.close()


def answer(
    sql: str,
    params: list[Any],
    then: Callable[[tuple | None], Any] = lambda row: row,
    using: str = "default",
) -> Answer:
    """Run ``sql`` (a statement of this module's kind, as ``cursor()`` runs them) and
    give its first row, passed through ``then``, as an ``Answer``: read when the
    enclosing ``pipeline()`` ends, or at once outside one."""
    connection = connections[using]
    wrapped = _open(connection)
    found = Answer(wrapped, then)
    try:
        wrapped.execute(sql, params)
    except BaseException:
        found.close()
        raise
    pending = _pending().get(connection.alias)
    if pending is None:
        found.read()
    else:
        pending.append(found)
    return found


@functools.cache
def _server_binding():
    from django.db.backends.postgresql.base import ServerBindingCursor

    return ServerBindingCursor


# SQLite's placeholders for the statements cursor() runs: a few dozen, each a few
# hundred characters (Django's wrapper runs a regular expression over each statement
# on each call: 0.1 ms of a run's start and end).
_QMARK: dict[str, str] = {}
_QMARK_MOST = 512


@functools.cache
def _qmark_cursor():
    from django.db.backends.sqlite3.base import SQLiteCursorWrapper

    class QmarkCursor(SQLiteCursorWrapper):
        def convert_query(self, query, *, param_names=None):
            if param_names is not None:
                return super().convert_query(query, param_names=param_names)
            converted = _QMARK.get(query)
            if converted is None:
                converted = super().convert_query(query)
                if len(_QMARK) < _QMARK_MOST:
                    _QMARK[query] = converted
            return converted

    return QmarkCursor


# In the range of every integer field (a value outside it makes Django drop the lookup).
_INT_MARKER = 1_987_654_321


class Prepared:
    """``Prepared(build, run_id=str, user=int)``: ``build(**markers)`` returns the
    queryset; ``.all(run_id=..., user=...)`` runs it and returns its instances,
    ``.first(...)`` the first or None. A parameter is a ``str`` or an ``int``."""

    def __init__(self, build: Callable[..., QuerySet], **kinds: type) -> None:
        if any(kind not in (str, int) for kind in kinds.values()):
            raise TypeError("A prepared parameter is a str or an int.")
        self.build = build
        self.kinds = kinds
        self._local = threading.local()

    def _markers(self) -> dict[str, Any]:
        return {
            name: (f"\x00{name}\x00" if kind is str else _INT_MARKER + i)
            for i, (name, kind) in enumerate(self.kinds.items())
        }

    def _compiled(self, alias: str) -> tuple:
        cache = self._local.__dict__.setdefault("by_alias", {})
        connection = connections[alias]
        key = (alias, id(connection))
        if key not in cache:
            markers = self._markers()
            queryset = self.build(**markers)
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            by_marker = {value: name for name, value in markers.items()}
            slots = [by_marker.get(p, None) if isinstance(p, str | int) else None for p in params]
            if {s for s in slots if s} != set(self.kinds):
                raise ValueError(f"Each of {sorted(self.kinds)} must appear as a parameter.")
            select, klass_info = compiler.select, compiler.klass_info
            model = None
            if klass_info is not None:  # instances (else: values_list rows)
                fields = klass_info["select_fields"]
                start, end = fields[0], fields[-1] + 1
                fetch_mode = queryset._fetch_mode
                model = (
                    _get_from_db(klass_info["model"], fetch_mode),
                    [f[0].target.attname for f in select[start:end]],
                    (start, end),
                    get_related_populators(klass_info, select, alias, fetch_mode),
                    compiler.annotation_col_map,
                )
            # The values' converters (the backend's and the fields'), found once, not
            # per call as ``results_iter`` does: most of a small read's Python cost.
            fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
            convert = (
                compiler.get_converters(fields),
                fields if compiler.has_composite_fields(fields) else None,
            )
            cache[key] = (sql, list(zip(slots, params, strict=True)), compiler, model, convert)
        return cache[key]

    def _rows(self, using: str, values: dict[str, Any]) -> tuple[list, Any]:
        if set(values) != set(self.kinds):
            raise TypeError(f"Prepared query takes {sorted(self.kinds)}, got {sorted(values)}.")
        sql, slots, compiler, model, (converters, composite) = self._compiled(using)
        params = [values[slot] if slot else constant for slot, constant in slots]
        with cursor(using) as hot:
            hot.execute(sql, params)
            rows = hot.fetchall()
        if converters:
            rows = compiler.apply_converters(rows, converters)
        if composite:
            rows = compiler.composite_fields_to_tuples(rows, composite)
        return list(rows), model

    def rows(self, using: str = "default", **values: Any) -> list[tuple]:
        """The rows of a ``values_list`` queryset (a union of them too), converted."""
        return [tuple(row) for row in self._rows(using, values)[0]]

    def all(self, using: str = "default", **values: Any) -> list:
        rows, model = self._rows(using, values)
        return self._instances(using, rows, model)

    def from_rows(self, rows: list[tuple], using: str = "default") -> list:
        """Instances of ``rows`` that another statement read in the shape of this
        queryset's SELECT (the same columns in the same order: an ``UPDATE ...
        RETURNING`` them), converted and built as ``all()`` does."""
        _, _, compiler, model, (converters, composite) = self._compiled(using)
        if rows and len(rows[0]) != compiler.col_count:
            raise ValueError(f"Rows of {len(rows[0])} columns, not {compiler.col_count}.")
        if converters:
            rows = compiler.apply_converters(rows, converters)
        if composite:
            rows = compiler.composite_fields_to_tuples(rows, composite)
        return self._instances(using, list(rows), model)

    def _instances(self, using: str, rows: list, model) -> list:
        if model is None:
            raise TypeError("A values_list query: use rows().")
        from_db, init_list, (start, end), populators, annotations = model
        found = []
        for row in rows:
            obj = from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for attr, position in (annotations or {}).items():
                setattr(obj, attr, row[position])
            found.append(obj)
        return found

    def first(self, using: str = "default", **values: Any):
        found = self.all(using, **values)
        return found[0] if found else None


_INSERTS: dict[tuple[type, str], tuple[str, str, list]] = {}


def _as_stored(field, vendor: str) -> tuple[type, ...]:
    """The value types ``field`` stores unchanged on ``vendor`` (its ``pre_save`` only
    reads the attribute and its ``get_db_prep_save`` hands such a value back as it is),
    so ``insert`` skips both calls for them; () when it does more (times, JSON, UUIDs;
    on PostgreSQL integers are wrapped in typed values for server-side binding)."""
    if vendor != "sqlite" or type(field).pre_save is not models.Field.pre_save:
        return ()
    kind = type(field)
    if kind in (models.CharField, models.TextField):
        return (str, type(None))
    if kind in (models.IntegerField, models.PositiveIntegerField, models.BigIntegerField):
        return (int, type(None))
    if kind is models.BooleanField:
        return (bool,)
    if kind is models.ForeignKey and type(field.target_field) in (
        models.AutoField,
        models.BigAutoField,
    ):
        return (int, type(None))
    return ()


def _insert_plan(model, connection) -> tuple[str, str, list]:
    """``model``'s INSERT, written once per model and backend: without and with
    ``RETURNING`` its key, and per field what ``_stored`` needs."""
    key = (model, connection.vendor)
    if key not in _INSERTS:
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not (f.primary_key and f.db_returning)]
        q = connection.ops.quote_name
        sql = (
            f"INSERT INTO {q(meta.db_table)} ({', '.join(q(f.column) for f in fields)})"
            f" VALUES ({', '.join(['%s'] * len(fields))})"
        )
        stored = [(f, f.attname, _as_stored(f, connection.vendor)) for f in fields]
        _INSERTS[key] = (sql, f"{sql} RETURNING {q(meta.pk.column)}", stored)
    return _INSERTS[key]


def _stored(obj, fields: list, connection) -> list:
    """``obj``'s values as ``obj.save()`` would store them."""
    state = obj.__dict__
    values = []
    for field, attname, stored in fields:
        value = state.get(attname, field) if stored else field
        if value is field or type(value) not in stored:
            value = field.get_db_prep_save(field.pre_save(obj, True), connection)
        values.append(value)
    return values


def insert(obj, using: str = "default") -> None:
    """Save the new ``obj`` as ``obj.save()`` would (each field's ``pre_save`` and
    database preparation: defaults, ``auto_now_add``, JSON), with an INSERT written
    once per model instead of compiled per call; sets its primary key."""
    connection = connections[using]
    _, sql, fields = _insert_plan(type(obj), connection)
    values = _stored(obj, fields, connection)
    with cursor(using) as hot:
        hot.execute(sql, values)
        obj.pk = hot.fetchone()[0]
    obj._state.adding = False
    obj._state.db = using


def insert_many(objs: list, using: str = "default") -> None:
    """Save the new ``objs`` (of one model) as ``insert`` does, in one ``executemany``
    and without reading their keys back (they stay unset): their values go as
    parameters, where ``bulk_create`` on PostgreSQL writes them into the statement's
    text (Django binds on the client), which the server then parses: a metric chunk's
    96 KB of arrays took 3.0 ms on the server that way, 1.6 ms of it parsing, against
    0.26 ms bound (issue 16)."""
    if not objs:
        return
    connection = connections[using]
    sql, _, fields = _insert_plan(type(objs[0]), connection)
    with cursor(using) as hot:
        hot.executemany(sql, [_stored(obj, fields, connection) for obj in objs])
