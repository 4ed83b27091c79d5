"""The run-history routes over HTTP, as azureml-core calls them: a job's token reaches
its run and the runs below it only; bad input gets an ErrorResponse and changes
nothing; a batch the client sends again is stored once."""

from __future__ import annotations

import datetime as dt
import json
import math

import jwt
import pytest
from django.test import Client

from studio.accounts.services import run_token_create, run_tokens_revoke
from studio.compat.azureml import tokens
from studio.tracking import selectors, services
from studio.tracking.models import MetricBatch, Run, RunChange, RunTag

SCOPE = (
    "subscriptions/studio/resourceGroups/studio/providers/"
    "Microsoft.MachineLearningServices/workspaces/default"
)
UA = "python/3.12.1 msrest/0.7.1 azureml._restclient/1.5.0 azureml-sdk-core/1.61.0"


def history(path: str) -> str:
    return f"/azureml/history/v1.0/{SCOPE}/{path}"


def metric(path: str) -> str:
    return f"/azureml/metric/v2.0/{SCOPE}/{path}"


def client_for(run: Run) -> Client:
    token = tokens.mint_for_secret(run_token_create(run=run))
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_USER_AGENT=UA)


def scalar(name: str, value, metric_id: str = "m1", step=None) -> dict:
    point = {"metricId": metric_id, "createdUtc": "2026-11-30T10:00:00.5Z", "data": {name: value}}
    if step is not None:
        point["step"] = step
    return {
        "name": name,
        "columns": {name: "double"},
        "value": [point],
        "properties": {"uxMetricType": "azureml.v1.scalar"},
    }


def post(client: Client, url: str, body) -> object:
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data, content_type="application/json")


@pytest.fixture
def job_run(run, owner):
    """alice's run, its job's client, and another run of hers in the same workspace."""
    other = services.run_create(experiment=run.experiment, submitted_by="alice")
    return run, client_for(run), other


