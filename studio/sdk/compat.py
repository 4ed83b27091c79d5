"""Azure ML SDK v1 names and what Studio does with each: the README's compatibility
table is rendered from ``V1`` (``python -m studio.sdk.compat``), and
tests/sdk/test_compat.py checks the table against the code: every name marked
supported or recorded resolves in ``studio.sdk``, every name marked not supported
does not (no stub stands in for it), and the README holds the table as rendered.

Statuses:
- ``supported``: does what v1 does, with v1's signature and return shape.
- ``recorded``: accepted (never raises on v1's keywords), recorded on the run or the
  target, one warning; what it asks for needs Azure (the note says why).
- ``not supported``: not importable; the note says what to do instead.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

SUPPORTED, RECORDED, NOT_SUPPORTED = "supported", "recorded", "not supported"


@dataclass(frozen=True)
class Name:
    v1: str  # where v1 code imports or calls it
    studio: str  # its path under studio.sdk ("" when not supported)
    status: str
    note: str = ""


def _run(*methods: str) -> list[Name]:
    return [Name(f"azureml.core.Run.{m}", f"Run.{m}", SUPPORTED) for m in methods]


V1: list[Name] = [
    # --- workspace --------------------------------------------------------------------
    Name("azureml.core.Workspace", "Workspace", SUPPORTED),
    Name("azureml.core.Workspace.from_config", "Workspace.from_config", SUPPORTED,
         "reads `.studio/config.json` (a file or the folder holding it)"),
    Name("azureml.core.Workspace.get", "Workspace.get", SUPPORTED),
    Name("azureml.core.Workspace.get_details", "Workspace.get_details", SUPPORTED),
    Name("azureml.core.Workspace.experiments", "Workspace.experiments", SUPPORTED),
    Name("azureml.core.Workspace.compute_targets", "Workspace.compute_targets", SUPPORTED),
    Name("azureml.core.Workspace.create", "Workspace.create", SUPPORTED,
         "the caller becomes its owner; Azure resource arguments are ignored with a warning"),
    Name("azureml.core.authentication.InteractiveLoginAuthentication", "", NOT_SUPPORTED,
         "Studio signs in with an API token: set `STUDIO_TOKEN`, drop the auth object"),
    Name("azureml.core.authentication.ServicePrincipalAuthentication", "", NOT_SUPPORTED,
         "Studio signs in with an API token: set `STUDIO_TOKEN`, drop the auth object"),
    # --- experiments and runs ---------------------------------------------------------
    Name("azureml.core.Experiment", "Experiment", SUPPORTED),
    Name("azureml.core.Experiment.list", "Experiment.list", SUPPORTED),
    Name("azureml.core.Experiment.submit", "Experiment.submit", SUPPORTED),
    Name("azureml.core.Experiment.start_logging", "Experiment.start_logging", SUPPORTED),
    Name("azureml.core.Experiment.get_runs", "Experiment.get_runs", SUPPORTED),
    Name("azureml.core.Experiment.get_portal_url", "Experiment.get_portal_url", SUPPORTED,
         "the studio's URL of the experiment"),
    Name("azureml.core.Run", "Run", SUPPORTED),
    Name("azureml.core.Run.get_context", "Run.get_context", SUPPORTED,
         "outside a job: an offline run that prints what it would have done"),
    Name("azureml.core.Run.get", "Run.get", SUPPORTED),
    Name("azureml.core.Run.list", "Run.list", SUPPORTED),
    *_run(
        "log", "log_list", "log_row", "log_table", "log_image", "tag", "set_tags",
        "remove_tags", "get_tags", "add_properties", "get_properties", "get_metrics",
        "get_status", "get_details", "get_details_with_logs", "get_all_logs",
        "get_portal_url", "upload_file", "upload_files", "upload_folder", "download_file",
        "download_files", "get_file_names", "restore_snapshot", "child_run",
        "create_children", "get_children", "submit_child", "wait_for_completion",
        "complete", "fail", "cancel", "flush", "register_model",
    ),
    Name("azureml.core.Run.name", "Run.name", SUPPORTED, "settable: the display name"),
    Name("azureml.core.Run.get_environment", "Run.get_environment", SUPPORTED),
    Name("azureml.core.Run.display_name", "Run.display_name", SUPPORTED),
    Name("azureml.core.Run.description", "Run.description", SUPPORTED),
    # --- configuration and environments -----------------------------------------------
    Name("azureml.core.ScriptRunConfig", "ScriptRunConfig", SUPPORTED),
    Name("azureml.core.RunConfiguration", "RunConfiguration", SUPPORTED),
    Name("azureml.core.Environment", "Environment", SUPPORTED,
         "not user-managed: runs in a virtual environment built from its packages"),
    Name("azureml.core.Environment.from_pip_requirements",
         "Environment.from_pip_requirements", SUPPORTED),
    Name("azureml.core.Environment.from_conda_specification",
         "Environment.from_conda_specification", SUPPORTED,
         "conda packages installed with pip under their pip names"),
    Name("azureml.core.Environment.get", "Environment.get", SUPPORTED),
    Name("azureml.core.Environment.register", "Environment.register", SUPPORTED),
    Name("azureml.core.conda_dependencies.CondaDependencies", "CondaDependencies", SUPPORTED),
    Name("azureml.core.runconfig.DockerConfiguration", "DockerConfiguration", RECORDED,
         "jobs run in a virtual environment, not a container"),
    Name("azureml.core.runconfig.MpiConfiguration", "MpiConfiguration", RECORDED,
         "one process per run: multi-node jobs need a cluster scheduler (issue 13)"),
    Name("azureml.core.runconfig.PyTorchConfiguration", "PyTorchConfiguration", RECORDED,
         "one process per run: multi-node jobs need a cluster scheduler (issue 13)"),
    Name("azureml.core.environment.DockerSection", "DockerSection", RECORDED,
         "jobs run in a virtual environment built from the packages, not an image"),
    Name("azureml.core.Workspace.models", "Workspace.models", SUPPORTED),
    Name("azureml.core.Workspace.environments", "Workspace.environments", SUPPORTED),
    Name("azureml.core.compute.ComputeTarget.create", "ComputeTarget.create", SUPPORTED),
    Name("azureml.core.compute.AmlCompute.provisioning_configuration",
         "AmlCompute.provisioning_configuration", RECORDED,
         "returns the configuration ComputeTarget.create records"),
    # --- compute ------------------------------------------------------------------------
    Name("azureml.core.compute.ComputeTarget", "ComputeTarget", SUPPORTED,
         "a named pool served by `studio worker --target NAME`"),
    Name("azureml.core.compute.AmlCompute", "AmlCompute", RECORDED,
         "`max_nodes` becomes the target's parallel steps; VM size and priority need "
         "Azure: the target runs where `studio worker --target NAME` runs"),
    Name("azureml.core.compute_target.ComputeTargetException",
         "ComputeTargetException", SUPPORTED),
    Name("azureml.core.compute.RemoteCompute", "", NOT_SUPPORTED,
         "start `studio worker --target NAME` on the remote machine"),
    # --- pipelines ----------------------------------------------------------------------
    Name("azureml.pipeline.core.Pipeline", "Pipeline", SUPPORTED),
    Name("azureml.pipeline.steps.PythonScriptStep", "PythonScriptStep", SUPPORTED),
    Name("azureml.pipeline.core.PipelineRun", "PipelineRun", SUPPORTED),
    Name("azureml.pipeline.core.StepRun", "StepRun", SUPPORTED),
    Name("azureml.pipeline.core.PipelineData", "", NOT_SUPPORTED,
         "pass paths between steps as arguments; steps share the run's files"),
    Name("azureml.pipeline.core.PipelineParameter", "PipelineParameter", SUPPORTED,
         "its value (submitted or default) replaces it in the step's arguments"),
    Name("azureml.pipeline.steps.StepSequence", "StepSequence", SUPPORTED),
    Name("azureml.pipeline.core.Pipeline.validate", "Pipeline.validate", SUPPORTED),
    Name("azureml.pipeline.core.PipelineRun.find_step_run", "PipelineRun.find_step_run",
         SUPPORTED),
    Name("azureml.pipeline.core.PipelineRun.get_steps", "PipelineRun.get_steps", SUPPORTED),
    Name("azureml.pipeline.core.Schedule", "", NOT_SUPPORTED,
         "schedule `studio run submit` with cron"),
    Name("azureml.pipeline.core.PublishedPipeline", "", NOT_SUPPORTED,
         "submit the pipeline from code or the CLI"),
    # --- models ------------------------------------------------------------------------
    Name("azureml.core.Model", "Model", SUPPORTED),
    Name("azureml.core.Model.register", "Model.register", SUPPORTED),
    Name("azureml.core.Model.list", "Model.list", SUPPORTED),
    Name("azureml.core.Model.download", "Model.download", SUPPORTED),
    Name("azureml.core.model.InferenceConfig", "", NOT_SUPPORTED,
         "deployment is out of Studio's scope: download the model and serve it"),
    Name("azureml.core.webservice.AciWebservice", "", NOT_SUPPORTED,
         "deployment is out of Studio's scope: download the model and serve it"),
    # --- data ---------------------------------------------------------------------------
    Name("azureml.core.Dataset", "", NOT_SUPPORTED,
         "read data with pandas or from the job's snapshot; upload outputs as run files"),
    Name("azureml.core.Datastore", "", NOT_SUPPORTED,
         "run files go to Studio's storage (local disk or S3)"),
    # --- widgets, exceptions, odds and ends ----------------------------------------------
    Name("azureml.widgets.RunDetails", "RunDetails", SUPPORTED,
         "HTML in Jupyter (ipywidgets if installed), one line with the URL elsewhere"),
    Name("azureml.exceptions.ActivityFailedException", "ActivityFailedException", SUPPORTED),
    Name("azureml.exceptions.UserErrorException", "UserErrorException", SUPPORTED),
    Name("azureml.exceptions.AzureMLException", "AzureMLException", SUPPORTED),
    Name("azureml.core.set_diagnostics_collection", "set_diagnostics_collection", SUPPORTED,
         "Studio sends no telemetry: nothing to switch"),
    Name("azureml.train.hyperdrive.HyperDriveConfig", "", NOT_SUPPORTED,
         "submit one child run per setting (`run.submit_child`) and compare them"),
    Name("azureml.train.automl.AutoMLConfig", "", NOT_SUPPORTED,
         "train with scikit-learn and log each candidate as a child run"),
]  # fmt: skip


def resolve(path: str):
    """The object at ``path`` under ``studio.sdk`` (``Run.get_context``), or raise
    AttributeError."""
    import studio.sdk

    found = studio.sdk
    for part in path.split("."):
        found = getattr(found, part)
    return found


def markdown() -> str:
    lines = [
        "| v1 name | Studio | notes |",
        "| --- | --- | --- |",
    ]
    for name in V1:
        where = f"`studio.sdk.{name.studio}`" if name.studio else "—"
        status = name.status if not name.studio else f"{name.status}: {where}"
        lines.append(f"| `{name.v1}` | {status} | {name.note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
