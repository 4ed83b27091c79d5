"""Route policy (see test_declared.py): compat."""

import json

from django.test import Client
from django.urls import get_resolver

import studio.urls  # noqa: F401  (every API module registered before operations are listed)
from studio.tracking import services
from studio.tracking.models import Run
from tests.figures import report
from tests.routes.common import (
    _api_client,
    _named,
    _only_charlies_own_changes,
    _state,
)

# --- azureml-core's routes (studio.compat.azureml): a job's run token ------------------

_AZ = (
    "subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/"
    "workspaces/default"
)


def _azureml_urls(run_id: str, experiment: str) -> dict[str, tuple[str, str]]:
    """(method, URL) of every azureml route but discovery, naming ``run_id``."""
    h, m, a = (f"/azureml/{s}/{_AZ}" for s in ("history/v1.0", "metric/v2.0", "artifact/v2.0"))
    run = f"{h}/experimentids/{experiment}/runs/{run_id}"
    box = f"ExperimentRun/dcid.{run_id}"
    return {
        "azureml-run": ("PATCH", run),
        "azureml-run-details": ("GET", run + "/details"),
        "azureml-run-children": ("GET", run + "/children"),
        "azureml-run-events": ("POST", run + "/events"),
        "azureml-token": ("GET", run + "/token"),
        "azureml-metrics-wait": ("GET", run + "/metricsingest/wait"),
        "azureml-runs-batch": ("PATCH", f"{h}/experiments/{experiment}/batch/runs"),
        "azureml-events-batch": ("POST", f"{h}/experiments/{experiment}/batch/events"),
        "azureml-metrics-batch": ("POST", f"{m}/runs/{run_id}/batch"),
        "azureml-metrics-list": ("POST", f"{m}/runs/{run_id}/list"),
        "azureml-metrics-full": ("POST", f"{m}/runs/{run_id}/full"),
        "azureml-artifacts-create": ("POST", f"{a}/artifacts/batch/metadata/{box}"),
        "azureml-artifacts-prefix": ("GET", f"{a}/artifacts/prefix/contentinfo/{box}/outputs"),
        "azureml-artifact-info": ("GET", f"{a}/artifacts/contentinfo/{box}/outputs/a.txt"),
        "azureml-artifact-content": ("GET", f"{a}/artifacts/content/{box}/outputs/a.txt"),
        "azureml-artifacts-list": ("GET", f"{a}/artifacts/{box}"),
        "azureml-content": ("PUT", f"/azureml/content/{run_id}/outputs/a.txt?token=x"),
    }


# A body that would change the run if it were let through.
_AZ_BODY = {
    "tags": {"owned": "yes"},
    "runs": [{"runId": "taken-over", "parentRunId": None}],
    "events": [{"name": "Microsoft.MachineLearning.Run.Canceled", "data": {}}],
    "name": "Microsoft.MachineLearning.Run.Canceled",
    "values": [],
    "paths": [{"path": "outputs/owned.txt"}],
    "metricName": "m",
}


