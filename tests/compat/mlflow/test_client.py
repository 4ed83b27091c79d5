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


def test_nested_runs_are_child_runs(sdk, rest_workspace, run_script):
    out = run_script(
        """
        import json
        import mlflow

        mlflow.set_experiment("sweep")
        with mlflow.start_run(run_name="parent") as parent:
            for lr in (0.1, 0.01):
                with mlflow.start_run(run_name=f"lr-{lr}", nested=True):
                    mlflow.log_param("lr", lr)
                    mlflow.log_metric("loss", lr * 2)
        children = mlflow.search_runs(
            filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
            output_format="list",
        )
        finished = mlflow.search_runs(
            filter_string="attributes.status = 'FINISHED' and params.lr = '0.1'",
            output_format="list",
        )
        print(json.dumps({"run_id": parent.info.run_id,
                          "children": sorted(r.info.run_name for r in children),
                          "finished": [r.info.run_name for r in finished]}))
        """
    )
    parent = _sdk_run(sdk, rest_workspace, out["run_id"])
    children = parent.get_children()
    assert sorted(c.display_name for c in children) == ["lr-0.01", "lr-0.1"]
    assert {c.get_properties()["lr"] for c in children} == {"0.1", "0.01"}
    assert {c.get_metrics()["loss"] for c in children} == {0.2, 0.02}
    assert all(c.get_status() == "Completed" for c in children)
    assert out["children"] == ["lr-0.01", "lr-0.1"]
    assert out["finished"] == ["lr-0.1"]


def test_log_artifact_lands_in_outputs_and_downloads_back(
    sdk, rest_workspace, run_script, tmp_path
):
    out = run_script(
        """
        import json, os
        import mlflow

        os.makedirs("plots", exist_ok=True)
        with open("notes.txt", "w") as f:
            f.write("hello from mlflow")
        with open("plots/curve.csv", "w") as f:
            f.write("step,loss\\n0,1.0\\n")
        with mlflow.start_run() as run:
            mlflow.log_artifact("notes.txt")
            mlflow.log_artifacts("plots", artifact_path="plots")
            mlflow.log_text("inline", "texts/inline.txt")
        listed = [f.path for f in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)]
        back = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path="back")
        print(json.dumps({
            "run_id": run.info.run_id,
            "artifact_uri": run.info.artifact_uri,
            "listed": sorted(listed),
            "notes": open(os.path.join(back, "notes.txt")).read(),
            "curve": open(os.path.join(back, "plots", "curve.csv")).read(),
        }))
        """
    )
    assert out["artifact_uri"].startswith("mlflow-artifacts:/")
    run = _sdk_run(sdk, rest_workspace, out["run_id"])
    names = run.get_file_names()
    assert {"outputs/notes.txt", "outputs/plots/curve.csv", "outputs/texts/inline.txt"} <= set(
        names
    )
    run.download_file("outputs/notes.txt", output_file_path=str(tmp_path / "n.txt"))
    assert (tmp_path / "n.txt").read_text() == "hello from mlflow"
    assert out["listed"] == ["notes.txt", "plots", "texts"]
    assert out["notes"] == "hello from mlflow"
    assert out["curve"] == "step,loss\n0,1.0\n"


def test_sklearn_autolog_logs_params_metrics_and_the_model(sdk, rest_workspace, run_script):
    out = run_script(
        """
        import json
        import mlflow
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        mlflow.sklearn.autolog()
        X, y = load_iris(return_X_y=True)
        with mlflow.start_run() as run:
            LogisticRegression(max_iter=200, C=0.5).fit(X, y)
        print(json.dumps({"run_id": run.info.run_id}))
        """
    )
    run = _sdk_run(sdk, rest_workspace, out["run_id"])
    props = run.get_properties()
    assert props["C"] == "0.5" and props["max_iter"] == "200"
    metrics = run.get_metrics()
    assert 0.9 < metrics["training_accuracy_score"] <= 1.0
    assert run.get_tags()["estimator_name"] == "LogisticRegression"
    assert run.get_status() == "Completed"
    # MLflow 3's logged model: its files are the run's, its record ready.
    models = [n for n in run.get_file_names() if n.startswith("outputs/models/m-")]
    assert any(n.endswith("/MLmodel") for n in models)
    assert any(n.endswith("/model.pkl") for n in models)
    record = [v for k, v in run.get_tags().items() if k.startswith("mlflow.loggedModel.")]
    assert len(record) == 1 and '"LOGGED_MODEL_READY"' in record[0]


