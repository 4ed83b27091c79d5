"""PostgreSQL: compress the ingest path's big values with lz4 where the server has it.

PostgreSQL compresses a stored value over ~2 KB (TOAST) with pglz unless told
otherwise. A change carries the newest 1,000 points of its batch (32 KB of JSON):
storing one took 0.53–0.86 ms with pglz, 0.36–0.40 with lz4. Metric chunks skipped
compression altogether (0004: EXTERNAL, pglz took most of a big batch's time); with
lz4 they take as long to store (0.35 against 0.37 ms a 4,096-point chunk) and read
(0.38 against 0.41 ms) and half the room (17.5 against 30.9 MB for 300 chunks).
lz4 needs PostgreSQL 14+ built with it (Debian's, the official images); elsewhere,
and on SQLite (which compresses nothing), this does nothing."""

from django.db import migrations

CHUNK_COLUMNS = ("buckets", "steps", "values", "times")
# (table, column): the values of the ingest path that are often over TOAST's 2 KB.
COLUMNS = [
    *(("tracking_metricchunk", column) for column in CHUNK_COLUMNS),
    ("tracking_runchange", "data"),
    ("tracking_metricrecord", "data"),
]


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


def _compress_with(method: str, chunk_storage: str):
    def run(apps, schema_editor) -> None:
        if not lz4_available(schema_editor.connection):
            return
        q = schema_editor.quote_name
        for table, column in COLUMNS:
            schema_editor.execute(
                f"ALTER TABLE {q(table)} ALTER COLUMN {q(column)} SET COMPRESSION {method}"
            )
        for column in CHUNK_COLUMNS:
            schema_editor.execute(
                f"ALTER TABLE tracking_metricchunk ALTER COLUMN {q(column)}"
                f" SET STORAGE {chunk_storage}"
            )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0014_batch_noted_by_its_change"),
    ]

    operations = [
        migrations.RunPython(
            _compress_with("lz4", "EXTENDED"), _compress_with("DEFAULT", "EXTERNAL")
        ),
    ]