def test_every_azureml_route_refuses_a_token_of_another_run_and_no_token(world, owner):
    from studio.compat.azureml import tokens

    run = world["run"]
    names = {p.name for p in _named(get_resolver()) if (p.name or "").startswith("azureml-")}
    urls = _azureml_urls(run.run_id, run.experiment.name)
    assert names - {"azureml-discovery"} == set(urls)  # a new route needs a line here
    other = services.run_create(experiment=run.experiment, submitted_by="alice")
    from studio.accounts.services import run_token_create

    jwt_of_other = tokens.mint_for_secret(run_token_create(run=other))
    body = dict(
        _AZ_BODY,
        runs=[{"runId": "taken-over", "parentRunId": run.run_id}],
        events=[{**_AZ_BODY["events"][0], "data": {"RunId": run.run_id}}],
    )
    before = _state()
    for name, (method, url) in urls.items():
        for headers, refused in (
            ({}, 401),
            ({"HTTP_AUTHORIZATION": f"Bearer {jwt_of_other}"}, 404),
        ):
            if name == "azureml-content":  # its token is in the URL, for one file
                url = url.replace("token=x", f"token={jwt_of_other}") if headers else url
                refused = 401
            response = Client(**headers).generic(
                method, url, json.dumps(body), content_type="application/json"
            )
            if name == "azureml-events-batch" and headers:  # reports each event's error
                assert response.status_code == 200, response.content[:200]
                error = response.json()["errors"][0]["error"]["error"]
                assert error["innerError"]["code"] == "not_found", error
                continue
            assert response.status_code == refused, (name, headers, response.content[:200])
            assert response.json()["error"]["code"] == "UserError"
    assert _state() == before
    assert not Run.objects.filter(run_id="taken-over").exists()
    report(f"routes: {len(urls)} azureml routes refuse no token (401) and another run's (404)")


# --- MLflow's tracking API (studio.compat.mlflow) ------------------------------------


def _mlflow_routes(world):
    """(method, url, body, content type, view) of every MLflow route, naming objects
    of "default": the world's run (its uuid) and experiment, a logged model of it."""
    from studio.compat.mlflow import urls as mlflow_urls

    run = world["run"]
    rid, exp = run.uuid.hex, str(run.experiment_id)
    model = f"m-{rid}-{'0' * 12}"
    services.run_set_tags(
        run=run,
        tags={
            f"mlflow.loggedModel.{model}": json.dumps(
                {"name": "m", "status": "LOGGED_MODEL_READY", "params": {}, "tags": {},
                 "created": 0, "updated": 0}
            )
        },
    )  # fmt: skip
    metric = {"key": "m", "value": 1.0, "timestamp": 1_800_000_000_000, "step": 0}
    bodies = {
        "experiments/create": {"name": "taken-over"},
        "experiments/get": {"experiment_id": exp},
        "experiments/get-by-name": {"experiment_name": "secret-exp"},
        "experiments/search": {"filter": "name = 'secret-exp'"},
        "runs/create": {"experiment_id": exp, "tags": [{"key": "mlflow.parentRunId", "value": rid}]},
        "runs/get": {"run_id": rid},
        "runs/update": {"run_id": rid, "status": "KILLED", "run_name": "taken over"},
        "runs/search": {"experiment_ids": [exp]},
        "runs/delete": {"run_id": rid},
        "runs/restore": {"run_id": rid},
        "runs/log-batch": {"run_id": rid, "metrics": [metric], "tags": [{"key": "o", "value": "1"}]},
        "runs/log-metric": {"run_id": rid, **metric},
        "runs/log-parameter": {"run_id": rid, "key": "owned", "value": "yes"},
        "runs/set-tag": {"run_id": rid, "key": "owned", "value": "yes"},
        "runs/delete-tag": {"run_id": rid, "key": "lr"},
        "metrics/get-history": {"run_id": rid, "metric_key": "m"},
        "runs/log-inputs": {"run_id": rid, "datasets": [{"dataset": {"name": "owned"}}]},
        "runs/outputs": {"run_id": rid, "models": [{"model_id": model}]},
        "logged-models": {"experiment_id": exp, "source_run_id": rid, "name": "taken-over"},
        "logged-models/<str:model>": {"status": "LOGGED_MODEL_UPLOAD_FAILED"},
        "logged-models/<str:model>/params": {"params": [{"key": "owned", "value": "1"}]},
        "logged-models/<str:model>/tags": {"tags": [{"key": "owned", "value": "1"}]},
    }  # fmt: skip
    for prefix in ("api", "ajax-api"):
        for route, view in mlflow_urls.TRACKING:
            url = f"/{prefix}/2.0/mlflow/{route}".replace("<str:model>", model)
            body = bodies[route]
            if route == "logged-models/<str:model>":
                yield "GET", url, None, None, view
                yield "PATCH", url, json.dumps(body), "application/json", view
            elif route in ("logged-models/<str:model>/tags",):
                yield "PATCH", url, json.dumps(body), "application/json", view
            elif view.studio_policy == "read" and route not in (
                "experiments/search",
                "runs/search",
            ):
                yield (
                    "GET",
                    url + "?" + "&".join(f"{k}={v}" for k, v in body.items()),
                    None,
                    None,
                    view,
                )
            else:
                yield "POST", url, json.dumps(body), "application/json", view
        artifacts = f"/{prefix}/2.0/mlflow-artifacts/artifacts"
        yield (
            "GET",
            f"{artifacts}?path={exp}/{rid}/artifacts",
            None,
            None,
            mlflow_urls.views.artifact_list,
        )
        yield (
            "GET",
            f"{artifacts}/{exp}/{rid}/artifacts/a.txt",
            None,
            None,
            mlflow_urls.views.artifact,
        )
        yield "PUT", f"{artifacts}/{exp}/{rid}/artifacts/b.txt", b"taken over", "text/plain", mlflow_urls.views.artifact  # fmt: skip


