"""Fixtures for running submitted scripts for real: a source folder to write
scripts into, an experiment of the test database, and a worker process."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import PYTHON


@pytest.fixture
def ws(jobs):
    return jobs.Workspace.from_config()


@pytest.fixture
def exp(jobs, ws):
    return jobs.Experiment(workspace=ws, name="execution")


class Source:
    """A source directory; ``write(name, text)`` adds a script and returns its name."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir()

    def write(self, name: str, text: str) -> str:
        (self.path / name).write_text(textwrap.dedent(text))
        return name


@pytest.fixture
def source(tmp_path):
    return Source(tmp_path / "src")


@pytest.fixture
def submit(jobs, exp, source):
    """``submit(script, *arguments, target="local")``: submit a script of ``source``."""

    def run(script: str, *arguments, target: str = "local", experiment=None):
        config = jobs.ScriptRunConfig(
            source_directory=str(source.path),
            script=script,
            arguments=[str(a) for a in arguments],
            compute_target=target,
        )
        return (experiment or exp).submit(config)

    return run


@pytest.fixture
def start_worker(jobs, subprocess_env, tmp_path, live_server, submitter):
    """Start ``studio worker`` processes of "default" on the test database, their jobs
    reporting to a live test server; all are killed at the end."""
    started: list[subprocess.Popen] = []

    def start(target: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(
            [PYTHON, "-m", "studio", "worker", "--target", target, "-w", "default"]
            + ["--server", live_server.url, *extra],
            env={**subprocess_env, **_passed_env(), **(env or {})},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def _passed_env() -> dict[str, str]:
    """Settings a test put in this process's environment for its children."""
    keys = ("STUDIO_RUN_LEASE_SECONDS", "STUDIO_CANCEL_GRACE_SECONDS")
    return {k: os.environ[k] for k in keys if k in os.environ}
