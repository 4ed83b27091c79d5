"""v1's environment objects (Environment, CondaDependencies, RunConfiguration,
DockerConfiguration, ScriptRunConfig's keywords) and the workspace's registry of
environment versions, on both stores."""

from __future__ import annotations

import warnings

import pytest

from studio.errors import NotFound, ValidationError
from studio.sdk.recorded import StudioCompatibilityWarning

CONDA_YML = """\
name: sklearn-env
channels:
  - conda-forge
dependencies:
  - python=3.8
  - scikit-learn=1.5
  - pip
  - pip:
    - requests==2.31.0
"""


def test_conda_dependencies_create_lists_packages_as_v1_does(sdk):
    cd = sdk.CondaDependencies.create(
        pip_packages=["requests==2.31.0"], conda_packages=["scikit-learn"], python_version="3.8"
    )
    cd.add_pip_package("tqdm")
    cd.add_conda_package("numpy=1.26")
    cd.add_pip_package("requests==2.32.0")  # replaces the earlier pin, as in v1
    assert list(cd.pip_packages) == ["tqdm", "requests==2.32.0"]
    assert list(cd.conda_packages) == ["python=3.8", "scikit-learn", "numpy=1.26"]
    assert cd.get_python_version() == "3.8"
    text = cd.serialize_to_string()
    assert "- scikit-learn" in text and "- requests==2.32.0" in text
    cd.remove_pip_package("tqdm")
    assert list(cd.pip_packages) == ["requests==2.32.0"]
    with pytest.raises(ValidationError):
        cd.add_pip_package("--index-url x")


def test_create_without_pip_packages_keeps_v1s_default(sdk):
    assert list(sdk.CondaDependencies.create().pip_packages) == ["azureml-defaults"]


def test_from_conda_specification_and_from_pip_requirements_read_the_files(sdk, tmp_path):
    (tmp_path / "env.yml").write_text(CONDA_YML)
    (tmp_path / "requirements.txt").write_text("# pinned\nrequests==2.31.0\n\nnumpy>=1.26\n")
    conda = sdk.Environment.from_conda_specification("sk", tmp_path / "env.yml")
    assert conda.name == "sk"
    assert list(conda.python.conda_dependencies.conda_packages) == [
        "python=3.8",
        "scikit-learn=1.5",
        "pip",
    ]
    assert list(conda.python.conda_dependencies.pip_packages) == ["requests==2.31.0"]
    assert conda.python.user_managed_dependencies is False
    pip = sdk.Environment.from_pip_requirements("reqs", tmp_path / "requirements.txt")
    assert "requests==2.31.0" in pip.python.conda_dependencies.pip_packages
    assert "numpy>=1.26" in pip.python.conda_dependencies.pip_packages


def test_a_conda_file_with_an_unknown_key_is_refused(sdk, tmp_path):
    (tmp_path / "env.yml").write_text("name: x\nimage: ubuntu\n")
    with pytest.raises(ValidationError, match="unknown image key"):
        sdk.Environment.from_conda_specification("x", tmp_path / "env.yml")


