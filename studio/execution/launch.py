"""Starting supervisors and pipeline drivers as processes of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from studio.core.spawn import STUDIO_ROOT, python_path  # noqa: F401  (re-exported)


def spawn(
    module: str, run_id: str, *args: str, detached: bool = True, die_with_parent: bool = False
):
    """Start ``python -m module run_id args``. Detached, it outlives the caller (a
    submitting notebook may exit); with ``die_with_parent`` it dies with the worker
    that started it, so a dead worker's runs are found lost, not orphaned."""
    from django.conf import settings

    folder = Path(settings.STUDIO_HOME) / "supervisors"
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=python_path())
    command = [sys.executable, "-m", module, run_id, *args]
    if die_with_parent:
        command.append("--die-with-parent")
    with open(folder / f"{run_id}.log", "ab") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=detached,
            close_fds=True,
        )
