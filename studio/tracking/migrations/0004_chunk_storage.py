"""PostgreSQL: keep metric chunk arrays out of line and uncompressed.

Packed float64 arrays barely compress, yet pglz compression took most of the insert
time of a large metric batch (bench/api.py). EXTERNAL storage skips it; SQLite has
no such setting and is left alone."""

from django.db import migrations

COLUMNS = ("buckets", "steps", "values", "times")


def set_storage(apps, schema_editor, storage="EXTERNAL"):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f'ALTER TABLE tracking_metricchunk ALTER COLUMN "{column}" SET STORAGE {storage}'
        )


def back_to_extended(apps, schema_editor):
    set_storage(apps, schema_editor, "EXTENDED")


class Migration(migrations.Migration):
    dependencies = [("tracking", "0003_run_list_index")]

    operations = [migrations.RunPython(set_storage, back_to_extended)]
