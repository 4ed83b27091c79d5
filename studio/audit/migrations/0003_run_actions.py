# The run lifecycle's actions (archive, trash, restore, purge) in the audit log.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_invitation_actions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('signin', 'signed in'), ('signin_failed', 'failed to sign in'), ('token_create', 'created an API token'), ('role_change', 'changed a role'), ('invitation_create', 'invited someone'), ('invitation_accept', 'joined through an invitation'), ('invitation_revoke', 'revoked an invitation'), ('run_archive', 'archived runs'), ('run_unarchive', 'unarchived runs'), ('run_delete', 'moved runs to the trash'), ('run_restore', 'restored runs from the trash'), ('run_purge', 'deleted runs for good')], max_length=20),
        ),
    ]
