"""Bad input through the real ``mlflow`` client: MLflow's own exceptions with the
right error code, and nothing stored."""

from __future__ import annotations

import pytest

from studio.accounts.models import Role
from studio.accounts.services import token_create
from studio.tracking.models import MetricSummary, Run, RunProperty, RunTag, Workspace
from tests.factories import MembershipFactory, WorkspaceFactory

pytestmark = pytest.mark.slow


def _stored(run_hex: str) -> tuple:
    run = Run.objects.get(uuid=run_hex)
    return (
        sorted(RunProperty.objects.filter(run=run).values_list("key", "value")),
        sorted(RunTag.objects.filter(run=run).values_list("key", "value")),
        sorted(MetricSummary.objects.filter(run=run).values_list("name", "count")),
        run.status,
    )


def test_log_batch_above_mlflows_limits_raises_and_stores_nothing(run_script):
    out = run_script(
        """
        import json, time
        import mlflow
        from mlflow import MlflowClient
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.exceptions import MlflowException

        client = MlflowClient()
        exp = client.create_experiment("limits")
        run = client.create_run(exp)
        rid = run.info.run_id
        now = int(time.time() * 1000)
        client.log_param(rid, "kept", "1")
        calls = {
            "metrics": dict(metrics=[Metric("m", i, now, i) for i in range(1001)]),
            "params": dict(params=[Param(f"p{i}", "v") for i in range(101)]),
            "tags": dict(tags=[RunTag(f"t{i}", "v") for i in range(101)]),
            # within the limits, but one param changes a stored one: all refused
            "conflict": dict(metrics=[Metric("m", 1.0, now, 0)],
                             params=[Param("kept", "2")], tags=[RunTag("t", "v")]),
        }
        codes = {}
        for name, kwargs in calls.items():
            try:
                # the client's own split is bypassed: one request per call
                client._tracking_client.store.log_batch(rid, **{"metrics": [], "params": [],
                                                               "tags": [], **kwargs})
                codes[name] = "accepted"
            except MlflowException as exc:
                codes[name] = exc.error_code
        print(json.dumps({"run_id": rid, "codes": codes}))
        """
    )
    assert out["codes"] == {
        "metrics": "INVALID_PARAMETER_VALUE",
        "params": "INVALID_PARAMETER_VALUE",
        "tags": "INVALID_PARAMETER_VALUE",
        "conflict": "INVALID_PARAMETER_VALUE",
    }
    assert _stored(out["run_id"]) == ([("kept", "1")], [], [], "Running")


def test_unknown_runs_and_another_workspaces_token_raise_mlflows_exceptions(
    run_script, transactional_db
):
    charlie = MembershipFactory(
        user__username="charlie", workspace=WorkspaceFactory(name="other-team"), role=Role.OWNER
    ).user
    _, outsider = token_create(user=charlie, name="other")
    dave = MembershipFactory(
        user__username="dave", workspace=Workspace.objects.get(name="default"), role=Role.READER
    ).user
    _, reader = token_create(user=dave, name="reader")
    out = run_script(
        f"""
        import json, os
        import mlflow
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        def code(call):
            try:
                call()
                return "accepted"
            except MlflowException as exc:
                return exc.error_code

        client = MlflowClient()
        exp = client.create_experiment("private")
        rid = client.create_run(exp).info.run_id
        codes = {{
            "unknown run": code(lambda: client.log_metric("0" * 32, "m", 1.0)),
            "malformed run id": code(lambda: client.get_run("not-a-run")),
            "unknown experiment": code(lambda: client.get_experiment("999999")),
            "taken experiment name": code(lambda: client.create_experiment("private")),
            "invalid name": code(lambda: client.create_experiment("has spaces/and slashes")),
        }}
        os.environ["MLFLOW_TRACKING_TOKEN"] = {outsider!r}
        codes["outsider get"] = code(lambda: client.get_run(rid))
        codes["outsider log"] = code(lambda: client.log_metric(rid, "m", 1.0))
        codes["outsider experiment"] = code(lambda: client.get_experiment(exp))
        os.environ["MLFLOW_TRACKING_TOKEN"] = {reader!r}
        codes["reader log"] = code(lambda: client.log_param(rid, "p", "1"))
        codes["reader get"] = code(lambda: client.get_run(rid).info.run_id == rid)
        os.environ["MLFLOW_TRACKING_TOKEN"] = "not-a-token"
        codes["no token"] = code(lambda: client.get_run(rid))
        print(json.dumps({{"run_id": rid, "codes": codes}}))
        """
    )
    assert out["codes"] == {
        "unknown run": "RESOURCE_DOES_NOT_EXIST",
        "malformed run id": "RESOURCE_DOES_NOT_EXIST",
        "unknown experiment": "RESOURCE_DOES_NOT_EXIST",
        "taken experiment name": "RESOURCE_ALREADY_EXISTS",
        "invalid name": "INVALID_PARAMETER_VALUE",
        "outsider get": "RESOURCE_DOES_NOT_EXIST",
        "outsider log": "RESOURCE_DOES_NOT_EXIST",
        "outsider experiment": "RESOURCE_DOES_NOT_EXIST",
        "reader log": "PERMISSION_DENIED",
        "reader get": "accepted",
        "no token": "UNAUTHENTICATED",
    }
    assert _stored(out["run_id"]) == ([], [], [], "Running")


def test_a_token_of_a_user_in_several_workspaces_must_be_narrowed_to_one(
    run_script, api_user, transactional_db
):
    MembershipFactory(user=api_user, workspace=WorkspaceFactory(name="second"), role=Role.OWNER)
    out = run_script(
        """
        import json
        import mlflow
        from mlflow.exceptions import MlflowException

        try:
            mlflow.set_experiment("anywhere")
            print(json.dumps({"code": "accepted"}))
        except MlflowException as exc:
            print(json.dumps({"code": exc.error_code, "message": exc.message}))
        """
    )
    assert out["code"] == "INVALID_PARAMETER_VALUE"
    assert "narrowed" in out["message"] and "second" in out["message"]
    assert Run.objects.count() == 0
