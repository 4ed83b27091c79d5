"""``manage.py demo``: make a fresh install ready to try.

Ensures the demo workspace, creates the ``admin`` superuser with a random password
when there is none (shown once, never stored in clear), and fills the workspace by
really running the scripts in ``examples/`` through the SDK, in subprocesses that
reach this database: interactive runs, a 60-run sweep, scripts submitted as jobs
(outputs, a failure, a live one) and a running pipeline; then saves two shared views.
A ``reader`` account (a reader of the workspace) is made once, its password shown
once too. A workspace that already has runs is left as it is, so running the
command again adds nothing.
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

from studio.accounts import invitations
from studio.accounts import services as account_services
from studio.accounts.models import Membership, Role
from studio.tracking import saved_views
from studio.tracking import services as tracking_services
from studio.tracking.models import Run

EXAMPLES_DIR = Path(settings.BASE_DIR) / "examples"
# Oldest first: the runs page lists the newest (the one left Running) on top.
EXAMPLES = [
    ["train_logreg.py", "--lr", "0.03"],
    ["train_logreg.py"],
    ["train_logreg.py", "--lr", "0.5", "--epochs", "30"],
    ["sweep.py"],
    ["grid_search.py"],  # 60 children x 2,000 steps, some diverge: one row that unfolds
    ["v1_notebook.py"],  # a v1 notebook: cluster, environment, outputs, model
    ["failing.py"],
    ["submit_jobs.py"],  # submitted scripts (outputs, a failure, a live one) and a pipeline
    ["still_running.py"],
]
LIVE_EXAMPLE = "still_running.py"  # with --live-minutes: left training in the background
JOBS_EXAMPLE = "submit_jobs.py"  # with --live-minutes: its live jobs run that long
SCRIPT_TIMEOUT = 180  # seconds; each example takes well under one
READER = "reader"  # a second account, a reader of the demo workspace
# Two shared views of the demo workspace: (name, list state).
VIEWS = [
    (
        "Sweep by configuration",
        {
            "filters": {"experiment": ["grid-search"], "children": ["1"]},
            "columns": [
                "name", "status", "prop:lr", "prop:l2", "prop:batch_size", "prop:seed",
                "metric:min:val_loss", "metric:last:val_accuracy", "duration",
            ],
            "sort": "metric:min:val_loss",
            "group": "tag:config",
            "panels": ["val_loss", "loss"],
            "chart_options": {"smooth": "ema:0.9"},  # the minibatch loss is noisy
        },
    ),
    (
        "Failed runs",
        {
            "filters": {"q": ["status = Failed"], "children": ["1"]},
            "columns": ["name", "experiment", "status", "created", "duration", "tags"],
            "sort": "-created",
        },
    ),
]  # fmt: skip


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
            self._save_views(workspace, user)
        reader = self._ensure_reader(workspace, options["url"])
        # Again, so it is the last lines above the server log that follows.
        self.stdout.write("")
        if reader:
            self.stdout.write(self.style.SUCCESS(reader))
        self.stdout.write(self.style.SUCCESS(signin))
        self.stdout.write("")

    def _save_views(self, workspace, owner) -> None:
        for name, state in VIEWS:
            saved_views.view_create(
                workspace=workspace, owner=owner, name=name, state=state, shared=True
            )
        self.stdout.write(f"  Saved {len(VIEWS)} shared views: {', '.join(n for n, _ in VIEWS)}")

    def _ensure_reader(self, workspace, url: str) -> str | None:
        """The second account, a reader of the workspace, made once: the line that
        shows its password, or None when it exists already."""
        if get_user_model().objects.filter(username=READER).exists():
            return None
        password = secrets.token_urlsafe(12)
        user = invitations.user_create_with_password(username=READER, password=password)
        account_services.membership_add(user=user, workspace=workspace, role=Role.READER)
        return f"A second account, reader of {workspace.name!r}: {READER} / {password}"

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
                if name == JOBS_EXAMPLE and live_minutes > 0:
                    command += ["--minutes", f"{live_minutes:g}"]
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
