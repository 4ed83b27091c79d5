"""The real ``mlflow`` client (from the test-only ``.venv-mlflow``) running unmodified
scripts against a live Studio: ``run_script(source)`` runs ``source`` with
MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN pointing at the test server and
returns the JSON the script printed last."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import pytest

from tests.clientvenv import MLFLOW, client_python


@pytest.fixture(scope="session")
def mlflow_python():
    return client_python("mlflow", MLFLOW)


@pytest.fixture
def run_script(mlflow_python, live_server, api_user, tmp_path):
    def run(source: str, *, token: str | None = None, check: bool = True, args=()):
        script = tmp_path / "train.py"
        script.write_text(textwrap.dedent(source))
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "MLFLOW_TRACKING_URI": live_server.url,
            "MLFLOW_TRACKING_TOKEN": token or api_user.secret,
            # Fail fast instead of MLflow's minutes of retries on a 5xx.
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            "PYTHONWARNINGS": "ignore",
        }
        done = subprocess.run(
            [str(mlflow_python), str(script), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check:
            assert done.returncode == 0, done.stderr[-4000:]
            return json.loads(done.stdout.strip().splitlines()[-1])
        return done

    return run
