"""``manage.py demo``: make a fresh install ready to try.

Ensures the demo workspace, creates the ``admin`` superuser with a random password
when there is none (shown once, never stored in clear), and fills the workspace by
really running the scripts in ``examples/`` through the SDK, in subprocesses that
reach this database. A workspace that already has runs is left as it is, so running
the command again adds nothing.
"""

from __future__ import annotations

import os
import secrets
import select
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from studio.accounts import services as account_services
from studio.accounts.models import Membership, Role
from studio.tracking import services as tracking_services
from studio.tracking.models import Run

EXAMPLES_DIR = Path(settings.BASE_DIR) / "examples"
# Oldest first: the runs page lists the newest (the one left Running) on top.
EXAMPLES = [
    ["train_logreg.py", "--lr", "0.03"],
    ["train_logreg.py"],
    ["train_logreg.py", "--lr", "0.5", "--epochs", "30"],
    ["sweep.py"],
    ["grid_search.py"],  # 48 children, some diverge: a sweep that folds into one row
    ["v1_notebook.py"],  # a v1 notebook: cluster, environment, outputs, model
    ["failing.py"],
    ["still_running.py"],
]
LIVE_EXAMPLE = "still_running.py"  # with --live-minutes: left training in the background
SCRIPT_TIMEOUT = 120  # seconds; each example takes well under one


def database_url() -> str:
    """A DATABASE_URL naming the database this process uses, for the subprocesses."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = quote(s.get("USER") or "", safe="")
    password = quote(s.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = s.get("HOST") or "127.0.0.1"
    return f"postgres://{auth}{host}:{s.get('PORT') or 5432}/{s['NAME']}"


def _manage_hint() -> str:
    """How the user should call manage.py to reach this environment and database."""
    try:
        python = str(Path(sys.executable).relative_to(Path.cwd()))
    except ValueError:
        python = "python"
    home = f"STUDIO_HOME={os.environ['STUDIO_HOME']} " if os.environ.get("STUDIO_HOME") else ""
    return f"{home}{python} manage.py"


class Command(BaseCommand):
    help = "Create the admin account and fill a demo workspace by running examples/."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="Where the studio runs."
        )
        parser.add_argument("--workspace", default="default", help="The demo workspace.")
        parser.add_argument("--username", default="admin", help="The admin account.")
        parser.add_argument(
            "--live-minutes",
            type=float,
            default=0,
            help="Keep the Running example training this long in the background, so the "
            "studio shows a live run (0: it stops at once and is later marked lost).",
        )

    def handle(self, *args, **options):
        workspace = tracking_services.workspace_get_or_create(name=options["workspace"])
        username = options["username"]
        user, password = self._ensure_admin(username)
        if not Membership.objects.filter(user=user, workspace=workspace).exists():
            account_services.membership_add(user=user, workspace=workspace, role=Role.OWNER)

        signin = self._signin_line(options["url"], username, password)
        if password is not None:
            self.stdout.write(signin)  # at once: the password is shown nowhere else
        if Run.objects.filter(workspace=workspace).exists():
            self.stdout.write(f"Workspace {workspace.name!r} already has runs; no demo runs added.")
        else:
            self.stdout.write(f"Filling workspace {workspace.name!r} by running examples/:")
            self._run_examples(workspace.name, username, options["live_minutes"])
        # Again, so it is the last line above the server log that follows.
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(signin))
        self.stdout.write("")

    def _ensure_admin(self, username: str):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is not None:
            return user, None
        password = secrets.token_urlsafe(12)
        user = account_services.superuser_create(username=username, password=password)
        self.stdout.write(
            f"Created the superuser {username!r} with a random password (shown only here)."
        )
        return user, password

    def _signin_line(self, url: str, username: str, password: str | None) -> str:
        if password is not None:
            return f"Studio is running at {url}  — sign in as {username} / {password}"
        return (
            f"Studio is running at {url}  — sign in as {username} "
            f"(forgot the password? {_manage_hint()} changepassword {username})"
        )

    def _run_examples(self, workspace: str, username: str, live_minutes: float = 0) -> None:
        env = dict(os.environ)
        env.pop("STUDIO_TRACKING_URI", None)
        env["DATABASE_URL"] = database_url()
        env["STUDIO_HOME"] = str(settings.STUDIO_HOME)
        env["STUDIO_WORKSPACE"] = workspace
        env.setdefault("STUDIO_USER", username)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(settings.BASE_DIR), env.get("PYTHONPATH")) if p
        )
        # An empty working directory: no .studio/config.json can redirect the SDK.
        with tempfile.TemporaryDirectory(prefix="studio-demo-") as cwd:
            for name, *arguments in EXAMPLES:
                command = [sys.executable, str(EXAMPLES_DIR / name), *arguments]
                if name == LIVE_EXAMPLE and live_minutes > 0:
                    self._start_live(command + ["--minutes", f"{live_minutes:g}"], env, cwd)
                    continue
                result = subprocess.run(
                    command,
                    env=env,
                    cwd=cwd,
                    capture_output=True,
                    text=True,
                    timeout=SCRIPT_TIMEOUT,
                )
                if result.returncode != 0:
                    raise CommandError(
                        f"examples/{name} exited with {result.returncode}:\n{result.stderr}"
                    )
                for line in result.stdout.strip().splitlines():
                    self.stdout.write(f"  examples/{name:<18} {line}")

    def _start_live(self, command: list[str], env: dict, cwd: str) -> None:
        """Start the example in its own session and leave it training: wait for the
        line it prints once its run exists, then stop listening."""
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        ready, _, _ = select.select([proc.stdout], [], [], SCRIPT_TIMEOUT)
        line = proc.stdout.readline().strip() if ready else ""
        proc.stdout.close()
        if not line:
            proc.kill()
            raise CommandError(f"{Path(command[1]).name} did not start its run.")
        self.stdout.write(f"  examples/{Path(command[1]).name:<18} {line} (pid {proc.pid})")
