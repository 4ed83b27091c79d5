from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("execution", "0003_compute_target_provisioning"),
    ]

    operations = [
        migrations.AddField(
            model_name="computetarget",
            name="kind",
            field=models.CharField(
                choices=[("local", "Local"), ("queue", "Queue"), ("slurm", "Slurm")],
                default="queue",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="computetarget",
            name="slurm",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="execution",
            name="slurm_job_id",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
    ]
