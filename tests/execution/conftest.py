"""Fixtures for running submitted scripts for real: a source folder to write
scripts into, an experiment of the test database, and a worker process."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from studio.accounts.models import Role
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


SLURM_DEV = Path(__file__).resolve().parents[2] / "scripts" / "slurm-dev.sh"


@pytest.fixture(scope="session")
def slurm_cluster():
    """The local one-node Slurm of scripts/slurm-dev.sh, started when it is not up
    (under a file lock: pytest-xdist workers share it). A test marked ``slurm`` fails,
    never skips, when it cannot be started."""
    import fcntl

    env = {
        **os.environ,
        "STUDIO_SLURM_DIR": os.environ.get("STUDIO_SLURM_DIR", "/tmp/studio-slurm"),
    }
    conf = (
        subprocess.run([str(SLURM_DEV), "env"], env=env, capture_output=True, text=True, check=True)
        .stdout.strip()
        .split("=", 1)[1]
    )
    os.environ["SLURM_CONF"] = conf
    with open("/tmp/studio-slurm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if subprocess.run([str(SLURM_DEV), "status"], env=env).returncode != 0:
            done = subprocess.run([str(SLURM_DEV), "up"], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.fail(f"scripts/slurm-dev.sh up failed:\n{done.stdout}{done.stderr}")
    return conf


def other_machine_env(live_server, home, username: str, role: str = Role.CONTRIBUTOR) -> dict:
    """The environment of ``studio worker`` on a machine that is not the server's:
    its own HOME and STUDIO_HOME under ``home``, the studio's URL and a token of
    ``username`` (a ``role`` member of "default", narrowed to it), and nothing of this
    test's server (no DATABASE_URL)."""
    from studio.accounts.services import token_create
    from studio.tracking.models import Workspace
    from tests.factories import MembershipFactory

    workspace = Workspace.objects.get(name="default")
    user = MembershipFactory(user__username=username, workspace=workspace, role=role).user
    _, secret = token_create(user=user, name=f"worker {username}", workspace=workspace)
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "STUDIO_HOME": str(home / ".studio"),
        "STUDIO_SERVER_URL": live_server.url,
        "STUDIO_TOKEN": secret,
    }
