"""Unmodified MLflow scripts log into Studio through the real ``mlflow`` client;
each test reads what arrived back through ``studio.sdk`` (the REST store)."""

from __future__ import annotations

import math

import pytest

from studio.tracking.models import Run

pytestmark = pytest.mark.slow


def _sdk_run(sdk, workspace, run_hex: str):
    run = Run.objects.select_related("experiment").get(uuid=run_hex)
    return sdk.Run(sdk.Experiment(workspace, run.experiment.name), run.run_id)


def test_a_log_metric_loop_arrives_as_one_series_nan_included(sdk, rest_workspace, run_script):
    out = run_script(
        """
        import json, math
        import mlflow

        mlflow.set_experiment("mnist")
        with mlflow.start_run(run_name="first") as run:
            for step in range(5):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_metric("loss", math.nan, step=5)
            mlflow.log_metric("acc", 0.5)
        print(json.dumps({"run_id": run.info.run_id}))
        """
    )
    run = _sdk_run(sdk, rest_workspace, out["run_id"])
    loss = run.get_metrics()["loss"]
    assert loss[:5] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert math.isnan(loss[5])
    assert run.get_metrics()["acc"] == 0.5
    assert run.get_status() == "Completed"
    assert run.display_name == "first"
    assert run.get_details()["runId"] == run.id
    assert Run.objects.get(uuid=out["run_id"]).logged_with.startswith("mlflow 3.")


def test_params_become_properties_and_tags_tags(sdk, rest_workspace, run_script):
    out = run_script(
        """
        import json
        import mlflow

        with mlflow.start_run() as run:
            mlflow.log_params({"lr": 0.01, "layers": 3, "optimizer": "adam"})
            mlflow.log_param("lr", 0.01)  # the same value again is fine
            mlflow.set_tags({"quality": "great run", "team": "vision"})
            mlflow.set_tag("stage", "draft")
            mlflow.delete_tag("stage")
            try:
                mlflow.log_param("lr", 0.5)
                changed = "accepted"
            except mlflow.exceptions.MlflowException as exc:
                changed = exc.error_code
            fetched = mlflow.get_run(run.info.run_id)
        print(json.dumps({"run_id": run.info.run_id, "changed": changed,
                          "params": fetched.data.params, "tags": fetched.data.tags,
                          "experiment_id": run.info.experiment_id}))
        """
    )
    assert out["changed"] == "INVALID_PARAMETER_VALUE"
    run = _sdk_run(sdk, rest_workspace, out["run_id"])
    assert run.get_properties() == {"lr": "0.01", "layers": "3", "optimizer": "adam"}
    tags = run.get_tags()
    assert tags["quality"] == "great run" and tags["team"] == "vision"
    assert "stage" not in tags
    assert out["params"] == {"lr": "0.01", "layers": "3", "optimizer": "adam"}
    assert out["tags"]["quality"] == "great run"
    # No experiment set: MLflow's default experiment is Studio's "Default".
    assert run.experiment.name == "Default"
