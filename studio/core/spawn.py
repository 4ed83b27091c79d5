"""Starting Studio's own processes (supervisors, pipeline drivers) without Django:
the SDK starts them on the submitting machine for the ``local`` target of a remote
studio, and they find the ``studio`` package even when it is not installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from studio.core.env import studio_home

STUDIO_ROOT = str(Path(__file__).resolve().parents[2])


def python_path() -> str:
    """PYTHONPATH that lets a child import ``studio`` even when it is not installed."""
    current = os.environ.get("PYTHONPATH", "")
    parts = [p for p in current.split(os.pathsep) if p]
    return os.pathsep.join([STUDIO_ROOT, *[p for p in parts if p != STUDIO_ROOT]])


def spawn_client(
    module: str,
    run_id: str,
    server: str,
    token: str,
    *args: str,
    detached: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start ``python -m module RUN_ID --server URL --client`` on this machine, its
    token in the environment (never on a command line). Detached, it outlives the
    submitting process (a notebook may exit); else it dies with its parent (the
    supervisors of a pipeline driver's steps). Its output goes to
    ``STUDIO_HOME/supervisors/RUN_ID.log``. ``args`` and ``env``: more of each."""
    folder = studio_home() / "supervisors"
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **(env or {}), PYTHONPATH=python_path(), STUDIO_TOKEN=token)
    command = [sys.executable, "-m", module, run_id, "--server", server, "--client", *args]
    if not detached:
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
