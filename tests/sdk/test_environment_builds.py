"""Submitted runs with environments, for real, on both stores: the local store (the
supervisor runs on this machine) and over HTTP (a worker claims the run). Packages
come from a wheel made by the test, installed with ``--no-index --find-links``: pip
really runs, and no package index is reached."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from studio.execution.envs import READY
from tests.jobs import wait_terminal
from tests.wheels import make_wheel

pytestmark = pytest.mark.slow

SCRIPT = """
    import os, sys
    import studio_tinypkg
    from studio.sdk import Run
    run = Run.get_context()
    run.log("tiny", float(studio_tinypkg.VERSION))
    print("python:", sys.executable)
    print("prefix:", sys.prefix)
    print("var:", os.environ.get("EXAMPLE_ENV_VAR"), os.environ.get("FROM_RUN_CONFIG"))
"""


class Runs:
    """Submits to ``target`` on one store and gets the runs executed: the local
    store's supervisors start by themselves; over HTTP a worker is run."""

    def __init__(self, sdk, ws, target: str, env: dict | None, server: str = ""):
        self.sdk, self.ws, self.target, self.env, self.server = sdk, ws, target, env, server

    def execute(self, count: int) -> None:
        if not self.server:
            return
        worker = subprocess.run(
            [sys.executable, "-m", "studio.execution.worker", "--target", self.target]
            + ["--concurrency", str(count), "--max-runs", str(count), "-w", "default"]
            + ["--server", self.server],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert worker.returncode == 0, worker.stderr


@pytest.fixture(params=["local", "rest"])
def runs(request, jobs, subprocess_env) -> Runs:
    if request.param == "local":
        return Runs(jobs, jobs.Workspace.from_config(), "local", None)
    ws = request.getfixturevalue("rest_workspace")
    return Runs(jobs, ws, "envs-pool", subprocess_env, request.getfixturevalue("live_server").url)


@pytest.fixture
def source(tmp_path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(SCRIPT))
    return folder


@pytest.fixture
def wheels(tmp_path) -> Path:
    folder = tmp_path / "wheels"
    make_wheel(folder, version="1.5")
    return folder


def tiny_env(sdk, wheels: Path, name: str = "tiny", packages=("studio_tinypkg==1.5",)):
    """An environment whose one package is the test's wheel (``--no-index``: pip
    looks nowhere else, so the hash is new for each test's folder)."""
    env = sdk.Environment(name)
    deps = sdk.CondaDependencies.create(pip_packages=list(packages))
    deps.set_pip_option("--no-index")
    deps.set_pip_option(f"--find-links {wheels}")
    env.python.conda_dependencies = deps
    return env


def submit(runs: Runs, source: Path, env, **kwargs):
    config = runs.sdk.ScriptRunConfig(
        source_directory=str(source),
        script="train.py",
        compute_target=runs.target,
        environment=env,
        **kwargs,
    )
    return runs.sdk.Experiment(runs.ws, "envs").submit(config)


def log_of(runs: Runs, run, name: str) -> str:
    data, _ = runs.ws._store.read_file(run.id, name)
    return data.decode()


def envs_root() -> Path:
    from studio.execution.envrun import envs_root

    return envs_root()


def test_a_run_with_an_environment_runs_in_a_venv_built_from_its_packages(runs, source, wheels):
    env = tiny_env(runs.sdk, wheels)
    config_vars = runs.sdk.RunConfiguration()
    config_vars.environment_variables = {"FROM_RUN_CONFIG": "yes"}
    run = submit(runs, source, env, run_config=config_vars)
    runs.execute(1)
    assert wait_terminal(run, timeout=120) == "Completed", run.get_details().get("error")
    assert run.get_metrics() == {"tiny": 1.5}
    props = run.get_properties()
    assert props["azureml.environment.name"] == "tiny"
    assert props["azureml.environment.version"] == "1"
    venv = envs_root() / props["azureml.environment.hash"]
    assert (venv / READY).exists()
    log = log_of(runs, run, "logs/std_log.txt")
    assert f"prefix: {venv}" in log
    assert "var: EXAMPLE_VALUE yes" in log  # v1's default variable, and the run's own
    build = log_of(runs, run, "logs/environment_build.txt")
    assert "Successfully installed studio_tinypkg-1.5" in build
    details = run.get_details()
    assert "logs/environment_build.txt" in details["logFiles"]
    assert details["runDefinition"]["environment"] == {
        "name": "tiny",
        "version": "1",
        "hash": props["azureml.environment.hash"],
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }


def test_the_second_run_of_an_environment_uses_the_cached_venv(runs, source, wheels):
    env = tiny_env(runs.sdk, wheels)
    first = submit(runs, source, env)
    runs.execute(1)
    assert wait_terminal(first, timeout=120) == "Completed"
    second = submit(runs, source, env)
    runs.execute(1)
    assert wait_terminal(second, timeout=120) == "Completed"
    build = log_of(runs, second, "logs/environment_build.txt")
    assert "is cached: not built again" in build
    assert "pip" not in build
    assert second.get_properties()["azureml.environment.version"] == "1"
    same = first.get_properties()["azureml.environment.hash"]
    assert second.get_properties()["azureml.environment.hash"] == same


def test_two_concurrent_submits_of_a_new_environment_build_it_once(runs, source, wheels):
    env = tiny_env(runs.sdk, wheels)
    both = [submit(runs, source, env), submit(runs, source, env)]
    runs.execute(2)
    assert [wait_terminal(r, timeout=120) for r in both] == ["Completed", "Completed"]
    logs = [log_of(runs, r, "logs/environment_build.txt") for r in both]
    built = [log for log in logs if "Successfully installed studio_tinypkg" in log]
    assert len(built) == 1, logs
    other = next(log for log in logs if log is not built[0])
    assert "not built again" in other
    venv = envs_root() / both[0].get_properties()["azureml.environment.hash"]
    record = json.loads((venv / "studio-build.json").read_text())
    assert record["built_by"] in {r.id for r in both}


def test_a_package_that_does_not_exist_fails_the_run_with_pips_message(runs, source, wheels):
    env = tiny_env(runs.sdk, wheels, name="broken", packages=["studio-no-such-package==9.9"])
    before = sorted(p.name for p in envs_root().iterdir()) if envs_root().exists() else []
    run = submit(runs, source, env)
    runs.execute(1)
    assert wait_terminal(run, timeout=120) == "Failed"
    error = run.get_details()["error"]
    assert error["code"] == "environment_failed"
    assert "No matching distribution found for studio-no-such-package==9.9" in error["message"]
    assert "No matching distribution" in log_of(runs, run, "logs/environment_build.txt")
    # Nothing else changed: no environment is left cached, the script never ran.
    digest = run.get_properties()["azureml.environment.hash"]
    assert not (envs_root() / digest).exists()
    after = sorted(p.name for p in envs_root().iterdir())
    assert set(after) - set(before) <= {f"{digest}.lock"} | {n for n in after if "runtime" in n}
    assert run.get_metrics() == {}
    assert "outputs/" not in " ".join(run.get_file_names())


def test_a_conda_package_without_a_pip_equivalent_fails_the_run_naming_it(runs, source, wheels):
    env = tiny_env(runs.sdk, wheels, name="gpu-env")
    env.python.conda_dependencies.add_conda_package("cudatoolkit=11.3")
    run = submit(runs, source, env)
    runs.execute(1)
    assert wait_terminal(run, timeout=120) == "Failed"
    message = run.get_details()["error"]["message"]
    assert "'cudatoolkit'" in message and "no pip equivalent" in message


def test_a_user_managed_environment_runs_on_the_submitters_interpreter(runs, source, tmp_path):
    (source / "train.py").write_text("import os, sys\nprint('python:', sys.executable)\n")
    env = runs.sdk.Environment("mine")
    env.python.user_managed_dependencies = True
    run = submit(runs, source, env)
    runs.execute(1)
    assert wait_terminal(run, timeout=120) == "Completed", run.get_details().get("error")
    assert f"python: {sys.executable}" in log_of(runs, run, "logs/std_log.txt")
    assert "azureml.environment.hash" not in run.get_properties()


def test_a_child_run_submitted_with_an_environment_runs_in_it(runs, source, wheels):
    parent = runs.sdk.Experiment(runs.ws, "envs").start_logging()
    config = runs.sdk.ScriptRunConfig(
        source_directory=str(source),
        script="train.py",
        compute_target=runs.target,
        environment=tiny_env(runs.sdk, wheels, name="child-env"),
    )
    child = parent.submit_child(config)
    runs.execute(1)
    assert wait_terminal(child, timeout=120) == "Completed", child.get_details().get("error")
    assert child.get_metrics() == {"tiny": 1.5}
    assert child.get_properties()["azureml.environment.name"] == "child-env"
    parent.complete()


def test_the_local_target_over_http_builds_the_environment_on_the_submitting_machine(
    jobs, rest_workspace, source, wheels
):
    """Over HTTP the ``local`` target's supervisor runs here and builds the venv here
    (through the API: Preparing, the build log, the environment's hash)."""
    runs = Runs(jobs, rest_workspace, "local", None)
    run = submit(runs, source, tiny_env(runs.sdk, wheels, name="tiny-local"))
    assert wait_terminal(run, timeout=120) == "Completed", run.get_details().get("error")
    assert run.get_metrics() == {"tiny": 1.5}
    props = run.get_properties()
    assert props["azureml.environment.name"] == "tiny-local"
    assert "azureml.environment.hash" in props
    log = log_of(runs, run, "logs/std_log.txt")
    assert f"/{props['azureml.environment.hash']}" in log.split("prefix: ", 1)[1].splitlines()[0]
    assert "preparing environment tiny-local:1" in log
    build = log_of(runs, run, "logs/environment_build.txt")
    assert "Successfully installed studio_tinypkg-1.5" in build


def test_over_http_a_missing_package_fails_the_local_run_with_pips_message(
    jobs, rest_workspace, source, wheels
):
    runs = Runs(jobs, rest_workspace, "local", None)
    env = tiny_env(runs.sdk, wheels, name="broken-local", packages=("studio_nosuchpkg==9",))
    run = submit(runs, source, env)
    assert wait_terminal(run, timeout=120) == "Failed"
    error = run.get_details()["error"]
    assert error["code"] == "environment_failed" and "studio_nosuchpkg" in error["message"]
