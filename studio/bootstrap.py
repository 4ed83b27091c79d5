"""Configure Django for a process that is not the web server: the SDK's local store,
the supervisor, the worker, the pipeline driver and the ``studio`` command. Kept
apart from the SDK so that ``execution`` never imports ``sdk``."""

from __future__ import annotations

import fcntl
import os

_ready = False


def setup_django() -> None:
    """Configure Django for in-process use and bring the database schema up to date.

    Several processes may start at once on a fresh STUDIO_HOME; a file lock makes
    exactly one of them migrate."""
    global _ready
    if _ready:
        return
    import django
    from django.apps import apps

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    if not apps.ready:
        django.setup()
        _migrate_if_needed()
    _ready = True


def _migrate_if_needed() -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    def pending() -> bool:
        executor = MigrationExecutor(connection)
        return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))

    if not pending():
        return
    lock_path = settings.STUDIO_HOME / ".migrate.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if pending():
            call_command("migrate", verbosity=0, interactive=False)
