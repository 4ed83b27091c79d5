"""Test-only virtual environments holding clients nobody here wrote (``azureml-core``,
``mlflow``), built once from the package registry and kept beside the project
(``.venv-<name>``), never in requirements.txt.

``client_python(name, requirements)`` returns the environment's interpreter. The
build is guarded by a file lock (xdist workers share it) and redone only when the
requirement list changes (a stamp file records it). ``STUDIO_CLIENT_VENVS`` moves the
folder they are kept in."""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Pinned where a newer release is known to break the client on Python 3.12.
AZUREML = ("azureml-core==1.61.0.post4", "matplotlib")  # log_image(plot=)
MLFLOW = ("mlflow>=3,<4", "scikit-learn", "psycopg2-binary")


def _folder() -> Path:
    return Path(os.environ.get("STUDIO_CLIENT_VENVS") or ROOT)


def client_python(name: str, requirements: tuple[str, ...]) -> Path:
    """The interpreter of ``.venv-<name>`` with ``requirements`` installed; builds it
    the first time (minutes: it downloads from the registry). Skips the test with the
    reason when the registry cannot be reached and no environment exists yet."""
    venv = _folder() / f".venv-{name}"
    python = venv / "bin" / "python"
    stamp = venv / ".studio-requirements"
    wanted = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()
    lock = _folder() / f".venv-{name}.lock"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if python.exists() and stamp.exists() and stamp.read_text() == wanted:
            return python
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *requirements],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.fail(f"Could not build .venv-{name}: {done.stderr[-2000:]}")
        stamp.write_text(wanted)
    return python
