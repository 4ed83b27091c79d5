import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def first_versions(apps, schema_editor):
    """The descriptions written before history existed become version 1 (no author)."""
    Run = apps.get_model("tracking", "Run")
    Version = apps.get_model("tracking", "DescriptionVersion")
    runs = Run.objects.exclude(description="").values_list("pk", "description").iterator()
    batch = []
    for pk, text in runs:
        batch.append(Version(run_id=pk, number=1, text=text))
        if len(batch) == 1000:
            Version.objects.bulk_create(batch)
            batch = []
    Version.objects.bulk_create(batch)


class Migration(migrations.Migration):

    dependencies = [
        ('tracking', '0010_run_change'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='DescriptionVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('text', models.TextField(blank=True)),
                ('restored_from', models.PositiveIntegerField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='description_versions', to='tracking.run')),
            ],
            options={
                'ordering': ['-number'],
                'constraints': [models.UniqueConstraint(fields=('run', 'number'), name='description_version_unique')],
            },
        ),
        migrations.RunPython(first_versions, migrations.RunPython.noop),
    ]
