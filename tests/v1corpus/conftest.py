import os
import subprocess

import pytest

from tests.conftest import PYTHON
from tests.v1corpus.report import results_path, summary_lines


@pytest.fixture
def start_worker(subprocess_env, tmp_path, live_server):
    """``start_worker(target)``: a ``studio worker`` of "default" for the corpus's
    cluster targets, its jobs reporting to the live test server; killed at the end."""
    started: list[subprocess.Popen] = []

    def start(target: str) -> None:
        started.append(
            subprocess.Popen(
                [PYTHON, "-m", "studio", "worker", "--target", target, "-w", "default"]
                + ["--server", live_server.url],
                env={**subprocess_env, "STUDIO_TOKEN": os.environ.get("STUDIO_TOKEN", "")},
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def pytest_terminal_summary(terminalreporter):
    path = results_path()
    if os.path.exists(path):
        terminalreporter.section("v1 corpus")
        for line in summary_lines(path):
            terminalreporter.write_line(line)
