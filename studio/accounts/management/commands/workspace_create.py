"""``python manage.py workspace_create NAME --owner USERNAME``: a new workspace and
its first owner (for a fresh server, before anyone can sign in to the studio)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from studio.accounts.services import workspace_create
from studio.errors import StudioError


class Command(BaseCommand):
    help = "Create a workspace owned by an existing user."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="the username of its first owner")

    def handle(self, *args, name: str, owner: str, **options):
        user = get_user_model().objects.filter(username=owner, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {owner!r}.")
        try:
            workspace = workspace_create(name=name, owner=user)
        except StudioError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Workspace {workspace.name!r} created; {owner} is its owner.")
