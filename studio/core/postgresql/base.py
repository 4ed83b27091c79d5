"""Django's PostgreSQL backend, with a kept connection's health check that asks the
socket, not the server, and transactions that begin and commit inside a pipeline
without round trips of their own (issue 16; the second part below the first).

With ``CONN_HEALTH_CHECKS`` Django runs ``SELECT 1`` before each request's first
statement on a kept connection: a round trip (116 us, 69 us of it psycopg's CPU) on
every API request, to find a connection the server dropped (a restart, an
administrator's ``pg_terminate_backend``, ``idle_session_timeout``). The server says
so when it drops one: it sends the error (``57P01``, "terminating connection ...") and
closes the socket. An idle connection is sent little otherwise (a notice, a
``NOTIFY``: Studio does not ``LISTEN``), so a socket with something to read gets
Django's ``SELECT 1``, which reads it (and fails on a dropped connection), and one
with nothing to read is taken as kept.

What this misses, a request's statement then fails on, once, as it would have before
the check existed: a backend still on its way out when the check runs (right after
``pg_terminate_backend``, before the backend has written its notice: 2 checks in 10
there), and a connection lost without a word (a host gone, a cable cut), on which
``SELECT 1`` would have waited as the statement does.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        raw = self.connection
        if raw is None or raw.closed:
            return False
        if raw.info.transaction_status != pq.TransactionStatus.IDLE or not hasattr(select, "poll"):
            return super().is_usable()
        try:
            poller = select.poll()
            poller.register(raw.fileno(), select.POLLIN | select.POLLPRI)
            ready = poller.poll(0)
        except (OSError, ValueError, base.Database.Error):
            return False
        return not ready or super().is_usable()

    # --- transactions inside a pipeline (``studio.core.prepared.pipeline``) ------------
    #
    # Django opens a transaction by turning autocommit off; psycopg then sends BEGIN
    # before the next statement and, in pipeline mode, syncs after it (a round trip)
    # and syncs again whenever autocommit is set. For an ``atomic()`` entered at the
    # start of a pipeline, psycopg's connection stays in autocommit and BEGIN is sent
    # here as a statement of the pipeline: it goes with the block's first statement,
    # and COMMIT (or ROLLBACK) ends it as usual. A run's start and end then wait on
    # the server 5 times, not 9.

    _began_in_pipeline = False

    def _set_autocommit(self, autocommit):
        raw = self.connection
        pipeline = raw._pipeline
        if (
            pipeline is not None
            and not autocommit
            and raw.autocommit
            and not self._began_in_pipeline
        ):
            with self.wrap_database_errors:
                if (
                    getattr(pipeline, "sent_since_sync", True)
                    or pipeline.command_queue
                    or pipeline.result_queue
                ):
                    # What was sent before runs in an implicit transaction until a
                    # sync ends it: a BEGIN now would make it part of this one (and
                    # a rollback would undo writes already answered).
                    pipeline.sync()
                if raw.info.transaction_status == pq.TransactionStatus.IDLE:
                    raw.execute(b"BEGIN")
                    self._began_in_pipeline = True
                    return
        elif autocommit and self._began_in_pipeline:
            # The COMMIT or ROLLBACK before this ended the transaction; psycopg's
            # mode never changed.
            self._began_in_pipeline = False
            return
        super()._set_autocommit(autocommit)

    def _commit(self):
        if not self._end_in_pipeline(b"COMMIT"):
            super()._commit()

    def _rollback(self):
        if not self._end_in_pipeline(b"ROLLBACK"):
            super()._rollback()

    def _end_in_pipeline(self, statement: bytes) -> bool:
        """End a transaction begun in the pipeline (False: it was not): the statement
        is sent as BEGIN was, and the sync brings its answer and every one before it.
        psycopg's own commit() would send nothing (the transaction it knows of, the
        last ReadyForQuery's, is idle until a sync), and its rollback() syncs first,
        so an unread error (the block's own) would stop it before ROLLBACK was sent
        and Django would drop the connection: past that error the sync goes on."""
        raw = self.connection
        if raw is None or not self._began_in_pipeline or raw._pipeline is None:
            return False
        with debug_transaction(self, statement.decode()), self.wrap_database_errors:
            if statement == b"ROLLBACK":
                self._sync_past_error(raw)
            raw.execute(statement)
            raw._pipeline.sync()
        return True

    # A savepoint inside a pipeline (an atomic() nested in the pipelined one, or the
    # pipelined one inside a caller's atomic()): its release waits for the answers
    # before it, so an error of the block's statements is raised where Django rolls
    # back to the savepoint, not after the block has "succeeded"; rolling back to it
    # first clears an aborted pipeline, which would skip the ROLLBACK TO SAVEPOINT.

    def _savepoint_commit(self, sid):
        super()._savepoint_commit(sid)
        raw = self.connection
        if raw._pipeline is not None:
            with self.wrap_database_errors:
                raw._pipeline.sync()

    def _savepoint_rollback(self, sid):
        raw = self.connection
        if raw is not None and raw._pipeline is not None:
            with self.wrap_database_errors:
                self._sync_past_error(raw)
        return super()._savepoint_rollback(sid)

    @staticmethod
    def _sync_past_error(raw):
        """Sync, ignoring the error of a statement whose answer was not read (the
        one being rolled back): a lost connection still raises."""
        try:
            raw._pipeline.sync()
        except base.Database.Error:
            if raw.closed or raw.pgconn.status == pq.ConnStatus.BAD:
                raise

    def _close(self):
        self._began_in_pipeline = False
        return super()._close()

    # A transaction that commits inside a pipeline has its on_commit hooks run when
    # the pipeline has ended (``prepared.pipeline`` calls ``run_after_pipeline``): a
    # hook may do what pipeline mode refuses, such as a server-side cursor (the
    # change feed's prune iterates over what it moves).

    def run_and_clear_commit_hooks(self):
        raw = self.connection
        if raw is not None and raw._pipeline is not None:
            self.validate_no_atomic_block()
            self.__dict__.setdefault("_after_pipeline", []).extend(self.run_on_commit)
            self.run_on_commit = []
            return
        super().run_and_clear_commit_hooks()

    def run_after_pipeline(self):
        hooks = self.__dict__.pop("_after_pipeline", None)
        if hooks:
            self.run_on_commit = hooks + self.run_on_commit
            super().run_and_clear_commit_hooks()
