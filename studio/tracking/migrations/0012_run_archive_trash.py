# Archived runs (out of lists unless asked for) and the workspace trash (deleted_at).

import django.db.models.manager
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tracking', '0011_description_versions'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='run',
            options={'base_manager_name': 'all_objects', 'ordering': ['-created_at', '-id']},
        ),
        migrations.AlterModelManagers(
            name='run',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('all_objects', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AddField(
            model_name='run',
            name='archived',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='run',
            name='deleted_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='run',
            index=models.Index(fields=['workspace', 'deleted_at'], name='run_ws_deleted'),
        ),
    ]