def test_delete_run_is_a_soft_delete_restore_brings_it_back(sdk, rest_workspace, run_script):
    script = """
        import json, sys
        import mlflow
        from mlflow import MlflowClient
        from mlflow.entities import ViewType
        from mlflow.exceptions import MlflowException

        def code(call):
            try:
                call()
                return "accepted"
            except MlflowException as exc:
                return exc.error_code

        client = MlflowClient()
        exp = mlflow.set_experiment("cleanup").experiment_id

        def names(view):
            runs = client.search_runs([exp], run_view_type=view)
            return sorted(r.info.run_name for r in runs)

        if sys.argv[-1] == "delete":
            with mlflow.start_run(run_name="keep"):
                mlflow.log_metric("loss", 0.5)
            with mlflow.start_run(run_name="drop") as drop:
                mlflow.log_metric("loss", 0.9)
            rid = drop.info.run_id
            client.delete_run(rid)
            fetched = client.get_run(rid)
            print(json.dumps({
                "run_id": rid,
                "stage": fetched.info.lifecycle_stage,
                "tags": sorted(fetched.data.tags),
                "active": names(ViewType.ACTIVE_ONLY),
                "default": sorted(r.info.run_name for r in mlflow.search_runs(
                    [exp], output_format="list")),
                "deleted": names(ViewType.DELETED_ONLY),
                "all": names(ViewType.ALL),
                "codes": {
                    "log to deleted": code(lambda: client.log_metric(rid, "loss", 1.0)),
                    "tag deleted": code(lambda: client.set_tag(rid, "note", "x")),
                    "delete again": code(lambda: client.delete_run(rid)),
                    "set the stage tag": code(lambda: mlflow.MlflowClient().set_tag(
                        client.search_runs([exp])[0].info.run_id,
                        "mlflow.lifecycleStage", "deleted")),
                    "rename experiment": code(lambda: client.rename_experiment(exp, "x")),
                    "experiment tag": code(lambda: client.set_experiment_tag(exp, "k", "v")),
                },
            }))
        else:
            rid = sys.argv[-1]
            client.restore_run(rid)
            client.set_tag(rid, "note", "restored")
            print(json.dumps({
                "stage": client.get_run(rid).info.lifecycle_stage,
                "active": names(ViewType.ACTIVE_ONLY),
                "deleted": names(ViewType.DELETED_ONLY),
            }))
        """
    out = run_script(script + "\n", args=["delete"])
    assert out["stage"] == "deleted"
    assert "mlflow.lifecycleStage" not in out["tags"]  # MLflow shows it as the stage
    assert out["active"] == out["default"] == ["keep"]
    assert out["deleted"] == ["drop"]
    assert out["all"] == ["drop", "keep"]
    assert out["codes"] == {
        "log to deleted": "INVALID_PARAMETER_VALUE",
        "tag deleted": "INVALID_PARAMETER_VALUE",
        "delete again": "accepted",
        "set the stage tag": "INVALID_PARAMETER_VALUE",
        "rename experiment": "ENDPOINT_NOT_FOUND",
        "experiment tag": "ENDPOINT_NOT_FOUND",
    }
    # Studio keeps the run, listed with the tag; its filter language finds it.
    experiment = sdk.Experiment(rest_workspace, "cleanup")
    dropped = _sdk_run(sdk, rest_workspace, out["run_id"])
    assert dropped.get_tags()["mlflow.lifecycleStage"] == "deleted"
    assert dropped.get_metrics()["loss"] == 0.9
    assert "note" not in dropped.get_tags()  # the refused write stored nothing
    listed = [r.id for r in experiment.get_runs(filter="has tags.'mlflow.lifecycleStage'")]
    assert listed == [dropped.id]
    assert len(list(experiment.get_runs())) == 2

    out = run_script(script + "\n", args=[out["run_id"]])
    assert out == {"stage": "active", "active": ["drop", "keep"], "deleted": []}
    assert "mlflow.lifecycleStage" not in dropped.get_tags()
    assert dropped.get_tags()["note"] == "restored"