def test_the_jobs_token_reads_and_changes_its_run(job_run):
    run, client, _ = job_run
    url = history(f"experimentids/{run.experiment.name}/runs/{run.run_id}")
    got = client.get(url).json()
    assert got["runId"] == run.run_id
    assert got["dataContainerId"] == f"dcid.{run.run_id}"
    response = client.patch(
        url, json.dumps({"runId": run.run_id, "tags": {"a": "b"}}), content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["tags"] == {"a": "b"}
    assert Run.objects.get(pk=run.pk).logged_with == "azureml-core 1.61.0"


def test_a_token_of_one_run_can_neither_read_nor_write_another(job_run):
    run, client, other = job_run
    before = sorted(RunTag.objects.values_list("run__run_id", "key", "value"))
    url = history(f"experimentids/{other.experiment.name}/runs/{other.run_id}")
    assert client.get(url).status_code == 404
    patched = client.patch(url, json.dumps({"tags": {"x": "y"}}), content_type="application/json")
    assert patched.status_code == 404
    assert patched.json()["error"]["innerError"]["code"] == "not_found"
    posted = post(client, metric(f"runs/{other.run_id}/batch"), {"values": [scalar("m", 1.0)]})
    assert posted.status_code == 404
    child = post(
        client,
        history(f"experiments/{other.experiment.name}/batch/runs"),
        {"runs": [{"runId": "kid-1", "parentRunId": other.run_id}]},
    )
    assert child.status_code == 404
    assert sorted(RunTag.objects.values_list("run__run_id", "key", "value")) == before
    assert not Run.objects.filter(run_id="kid-1").exists()
    assert selectors.metrics_get(run=other) == {}


def test_a_token_reaches_the_children_of_its_run(job_run):
    run, client, _ = job_run
    body = {"runId": "child-a", "parentRunId": run.run_id, "status": "NotStarted", "name": "kid"}
    created = client.patch(
        history(f"experimentids/{run.experiment.name}/runs/child-a"),
        json.dumps(body),
        content_type="application/json",
    )
    assert created.status_code == 200, created.content
    assert created.json()["parentRunId"] == run.run_id
    posted = post(client, metric("runs/child-a/batch"), {"values": [scalar("m", 2.0)]})
    assert posted.status_code == 200
    assert selectors.metrics_get(run=Run.objects.get(run_id="child-a")) == {"m": 2.0}


def test_an_expired_token_is_refused(job_run, monkeypatch):
    run, _, _ = job_run
    monkeypatch.setattr(tokens, "LIFETIME", dt.timedelta(hours=-2))
    expired = tokens.mint_for_secret(run_token_create(run=run))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {expired}")
    response = client.get(history(f"experimentids/{run.experiment.name}/runs/{run.run_id}"))
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_a_forged_or_revoked_token_is_refused(job_run):
    run, client, _ = job_run
    url = history(f"experimentids/{run.experiment.name}/runs/{run.run_id}")
    claims = jwt.decode(
        client.defaults["HTTP_AUTHORIZATION"].split()[1], options={"verify_signature": False}
    )
    forged = jwt.encode(claims, "not the server's key" * 3, algorithm="HS256")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {forged}").get(url).status_code == 401
    assert Client().get(url).status_code == 401
    run_tokens_revoke(run=run)
    assert client.get(url).status_code == 401


@pytest.mark.parametrize(
    "body, field",
    [
        ("not json", "body"),
        ({"values": "nope"}, "values"),
        ({"values": [scalar("ok", 1.0), {"name": "bad", "value": []}]}, "properties"),
        (
            {"values": [{**scalar("m", 1.0), "properties": {"uxMetricType": "azureml.v9.x"}}]},
            "uxMetricType",
        ),
        ({"values": [{**scalar("m", 1.0), "value": [{"data": {"m": 1}}]}]}, "metricId"),
        ({"values": [scalar("m", [1, 2])]}, "values"),
    ],
)
def test_a_malformed_batch_gets_an_error_response_and_nothing_is_stored(job_run, body, field):
    run, client, _ = job_run
    response = post(client, metric(f"runs/{run.run_id}/batch"), body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "UserError"
    assert field in (error["target"] or "") + error["message"]
    assert selectors.metrics_get(run=run) == {}
    assert not MetricBatch.objects.filter(run=run).exists()
    assert not RunChange.objects.filter(run=run).exclude(batch_id=None).exists()


def test_a_batch_sent_again_with_the_same_ids_is_stored_once(job_run):
    run, client, _ = job_run
    body = {"values": [scalar("loss", float("nan"), "id-1", step=0), scalar("loss", 0.5, "id-2")]}
    for _ in range(2):
        assert post(client, metric(f"runs/{run.run_id}/batch"), body).status_code == 200
    loss = selectors.metrics_get(run=run)["loss"]
    assert len(loss) == 2 and math.isnan(loss[0]) and loss[1] == 0.5


def test_metrics_read_back_in_the_clients_shape(job_run):
    run, client, _ = job_run
    post(client, metric(f"runs/{run.run_id}/batch"), {"values": [scalar("loss", float("nan"))]})
    names = post(client, metric(f"runs/{run.run_id}/list"), {}).json()["value"]
    assert [n["metricKey"]["name"] for n in names] == ["loss"]
    full = post(client, metric(f"runs/{run.run_id}/full"), {"metricName": "loss"})
    dto = json.loads(full.content)  # the client reads bare NaN
    assert dto["properties"]["uxMetricType"] == "azureml.v1.scalar"
    assert math.isnan(dto["value"][0]["data"]["loss"])


def test_the_token_route_hands_out_a_new_token(job_run):
    run, client, _ = job_run
    got = client.get(history(f"experimentids/{run.experiment.name}/runs/{run.run_id}/token"))
    assert got.status_code == 200
    fresh = got.json()["token"]
    again = Client(HTTP_AUTHORIZATION=f"Bearer {fresh}")
    assert again.get(history(f"experiments/x/runs/{run.run_id}")).status_code == 200
