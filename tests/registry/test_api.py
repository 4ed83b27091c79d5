"""The registry's API as its callers meet it: who may register and read, what a
job's run token may do, and bad input that must change nothing."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from studio.accounts.services import token_create
from studio.registry.models import ModelFile, ModelVersion
from studio.tracking import services


@pytest.fixture
def trained(run):
    services.run_file_upload(run=run, name="outputs/model.pkl", content=io.BytesIO(b"w"))
    return run


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_a_contributor_registers_from_a_run_and_a_reader_cannot(member, reader, trained):
    url = f"/api/v1/runs/{trained.run_id}/models"
    refused = _post(reader.api, url, {"name": "m", "path": "outputs/model.pkl"})
    assert refused.status_code == 403
    assert ModelVersion.objects.count() == 0

    made = _post(member.api, url, {"name": "m", "path": "outputs/model.pkl"})
    assert made.status_code == 201
    assert made.json()["id"] == "m:1" and made.json()["created_by"] == "bob"
    assert reader.api.get("/api/v1/workspaces/default/models/m").json()["version"] == 1


def test_an_outsider_sees_no_model_and_cannot_register_from_the_run(outsider, member, trained):
    _post(member.api, f"/api/v1/runs/{trained.run_id}/models", {"name": "m", "path": "outputs"})
    assert outsider.api.get("/api/v1/workspaces/default/models").status_code == 404
    assert outsider.api.get("/api/v1/workspaces/other-team/models").json() == {"models": []}
    refused = _post(outsider.api, f"/api/v1/runs/{trained.run_id}/models", {"name": "x"})
    assert refused.status_code == 404


def test_a_jobs_run_token_registers_from_its_run_and_reads_models_only(member, trained):
    from django.test import Client

    _, secret = token_create(user=member, name="job", run=trained)
    job = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    made = _post(job, f"/api/v1/runs/{trained.run_id}/models", {"name": "m", "path": "outputs"})
    assert made.status_code == 201
    assert job.get("/api/v1/workspaces/default/models/m/versions/1").status_code == 200
    patch = job.patch(
        "/api/v1/workspaces/default/models/m/versions/1",
        json.dumps({"tags": {"a": "b"}}),
        content_type="application/json",
    )
    assert patch.status_code == 403


def test_a_missing_path_is_a_404_naming_it_and_changes_nothing(member, trained):
    response = _post(
        member.api, f"/api/v1/runs/{trained.run_id}/models", {"name": "m", "path": "outputs/x.pt"}
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "model_path_not_found" and "outputs/x.pt" in error["message"]
    assert ModelVersion.objects.count() == 0 and ModelFile.objects.count() == 0


def test_an_upload_becomes_a_version_once(member, workspace):
    upload = uuid.uuid4().hex
    put = member.api.put(
        f"/api/v1/workspaces/default/model-uploads/{upload}/files/m/w.bin",
        b"bytes",
        content_type="application/octet-stream",
    )
    assert put.status_code == 201
    body = {"name": "m", "upload": upload, "path": "m"}
    assert _post(member.api, "/api/v1/workspaces/default/models", body).status_code == 201
    # The same upload cannot make a second version.
    again = _post(member.api, "/api/v1/workspaces/default/models", body)
    assert again.status_code == 400
    assert ModelVersion.objects.count() == 1
    download = member.api.get("/api/v1/workspaces/default/models/m/versions/1/files/m/w.bin")
    assert b"".join(download.streaming_content) == b"bytes"


@pytest.mark.parametrize("name", ["../escape", "m/../../x", "a\x00b"])
def test_upload_file_names_that_leave_the_model_are_refused(member, workspace, name):
    from urllib.parse import quote

    url = (
        f"/api/v1/workspaces/default/model-uploads/{uuid.uuid4().hex}/files/{quote(name, safe='')}"
    )
    response = member.api.put(url, b"x", content_type="application/octet-stream")
    assert response.status_code in (400, 404)
    assert ModelFile.objects.count() == 0
