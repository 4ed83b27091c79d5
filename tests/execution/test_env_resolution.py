"""What an environment definition resolves to before pip runs: conda packages as
pip requirements, v1's own packages left to Studio's SDK, Python pins checked."""

import sys

import pytest

from studio.execution.envs import BuildError, conda_to_pip, resolve


@pytest.mark.parametrize(
    "conda, pip",
    [
        ("scikit-learn", "scikit-learn"),
        ("numpy=1.26", "numpy==1.26.*"),
        ("numpy=1.26.4=py312h_0", "numpy==1.26.4.*"),
        ("numpy==1.26.4", "numpy==1.26.4"),
        ("pandas>=2", "pandas>=2"),
        ("matplotlib 3.8", "matplotlib==3.8.*"),
        ("conda-forge::pytorch=2.2", "torch==2.2.*"),
        ("py-xgboost", "xgboost"),
        ("pip", None),
        ("python", None),
    ],
)
def test_conda_packages_become_pip_requirements(conda, pip):
    assert conda_to_pip(conda) == pip


def test_a_conda_package_without_a_pip_equivalent_is_named():
    with pytest.raises(BuildError, match="'cudatoolkit' has no pip equivalent"):
        conda_to_pip("cudatoolkit=11.3")


def _definition(*deps, user_managed=False):
    return {
        "python": {
            "userManagedDependencies": user_managed,
            "condaDependencies": {"dependencies": list(deps)},
        }
    }


def test_v1s_own_packages_are_left_to_studio_and_noted():
    resolved = resolve(
        _definition("pip", {"pip": ["azureml-defaults", "azureml-core==1.50", "tqdm"]})
    )
    assert resolved.requirements == ["tqdm"]
    assert any("azureml-defaults: provided by Studio" in note for note in resolved.notes)


def test_a_python_pin_of_another_major_version_cannot_be_built():
    with pytest.raises(BuildError, match="pins python=2.7"):
        resolve(_definition("python=2.7"))


def test_a_python_pin_of_another_minor_version_is_noted():
    other = f"3.{sys.version_info.minor - 1}"
    resolved = resolve(_definition(f"python={other}"))
    assert resolved.python == f"3.{sys.version_info.minor}"
    assert any(f"python={other} is pinned" in note for note in resolved.notes)


def test_a_user_managed_environment_has_nothing_to_build():
    assert resolve(_definition("numpy", user_managed=True)) is None


def test_the_hash_follows_the_resolved_packages_not_their_spelling():
    a = resolve(_definition("numpy=1.26", {"pip": ["# a comment", "tqdm  # inline"]}))
    b = resolve(_definition("numpy=1.26", {"pip": ["tqdm"]}))
    c = resolve(_definition("numpy=1.25", {"pip": ["tqdm"]}))
    assert a.hash == b.hash != c.hash
