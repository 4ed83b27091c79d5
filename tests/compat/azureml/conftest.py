"""Fixtures for running unmodified azureml-core scripts as Studio jobs: the real
client's interpreter (a test-only venv, ``tests.clientvenv``) as a user-managed
environment, and ``az_submit`` to submit a script with it and wait for its end."""

from __future__ import annotations

import textwrap

import pytest

from tests.clientvenv import AZUREML, client_python
from tests.jobs import wait_terminal

JOB_DEADLINE = 180.0  # seconds; the client alone takes seconds to import


@pytest.fixture(scope="session")
def azureml_python():
    return client_python("azureml", AZUREML)


@pytest.fixture
def az_submit(jobs, tmp_path, azureml_python):
    """``az_submit(script_text, target="local")``: the finished SDK run of the script
    run by the real azureml-core."""
    ws = jobs.Workspace.from_config()
    exp = jobs.Experiment(workspace=ws, name="azureml-compat")
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)

    def submit(text: str, *, target: str = "local", files: dict[str, bytes] | None = None):
        (src / "train.py").write_text(textwrap.dedent(text))
        for name, data in (files or {}).items():
            (src / name).write_bytes(data)
        env = jobs.Environment("azureml-client")
        env.python.user_managed_dependencies = True
        env.python.interpreter_path = str(azureml_python)
        config = jobs.ScriptRunConfig(
            source_directory=str(src), script="train.py", compute_target=target, environment=env
        )
        run = exp.submit(config)
        wait_terminal(run, timeout=JOB_DEADLINE)
        return run

    return submit


def job_log(run) -> str:
    return "".join(run.get_all_logs().values()) if hasattr(run, "get_all_logs") else ""


from tests.execution.conftest import start_worker  # noqa: E402, F401  (a worker's jobs)
