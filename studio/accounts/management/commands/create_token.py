"""``python manage.py create_token USERNAME``: a new API token, printed once as the
last line of output."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from studio.accounts.services import token_create
from studio.errors import StudioError
from studio.tracking.models import Workspace


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is not shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="a label to tell tokens apart")
        parser.add_argument("--workspace", help="limit the token to one workspace")

    def handle(self, *args, username: str, name: str, workspace: str | None, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        scope = None
        if workspace:
            scope = Workspace.objects.filter(name=workspace).first()
            if scope is None:
                raise CommandError(f"No workspace named {workspace!r}.")
        try:
            token, secret = token_create(user=user, name=name, workspace=scope)
        except StudioError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(f"Token {token.prefix}… for {username}; store it now, it is shown once:")
        self.stdout.write(secret)
