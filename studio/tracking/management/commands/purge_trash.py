"""``manage.py purge_trash``: delete for good, with their files, the runs in any
workspace's trash for more than TRASH_DAYS days (run it daily, from cron or a
timer; each trash page also purges its own workspace when it opens)."""

from django.core.management.base import BaseCommand

from studio.tracking import services


class Command(BaseCommand):
    help = "Delete for good the runs in the trash for more than 30 days, with their files."

    def handle(self, *args, **options) -> None:
        purged = services.trash_purge_expired()
        self.stdout.write(
            f"Purged {purged} run(s) deleted more than {services.TRASH_DAYS} days ago."
        )
