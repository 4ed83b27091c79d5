"""``python manage.py user_create USERNAME [--superuser]``: a new account with no
password yet; the last line of output is its one-time set-password link."""

from django.core.management.base import BaseCommand, CommandError

from studio.accounts.invitations import user_create
from studio.errors import StudioError


class Command(BaseCommand):
    help = "Create a user and print a one-time link where they set their password."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--superuser", action="store_true", help="a site administrator")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="the studio's address, which the printed link starts with",
        )

    def handle(self, *args, username: str, superuser: bool, email: str, base_url: str, **options):
        try:
            user, path = user_create(username=username, superuser=superuser, email=email)
        except StudioError as exc:
            raise CommandError(exc.message) from None
        kind = "superuser" if superuser else "user"
        self.stderr.write(f"Created {kind} {user.get_username()}; they set a password at:")
        self.stdout.write(base_url.rstrip("/") + path)
