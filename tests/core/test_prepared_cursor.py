"""The statements every request runs are prepared on PostgreSQL (studio.core.prepared's
``cursor``), while Django's own queries keep client-side binding: a ``pk__in`` list
longer than PostgreSQL's 65,535 bound parameters still works."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.core import prepared
from studio.tracking import services
from studio.tracking.models import Run

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's prepared statements"
)


def _prepared_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def test_a_statement_run_often_through_the_hot_cursor_is_prepared(db):
    for i in range(prepared.PREPARE_AFTER + 1):
        with prepared.cursor() as cursor:
            cursor.execute("SELECT %s::int + 1", [i])
            assert cursor.fetchone() == (i + 1,)
    assert any("$1::int + 1" in s for s in _prepared_statements())


def test_the_run_reads_and_writes_are_prepared_and_still_counted(experiment):
    for _ in range(prepared.PREPARE_AFTER + 1):
        run = services.run_create(experiment=experiment, submitted_by="alice")
    with CaptureQueriesContext(connection) as captured:
        services.run_complete(run=run)
    assert any("UPDATE" in q["sql"] for q in captured.captured_queries)  # logged as before
    statements = " ".join(_prepared_statements())
    assert 'INSERT INTO "tracking_run"' in statements
    assert "INSERT INTO tracking_runchange" in statements


def test_django_queries_take_more_parameters_than_a_prepared_statement_may(experiment):
    run = services.run_create(experiment=experiment, submitted_by="alice")
    ids = [run.pk, *range(10**9, 10**9 + 70_000)]
    assert list(Run.objects.filter(pk__in=ids).values_list("pk", flat=True)) == [run.pk]


def test_turned_off_the_hot_cursor_is_djangos(db, settings):
    settings.STUDIO_PG_PREPARED = False
    with prepared.cursor() as cursor:
        assert "ServerBinding" not in type(cursor.cursor).__name__


def test_a_kept_connection_the_server_dropped_is_replaced_before_the_first_statement(
    transactional_db,
):
    """A request's first statement (a token's lookup, through this cursor) checks the
    kept connection as Django's own cursors do: after a server restart it reconnects
    instead of failing the request."""
    import psycopg

    connection.ensure_connection()
    dropped = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        # pg_terminate_backend signals the backend; wait until it is gone, as it is
        # long before the next request after a real restart.
        other.execute("SELECT pg_terminate_backend(%s, 5000)", [dropped])
    # What a new request does to a kept connection (request_started).
    connection.health_check_enabled, connection.health_check_done = True, False

    with prepared.cursor() as cursor:
        cursor.execute("SELECT %s::int + 1", [1])
        assert cursor.fetchone() == (2,)
    assert connection.connection.info.backend_pid != dropped


def test_a_kept_connection_the_server_still_keeps_is_checked_without_a_statement(
    transactional_db,
):
    """The health check of an idle connection asks its socket (nothing to read: the
    server has not dropped it), not the server: no ``SELECT 1`` per request."""
    import psycopg

    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last statement'")
    pid = connection.connection.info.backend_pid
    connection.health_check_enabled, connection.health_check_done = True, False

    connection.close_if_health_check_failed()

    assert connection.health_check_done
    assert connection.connection.info.backend_pid == pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        last = other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        assert last.fetchone() == ("SELECT 'the last statement'",)
