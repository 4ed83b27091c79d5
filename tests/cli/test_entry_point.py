"""The installed entry point, in a real process."""

from __future__ import annotations

import json
import os
import subprocess

from tests.conftest import PYTHON, ROOT


def test_python_m_studio_lists_runs_of_the_test_database(sdk, subprocess_env, tmp_path):
    exp = sdk.Experiment(sdk.Workspace.from_config(), "experiment")
    run = exp.start_logging()
    run.add_properties({"author": "azureml-user"})
    exp.start_logging()

    proc = subprocess.run(
        [PYTHON, "-m", "studio", "run", "list", "--experiment-name", "experiment",
         "[?properties.author=='azureml-user'].id"],
        env=subprocess_env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [run.id]


def test_the_cli_imports_without_django(tmp_path):
    code = (
        "import sys, studio.cli.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [PYTHON, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[]\n"