def test_an_environment_serializes_with_v1s_keys_and_round_trips(sdk):
    env = sdk.Environment("myenv")
    env.python.interpreter_path = "/opt/python"
    env.docker.base_image_registry.password = "hunter2"
    data = env._serialize_to_dict()
    assert data["python"]["userManagedDependencies"] is False
    assert data["environmentVariables"] == {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
    assert data["docker"]["baseImage"] == sdk.DEFAULT_CPU_IMAGE
    assert data["docker"]["baseImageRegistry"]["password"] is None  # never recorded
    back = sdk.Environment._deserialize_and_add_to_object(data)
    assert back._serialize_to_dict() == data


def test_script_run_config_takes_v1s_keywords_and_run_config_is_settable(sdk):
    env = sdk.Environment("e")
    rc = sdk.RunConfiguration()
    src = sdk.ScriptRunConfig(
        source_directory=".",
        script="train.py",
        arguments=["--lr", 0.1],
        run_config=rc,
        compute_target=sdk.Workspace.from_config().compute_targets["gpu-cluster"],
        environment=env,
        docker_runtime_config=sdk.DockerConfiguration(use_docker=True),
        distributed_job_config=sdk.MpiConfiguration(node_count=2),
    )
    assert src.run_config is rc
    assert src.compute_target == "gpu-cluster" and rc.target == "gpu-cluster"
    assert rc.environment is env and src.arguments == ["--lr", "0.1"]
    other = sdk.Environment("other")
    src.run_config.environment = other  # as v1 samples do before submit
    src.run_config.target = "local"
    assert src.compute_target == "local"
    assert src.run_config.environment is other


def test_docker_and_distributed_settings_are_recorded_and_warned_once(sdk):
    from studio.sdk import recorded

    recorded._warned.clear()
    env = sdk.Environment("docker-env")
    env.docker.base_image = "myregistry.azurecr.io/custom:1"
    rc = sdk.RunConfiguration()
    rc.environment = env
    rc.node_count = 4
    rc.docker = sdk.DockerConfiguration(use_docker=True)
    rc._distributed_job_config = sdk.PyTorchConfiguration(node_count=4)
    with pytest.warns(StudioCompatibilityWarning) as caught:
        props = rc.recorded_properties()
    assert props["azureml.docker.base_image"] == "myregistry.azurecr.io/custom:1"
    assert props["azureml.node_count"] == "4"
    assert '"use_docker": true' in props["azureml.docker.configuration"]
    assert '"type": "PyTorchConfiguration"' in props["azureml.distributed"]
    assert len(caught) == 4
    assert all("\n" not in str(w.message) for w in caught)  # one line each
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rc.recorded_properties() == props  # not warned again


def test_run_configurations_untouched_default_needs_no_environment(sdk):
    rc = sdk.RunConfiguration()
    assert rc.environment._for_submit() is None  # the submitter's interpreter
    rc.environment.python.conda_dependencies.add_pip_package("requests")
    assert rc.environment._for_submit() is not None
    explicit = sdk.RunConfiguration()
    explicit.environment.python.user_managed_dependencies = False
    assert explicit.environment._for_submit() is not None


def test_register_versions_an_environment_per_name(ws, sdk):
    env = sdk.Environment("team-env")
    first = env.register(ws)
    assert (first.name, first.version) == ("team-env", "1")
    assert env.register(ws).version == "1"  # nothing changed: same version
    env.python.conda_dependencies.add_pip_package("requests==2.31.0")
    second = env.register(ws)
    assert second.version == "2"
    assert "requests==2.31.0" in second.python.conda_dependencies.pip_packages
    latest = sdk.Environment.get(ws, "team-env")
    assert latest.version == "2"
    assert "requests==2.31.0" in latest.python.conda_dependencies.pip_packages
    old = sdk.Environment.get(ws, "team-env", version="1")
    assert "requests==2.31.0" not in old.python.conda_dependencies.pip_packages
    assert {name: e.version for name, e in sdk.Environment.list(ws).items()} == {"team-env": "2"}


def test_getting_an_environment_that_does_not_exist_raises_not_found(ws, sdk):
    sdk.Environment("known").register(ws)
    with pytest.raises(NotFound):
        sdk.Environment.get(ws, "unknown")
    with pytest.raises(NotFound):
        sdk.Environment.get(ws, "known", version="7")


def test_an_environment_with_a_bad_name_or_variable_is_refused_and_nothing_is_kept(ws, sdk):
    with pytest.raises(ValidationError):
        sdk.Environment("../etc").register(ws)
    env = sdk.Environment("vars")
    env.environment_variables = {"STUDIO_TOKEN": "stolen"}
    with pytest.raises(ValidationError, match="set by Studio"):
        env.register(ws)
    assert sdk.Environment.list(ws) == {}


def test_submitting_records_the_environment_and_registers_it(ws, sdk, tmp_path):
    # A named target: over HTTP the run waits for a worker, so nothing runs here.
    (tmp_path / "train.py").write_text("print('hi')\n")
    env = sdk.Environment("submitted-env")
    env.python.user_managed_dependencies = True
    src = sdk.ScriptRunConfig(
        source_directory=str(tmp_path), script="train.py", compute_target="pool", environment=env
    )
    run = sdk.Experiment(ws, "env-exp").submit(src, tags={"t": "1"})
    props = run.get_properties()
    assert props["azureml.environment.name"] == "submitted-env"
    assert props["azureml.environment.version"] == "1"
    assert sdk.Environment.get(ws, "submitted-env").python.user_managed_dependencies is True
    run.cancel()


def test_the_workspace_lists_its_environments_by_name_as_v1_does(ws, sdk):
    env = sdk.Environment("listed")
    env.python.user_managed_dependencies = True
    env.register(ws)
    found = ws.environments
    assert "listed" in found and found["listed"].name == "listed"
    assert found["listed"].python.user_managed_dependencies is True
