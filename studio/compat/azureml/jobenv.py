"""What a job needs for azureml-core's ``Run.get_context()`` to reach Studio."""

from __future__ import annotations

import os
from pathlib import Path

from studio.compat.azureml import PREFIX

JOBSITE = str(Path(__file__).resolve().parent / "jobsite")
# Runs the script, then flushes what azureml-core holds (jobsite/studio_job_main.py).
JOB_MAIN = str(Path(JOBSITE) / "studio_job_main.py")
# Azure's names for the scope in the client's URLs; only the workspace name is read.
ARM_PLACEHOLDER = "studio"


def command(python: str, script: str, arguments: list[str]) -> list[str]:
    """The command line of a job that azureml-core may log from: its script run by
    ``studio_job_main``, which flushes the client's queued values once it ends."""
    return [python, JOB_MAIN, script, *arguments]


def endpoint(server: str) -> str:
    """The service endpoint of the studio at ``server``."""
    return f"{server.rstrip('/')}/{PREFIX}"


def environment(run: dict, *, service: str, token: str, python_path: str) -> dict[str, str]:
    """The AZUREML_* variables of the job of ``run`` (its ``id``, ``workspace`` and
    ``experiment``), and a PYTHONPATH that starts with ``jobsite`` (uploads). The
    experiment's id is its name, which is unique in its workspace. No
    AZUREML_RUN_TOKEN_EXPIRY: the client reads the expiry from the token."""
    return {
        "AZUREML_RUN_ID": run["id"],
        "AZUREML_RUN_TOKEN": token,
        "AZUREML_SERVICE_ENDPOINT": service,
        "AZUREML_DISCOVERY_SERVICE_ENDPOINT": f"{service}/discovery",
        "AZUREML_ARM_SUBSCRIPTION": ARM_PLACEHOLDER,
        "AZUREML_ARM_RESOURCEGROUP": ARM_PLACEHOLDER,
        "AZUREML_ARM_WORKSPACE_NAME": run["workspace"],
        "AZUREML_ARM_PROJECT_NAME": run["experiment"],
        "AZUREML_EXPERIMENT_ID": run["experiment"],
        "PYTHONPATH": os.pathsep.join([JOBSITE, *[p for p in python_path.split(os.pathsep) if p]]),
    }