def _mlflow_call(client, method, url, body, content_type):
    if method == "GET":
        return client.get(url)
    return client.generic(method, url, body, content_type=content_type)


def _files_of(run) -> list:
    from studio.tracking.models import RunFile

    return sorted(RunFile.objects.filter(run=run).values_list("name", flat=True))


def test_every_mlflow_route_answers_an_outsider_resource_does_not_exist(world, outsider):
    charlie, routes = _api_client(outsider), list(_mlflow_routes(world))
    before, files, checked = _state(), _files_of(world["run"]), 0
    for method, url, body, content_type, _ in routes:
        response = _mlflow_call(charlie, method, url, body, content_type)
        if url.endswith("/experiments/create") or url.endswith("/experiments/search"):
            # charlie's own workspace: a new experiment there (the second prefix finds it
            # made), a search that finds nothing
            created_before = url.startswith("/ajax-api/") and url.endswith("/create")
            assert response.status_code == (400 if created_before else 200), url
            assert "secret-exp" not in response.content.decode()
            continue
        assert response.status_code == 404, (method, url, response.content[:200])
        assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", url
        checked += 1
    assert _only_charlies_own_changes(before)
    assert _files_of(world["run"]) == files
    assert checked >= 40
    report(f"routes: {checked} MLflow requests as an outsider, all RESOURCE_DOES_NOT_EXIST")


def test_every_mlflow_write_answers_a_reader_permission_denied(world, reader):
    dave, routes = _api_client(reader), list(_mlflow_routes(world))
    before, files, writes, reads = _state(), _files_of(world["run"]), 0, 0
    for method, url, body, content_type, view in routes:
        response = _mlflow_call(dave, method, url, body, content_type)
        if view.studio_policy == "write" and method != "GET":
            assert response.status_code == 403, (method, url, response.content[:200])
            assert response.json()["error_code"] == "PERMISSION_DENIED"
            writes += 1
        else:
            assert response.status_code == 200, (method, url, response.content[:200])
            reads += 1
    assert _state() == before
    assert _files_of(world["run"]) == files
    report(f"routes: {writes} MLflow writes refused to a reader, {reads} reads answered")


def test_every_mlflow_route_answers_an_anonymous_caller_unauthenticated(world, client, owner):
    client.force_login(owner)  # a session cookie is not a token
    routes = list(_mlflow_routes(world))
    before, checked = _state(), 0
    for method, url, body, content_type, _ in routes:
        response = _mlflow_call(client, method, url, body, content_type)
        assert response.status_code == 401, (method, url)
        assert response.json()["error_code"] == "UNAUTHENTICATED"
        checked += 1
    assert _state() == before
    report(f"routes: {checked} MLflow requests without a token, all UNAUTHENTICATED")
