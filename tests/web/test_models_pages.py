"""The Models pages: the workspace's models with their versions and the run each
came from, a model's versions, a version's files (downloads are attachments), and
nothing of another workspace."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.registry import services as registry
from studio.tracking import services
from tests.figures import report
from tests.web.listing_helpers import make_run

XSS = "<script>alert(1)</script>"


def _trained(experiment, name="train", content=b"weights"):
    run = make_run(experiment, name)
    services.run_file_upload(run=run, name="outputs/model.pkl", content=io.BytesIO(content))
    services.run_file_upload(run=run, name="outputs/net/a.bin", content=io.BytesIO(b"a"))
    return run


def _register(run, name, path="outputs/model.pkl", **kw):
    return registry.model_register(
        workspace=run.workspace, name=name, created_by="bob", run=run, path=path, **kw
    )


def test_models_page_lists_each_model_with_its_latest_version_and_run(client, member, experiment):
    run = _trained(experiment)
    _register(run, "mnist")
    _register(run, "mnist", path="outputs/net")
    client.force_login(member)

    body = client.get("/models/").content.decode()

    row = body.split('href="/models/mnist/"')[1].split("</tr>")[0]
    assert '<td class="num">2</td>' in row
    assert 'href="/models/mnist/2/"' in row
    assert f'href="/runs/{run.run_id}/"' in row
    assert 'aria-current="page">Models</a>' in body


def test_model_page_lists_versions_with_the_run_each_came_from(
    client, member, workspace, experiment
):
    first, second = _trained(experiment, "one"), _trained(experiment, "two")
    _register(first, "mnist", tags={"area": XSS}, description=XSS)
    _register(second, "mnist")
    client.force_login(member)

    body = client.get("/models/mnist/").content.decode()

    assert body.index('href="/models/mnist/2/"') < body.index('href="/models/mnist/1/"')
    assert f'href="/runs/{first.run_id}/"' in body and f'href="/runs/{second.run_id}/"' in body
    assert XSS not in body and "&lt;script&gt;" in body


def test_version_page_lists_files_and_downloads_them_as_attachments(client, reader, experiment):
    run = _trained(experiment)
    _register(run, "net", path="outputs/net")
    client.force_login(reader)

    body = client.get("/models/net/1/").content.decode()
    assert 'href="/models/net/1/files/net/a.bin"' in body
    response = client.get("/models/net/1/files/net/a.bin")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"a"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.get("/models/net/1/files/net/missing.bin").status_code == 404
    assert client.get("/models/net/9/").status_code == 404


def test_models_of_another_workspace_are_neither_listed_nor_found(
    client, member, outsider, other_workspace
):
    theirs = services.experiment_get_or_create(workspace=other_workspace, name="e")
    _register(_trained(theirs), "secret-model")
    client.force_login(member)
    assert "secret-model" not in client.get("/models/").content.decode()
    for url in (
        "/models/secret-model/",
        "/models/secret-model/1/",
        "/models/secret-model/1/files/model.pkl",
    ):
        assert client.get(url).status_code == 404


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/models/", "/models/m0/", "/models/m0/1/"])
def test_models_pages_cost_the_same_for_2_or_20_models_and_versions(
    client, member, experiment, django_assert_num_queries, url
):
    run = _trained(experiment)
    for i in range(2):
        _register(run, f"m{i}")
        _register(run, "m0", path="outputs/net")
    client.force_login(member)
    _count(client, url)
    baseline = _count(client, url)
    for i in range(2, 20):
        _register(run, f"m{i}")
        _register(run, "m0", path="outputs/net")
    with django_assert_num_queries(baseline):
        client.get(url)
    report(f"models pages: {url} in {baseline} queries for 2 or 20 models and versions")
