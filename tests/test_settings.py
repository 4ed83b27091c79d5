"""Database settings that concurrency depends on (docs/requirements.md F1)."""

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite settings")
def test_sqlite_uses_wal_immediate_transactions_and_a_busy_timeout(db):
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 20
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


def test_there_is_no_shared_secret_key_default():
    assert settings.SECRET_KEY
    assert "insecure" not in settings.SECRET_KEY
