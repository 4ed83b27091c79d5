"""A metric batch of numbers is noted by its live change (one row, not two): the
change carries the batch id; MetricBatch keeps the ids of pruned changes and of
batches with nothing to show live, and loses the points column nobody read."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0013_covered_and_unused_indexes"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="metricbatch",
            name="points",
        ),
        migrations.AddField(
            model_name="runchange",
            name="batch_id",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddConstraint(
            model_name="runchange",
            constraint=models.UniqueConstraint(
                fields=("run", "batch_id"), name="run_change_batch_unique"
            ),
        ),
        # The constraint's index (run_id first) serves the run's lookups.
        migrations.AlterField(
            model_name="runchange",
            name="run",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="changes",
                to="tracking.run",
            ),
        ),
    ]
