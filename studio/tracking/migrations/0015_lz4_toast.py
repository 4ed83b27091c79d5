"""PostgreSQL: compress a change's data and a metric record's with lz4 where the
server has it.

PostgreSQL compresses a stored value over ~2 KB (TOAST) with pglz unless told
otherwise. A change carries the newest 1,000 points of its batch (32 KB of JSON):
storing one took 0.53–0.86 ms with pglz, 0.36–0.40 ms with lz4. Metric chunks stay
uncompressed (0004): lz4 would halve their room but a 1,000,000-point history took
60 ms to read with it against 48 ms without. lz4 needs PostgreSQL 14+ built with it
(Debian's, the official images); elsewhere, and on SQLite (which compresses
nothing), this does nothing."""

from django.db import migrations

COLUMNS = [("tracking_runchange", "data"), ("tracking_metricrecord", "data")]


def lz4_available(connection) -> bool:
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
            " WHERE name = 'default_toast_compression'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def _compress_with(method: str):
    def run(apps, schema_editor) -> None:
        if not lz4_available(schema_editor.connection):
            return
        q = schema_editor.quote_name
        for table, column in COLUMNS:
            schema_editor.execute(
                f"ALTER TABLE {q(table)} ALTER COLUMN {q(column)} SET COMPRESSION {method}"
            )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0014_batch_noted_by_its_change"),
    ]

    operations = [
        migrations.RunPython(_compress_with("lz4"), _compress_with("DEFAULT")),
    ]
