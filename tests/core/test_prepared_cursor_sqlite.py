"""On SQLite, ``studio.core.prepared.cursor`` turns a statement's ``%s`` into ``?``
once, not on every call, and runs it as Django's own cursor would: counted, with
``%%`` a literal percent sign and named parameters as before."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.core import prepared
from studio.tracking import services

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's placeholders")


def test_a_statement_is_converted_once_and_still_counted(db, monkeypatch):
    monkeypatch.setattr(prepared, "_QMARK", {})
    sql = "SELECT %s + 1, '50%%', %s"
    with CaptureQueriesContext(connection) as captured:
        for i in range(3):
            with prepared.cursor() as cursor:
                cursor.execute(sql, [i, "x"])
                assert cursor.fetchone() == (i + 1, "50%", "x")
    assert prepared._QMARK == {sql: "SELECT ? + 1, '50%', ?"}
    assert len(captured) == 3
    with prepared.cursor() as cursor:
        cursor.execute("SELECT %(a)s || %(b)s", {"a": "p", "b": "q"})
        assert cursor.fetchone() == ("pq",)
        cursor.execute("SELECT 7")
        assert cursor.fetchone() == (7,)


def test_the_cache_holds_a_bounded_number_of_statements(db, monkeypatch):
    monkeypatch.setattr(prepared, "_QMARK", {})
    monkeypatch.setattr(prepared, "_QMARK_MOST", 2)
    for n in range(1, 5):
        with prepared.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(["%s"] * n), list(range(n)))
            assert cursor.fetchone() == tuple(range(n))
    assert len(prepared._QMARK) == 2


def test_the_services_statements_run_through_it(experiment, monkeypatch):
    monkeypatch.setattr(prepared, "_QMARK", {})
    run = services.run_create(experiment=experiment, submitted_by="alice")
    services.run_complete(run=run)
    assert any(s.startswith("UPDATE") for s in prepared._QMARK)
    assert all("%s" not in converted for converted in prepared._QMARK.values())
