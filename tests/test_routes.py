"""Routes (docs/requirements.md C2): every URL the project serves declares who may call it, so a
new route cannot ship without an authorization decision; and the declaration is
enforced: every named page and every API operation is requested as an outsider, a
reader writing and an anonymous caller, and must refuse them without changing anything.
"""

import inspect
import json
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import studio.urls  # noqa: F401  (every API module registered before operations are listed)
from studio.accounts.invitations import invitation_create
from studio.accounts.models import ApiToken, Invitation, Membership
from studio.accounts.routes import CURRENT, POLICIES
from studio.accounts.services import token_create
from studio.api import registry as registry_api
from studio.api import schemas
from studio.api.base import api
from studio.execution.models import ComputeTarget, Environment
from studio.registry import services as registry
from studio.registry.models import ModelFile, ModelVersion
from studio.tracking import saved_views, services
from studio.tracking.models import Experiment, Run, RunTag, SavedView, Workspace
from tests.figures import report


def _patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_every_django_route_declares_a_policy():
    missing = []
    for route, view in _patterns(get_resolver()):
        if route.startswith("api/v1/"):
            continue  # django-ninja's dispatcher; its operations are checked below
        if getattr(view, "studio_policy", None) not in POLICIES:
            missing.append(route)
    assert missing == []


def test_every_api_operation_declares_a_policy():
    missing, seen = [], 0
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                seen += 1
                if getattr(operation.view_func, "studio_policy", None) not in POLICIES:
                    missing.append(f"{operation.methods} {prefix}{path}")
    assert seen >= 20
    assert missing == []


def test_only_the_declared_routes_are_public():
    public = sorted(
        route
        for route, view in _patterns(get_resolver())
        if getattr(view, "studio_policy", None) == "public"
    )
    assert public == [
        "",
        "accounts/invite/<str:token>/",  # the invitee has no account yet
        "accounts/login/",
        "accounts/logout/",
        "accounts/set-password/<uidb64>/<token>/",  # a one-time link, no account yet
        "api/2.0/<path:rest>",  # MLflow's ENDPOINT_NOT_FOUND for what is not served
        "api/<path:rest>",
        "azureml/discovery",  # azureml-core asks it without a token: base URLs only
    ]


# --- what each route does for callers who may not use it --------------------------------

# One form that would change something on every write page if it were let through.
FORM = {
    "display_name": "taken over",
    "description": "taken over",
    "action": "tag",
    "key": "owned",
    "value": "yes",
    "tag_key": "owned",
    "tag_value": "yes",
    "name": "taken over",
    "shared": "1",
    "default": "1",
    "role": "owner",
    "username": "charlie",
    "state": "",
}


@pytest.fixture
def world(owner, member, reader, outsider, workspace):
    """Everything of "default" a route can name: a run with a child and a file, a
    shared view, dave's membership, alice's token."""
    experiment = services.experiment_get_or_create(workspace=workspace, name="secret-exp")
    run = services.run_create(experiment=experiment, submitted_by="alice")
    services.run_create(experiment=run.experiment, submitted_by="alice", parent=run)
    services.run_set_tags(run=run, tags={"lr": "0.1"})
    services.run_file_upload(run=run, name="outputs/a.txt", content=_Body(b"secret"))
    view = saved_views.view_create(
        workspace=workspace, owner=member, name="team-view", state={}, shared=True
    )
    token, _ = token_create(user=owner, name="alice-laptop")
    invitation, _ = invitation_create(
        workspace=workspace, role="owner", created_by=owner, note="secret-invite"
    )
    registry.model_register(
        workspace=workspace, name="secret-model", created_by="alice", run=run, path="outputs/a.txt"
    )
    return {
        "run": run,
        "view": view,
        "membership": Membership.objects.get(user=reader, workspace=workspace),
        "token": token,
        "invitation": invitation,
        "user": reader,
    }


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, size: int = -1) -> bytes:
        data, self.data = self.data, b""
        return data


def _state() -> tuple:
    """What of "default" a refused request must leave as it was."""
    return (
        sorted(Run.objects.values_list("run_id", "display_name", "description", "status")),
        sorted(RunTag.objects.values_list("run__run_id", "key", "value")),
        sorted(SavedView.objects.values_list("workspace__name", "name", "shared", "is_default")),
        sorted(Membership.objects.values_list("workspace__name", "user__username", "role")),
        sorted(Experiment.objects.values_list("workspace__name", "name")),
        sorted(ApiToken.objects.filter(revoked_at=None).values_list("user__username", "name")),
        sorted(ComputeTarget.objects.values_list("workspace__name", "name")),
        sorted(ModelVersion.objects.values_list("model__name", "version", "tags", "description")),
        sorted(ModelFile.objects.values_list("name", "version__version")),
        sorted(Environment.objects.values_list("workspace__name", "name", "version")),
        list(
            Invitation.objects.order_by("pk").values_list(
                "workspace__name", "role", "revoked_at", "accepted_by__username"
            )
        ),
        sorted(User.objects.values_list("username", "is_active", "is_superuser", "password")),
        sorted(Workspace.objects.values_list("name", "archived")),
    )


def _web_routes(world) -> list[tuple[str, str, object]]:
    """(name, url, view) of every named page, its URL built for objects of "default"."""
    samples = {
        "run_id": world["run"].run_id,
        "view_id": world["view"].pk,
        "membership_id": world["membership"].pk,
        "token_id": world["token"].pk,
        "invitation_id": world["invitation"].pk,
        "user_id": world["user"].pk,
        "token": "not-a-link",
        "uidb64": "MQ",
        "name": "secret-exp",
        "model": "secret-model",
        "version": 1,
        "file": "a.txt",
    }
    found = []
    for route, view in _patterns(get_resolver()):
        if route.startswith(("api/", "ajax-api/", "azureml/")):
            continue  # the JSON APIs, MLflow's and azureml-core's routes: checked below
        name = next(p.name for p in _named(get_resolver()) if p.callback is view)
        kwargs = {k: samples[k] for k in _converters(get_resolver(), view)}
        if name == "run-file":
            kwargs["name"] = "outputs/a.txt"
        found.append((name, reverse(name, kwargs=kwargs), view))
    return found


def _named(resolver):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _named(entry)
        elif entry.name:
            yield entry


def _converters(resolver, view, seen=()):
    for entry in resolver.url_patterns:
        here = (*seen, *entry.pattern.converters)
        if isinstance(entry, URLResolver):
            if (found := _converters(entry, view, here)) is not None:
                return found
        elif entry.callback is view:
            return here
    return None


def _content(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


SECRETS = (
    "secret-exp",
    "team-view",
    "alice-laptop",
    "lr=0.1",
    "dave",
    "secret-model",
    "secret-invite",
)


def _resolves_objects(view) -> bool:
    return any(source is not CURRENT for source in view.studio_objects.values())


def test_an_outsider_gets_404_for_every_object_and_never_sees_another_workspace(
    client, world, outsider
):
    client.force_login(outsider)
    before, checked = _state(), 0
    for name, url, view in _web_routes(world):
        if view.studio_policy == "public":
            continue
        for method in (client.get, client.post):
            response = method(url, FORM) if method == client.post else method(url)
            checked += 1
            if _resolves_objects(view):
                assert response.status_code == 404, (name, method)
            body = _content(response)
            leaks = [s for s in (*SECRETS, world["run"].run_id) if s in body]
            assert leaks == [], (name, response.status_code)
    assert _state() == before or _only_charlies_own_changes(before)
    report(f"routes: {checked} web requests as an outsider, none saw another workspace")


def _only_charlies_own_changes(before) -> bool:
    """An outsider may save a view or a token in their own workspace; "default" stays."""
    after = _state()
    default_of = lambda state: [  # noqa: E731
        [row for row in part if "default" in row or "alice" in row or "bob" in row]
        for part in state
    ]
    return default_of(after) == default_of(before)


def test_a_reader_is_refused_every_write_page_and_nothing_changes(client, world, reader):
    client.force_login(reader)
    before, checked = _state(), []
    for name, url, view in _web_routes(world):
        if view.studio_post in ("write", "owner", "superuser") or name == "run-bulk":
            response = client.post(url, {**FORM, "run": world["run"].run_id})
            # No account is visible to a non-superuser: one named in the URL is a 404.
            refused = 404 if view.studio_post == "superuser" and view.studio_objects else 403
            assert response.status_code == refused, name
            checked.append(name)
    assert _state() == before
    assert len(checked) >= 10
    report(f"routes: {len(checked)} web write routes refused to a reader (403)")


def test_an_anonymous_caller_is_sent_to_sign_in_from_every_page(client, world):
    before, checked = _state(), 0
    for name, url, view in _web_routes(world):
        if view.studio_policy == "public":
            continue
        for response in (client.get(url), client.post(url, FORM)):
            assert response.status_code == 302, name
            assert response["Location"].startswith("/accounts/login/?next="), name
            checked += 1
    assert _state() == before
    report(f"routes: {checked} web requests as anonymous, all sent to sign in")


# --- the API ---------------------------------------------------------------------------

BODIES = {
    schemas.EmptyIn: {},
    schemas.HeartbeatIn: {"runs": []},  # the run is filled in per test
    schemas.ExperimentIn: {"name": "taken-over"},
    schemas.RunIn: {"experiment": "taken-over"},
    schemas.RunPatchIn: {"display_name": "taken over"},
    schemas.ChildrenIn: {"count": 1},
    schemas.FailIn: {"error_details": "taken over"},
    schemas.PropertiesIn: {"properties": {"owned": "yes"}},
    schemas.TagsIn: {"tags": {"owned": "yes"}},
    schemas.TagKeysIn: {"keys": ["lr"]},
    schemas.MetricBatchIn: {
        "batch_id": "b1",
        "series": [{"name": "m", "steps": [0], "values": [1.0], "times": [0]}],
    },
    schemas.TargetIn: {"name": "gpu"},
    schemas.EnvironmentIn: {"definition": {"name": "taken-over"}},
    schemas.SubmissionIn: {"experiment": "taken-over", "script": "t.py", "compute_target": "gpu"},
    schemas.StatusIn: {"status": "Running"},
    schemas.LogChunkIn: {"offset": 0, "data": "dGFrZW4gb3Zlcg=="},
    schemas.PipelineIn: {
        "experiment": "taken-over",
        "steps": [{"name": "a", "script": "a.py", "compute_target": "gpu"}],
    },
    registry_api.ModelFromRunIn: {"name": "taken-over", "path": "outputs/a.txt"},
    registry_api.ModelFromUploadIn: {"name": "taken-over", "upload": "0" * 32},
    registry_api.ModelPatchIn: {"tags": {"owned": "yes"}, "description": "taken over"},
    # Any signed-in caller may create a workspace of their own: here a taken name
    # (checked whatever its case), so that nothing changes.
    schemas.WorkspaceIn: {"name": "DEFAULT"},
    schemas.WorkspacePatchIn: {"name": "taken-over", "archived": True},
    schemas.WorkspaceDeleteIn: {"confirm": "default"},
}


def _api_operations(world):
    """(method, url, body, content type, operation) of every API operation, its URL
    and body naming objects of "default"."""
    run_id = world["run"].run_id
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            url = (
                "/api/v1"
                + (prefix + path)
                .replace("{name}", "default")
                .replace("{run_id}", run_id)
                .replace("{path:name}", "outputs/a.txt")
                .replace("{view}", "team-view")
                .replace("{model}", "secret-model")
                .replace("{version}", "1")
                .replace("{upload}", "0" * 32)
                .replace("{path:file}", "a.txt")
                .replace("{target}", "local")
            ).replace("//", "/")
            for operation in path_view.operations:
                payload = inspect.signature(operation.view_func).parameters.get("payload")
                body = None if payload is None else dict(BODIES[payload.annotation])
                if payload is not None and payload.annotation is schemas.HeartbeatIn:
                    body = {"runs": [run_id]}
                for method in operation.methods:
                    if method == "PUT":
                        yield method, url, b"taken over", "application/octet-stream", operation
                    else:
                        yield method, url, json.dumps(body or {}), "application/json", operation


def _call(client, method, url, body, content_type):
    if method == "GET":
        return client.get(url)
    return client.generic(method, url, body, content_type=content_type)


def _api_client(user) -> Client:
    _, secret = token_create(user=user, name="route-test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


# Batch operations leave out the runs the caller may not touch instead of refusing.
LEAVE_OUT = {"/api/v1/heartbeat"}


# The caller's own workspaces: listed (never another's), or a new one created.
OWN = "/api/v1/workspaces"


def _own(method, response, role) -> bool:
    if method == "POST":
        assert response.status_code == 409, response.content[:200]
        return response.json()["error"]["message"] == "Workspace 'default' already exists."
    assert response.status_code == 200, response.content[:200]
    listed = {w["name"]: w["role"] for w in response.json()["workspaces"]}
    return listed.get("default") == role


def _left_out(url, response) -> bool:
    assert response.status_code == 200, (url, response.content[:200])
    return response.json()["runs"] == []


def test_every_api_operation_answers_an_outsider_404_and_changes_nothing(world, outsider):
    charlie = _api_client(outsider)
    before, checked = _state(), 0
    for method, url, body, content_type, _ in _api_operations(world):
        response = _call(charlie, method, url, body, content_type)
        if url in LEAVE_OUT:
            assert _left_out(url, response)
            continue
        if url == OWN:
            assert _own(method, response, None)
            continue
        assert response.status_code == 404, (method, url, response.content[:200])
        assert response.json()["error"]["code"] == "not_found"
        checked += 1
    assert _state() == before
    assert checked >= 25
    report(f"routes: {checked} API operations as an outsider, all 404 (heartbeat: left out)")


def test_every_api_write_answers_a_reader_403_and_changes_nothing(world, reader):
    dave = _api_client(reader)
    before, writes, reads = _state(), 0, 0
    for method, url, body, content_type, operation in _api_operations(world):
        response = _call(dave, method, url, body, content_type)
        if url in LEAVE_OUT:
            assert _left_out(url, response)
        elif url == OWN:
            assert _own(method, response, "reader")
        elif operation.view_func.studio_policy in ("write", "owner"):
            assert response.status_code == 403, (method, url, response.content[:200])
            writes += 1
        else:
            assert response.status_code == 200, (method, url, response.content[:200])
            reads += 1
    assert _state() == before
    report(f"routes: {writes} API writes refused to a reader (403), {reads} reads answered 200")


def test_every_api_operation_answers_an_anonymous_caller_401(world):
    anonymous = Client()
    before, checked = _state(), 0
    for method, url, body, content_type, _ in _api_operations(world):
        response = _call(anonymous, method, url, body, content_type)
        assert response.status_code == 401, (method, url)
        assert response.json()["error"]["code"] == "not_authenticated"
        checked += 1
    assert _state() == before
    report(f"routes: {checked} API operations as anonymous, all 401")


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
# --- the routes of issue 11, cell by cell --------------------------------------------------
#
# Every route issue 11 added (workspaces, invitations, accounts, audit), requested by each
# kind of caller; each cell is the status that caller gets. A refused request changes
# nothing; an allowed write changes something. The policy each route declares is checked
# against the matrix's, so the table cannot drift from the route declaration.

PERSONAS = ("anonymous", "non-member", "reader", "contributor", "owner", "superuser")
TO_SIGN_IN = 302  # anonymous callers of the studio's pages are sent to sign in
R = "refused"
W = "write"  # allowed, and it changes something
G = "read"  # allowed, and it changes nothing


@dataclass(frozen=True)
class Cell:
    status: int
    effect: str  # R, W or G


def _row(*cells: tuple[int, str]) -> dict[str, Cell]:
    return {p: Cell(*c) for p, c in zip(PERSONAS, cells, strict=True)}


ANON = (TO_SIGN_IN, R)
ANON_API = (401, R)
MATRIX_WEB = {
    # name: (method, url, form, declared (policy, post), cells)
    "workspace-settings GET": (
        "GET",
        "/settings/workspace/?ws=default",
        None,
        ("read", "owner"),
        _row(ANON, (404, R), (200, G), (200, G), (200, G), (200, G)),
    ),
    "workspace-settings POST archive": (
        "POST",
        "/settings/workspace/?ws=default",
        {"action": "archive"},
        ("read", "owner"),
        _row(ANON, (404, R), (403, R), (403, R), (302, W), (302, W)),
    ),
    "workspace-settings POST delete": (
        "POST",
        "/settings/workspace/?ws=default",
        {"action": "delete", "confirm": "default"},
        ("read", "owner"),
        _row(ANON, (404, R), (403, R), (403, R), (302, W), (302, W)),
    ),
    "workspace-create GET": (
        "GET",
        "/settings/workspaces/new/",
        None,
        ("read", "read"),
        _row(ANON, (200, G), (200, G), (200, G), (200, G), (200, G)),
    ),
    "workspace-create POST": (
        "POST",
        "/settings/workspaces/new/",
        {"name": "team-x"},
        ("read", "read"),
        _row(ANON, (302, W), (302, W), (302, W), (302, W), (302, W)),
    ),
    "invitation-create": (
        "POST",
        "/settings/members/invite/?ws=default",
        {"role": "reader", "note": "x"},
        ("owner", "owner"),
        _row(ANON, (404, R), (403, R), (403, R), (201, W), (201, W)),
    ),
    "invitation-revoke": (
        "POST",
        "/settings/invitations/{invitation_id}/revoke/",
        {},
        ("owner", "owner"),
        _row(ANON, (404, R), (403, R), (403, R), (302, W), (302, W)),
    ),
    "invitation-open GET": (
        "GET",
        "/accounts/invite/{token}/",
        None,
        ("public", "public"),
        _row((200, G), (200, G), (200, G), (200, G), (200, G), (200, G)),
    ),
    # The link is the authority: anyone holding it joins (a member with a higher role
    # keeps it, the link is spent either way); anonymous callers make an account.
    "invitation-open POST": (
        "POST",
        "/accounts/invite/{token}/",
        {"username": "erin", "password": "a long enough passphrase"},
        ("public", "public"),
        _row((302, W), (302, W), (302, W), (302, W), (302, W), (302, W)),
    ),
    "invitation-open POST (spent link)": (
        "POST",
        "/accounts/invite/{spent}/",
        {"username": "erin", "password": "a long enough passphrase"},
        ("public", "public"),
        _row((410, R), (410, R), (410, R), (410, R), (410, R), (410, R)),
    ),
    "password-change GET": (
        "GET",
        "/accounts/password/",
        None,
        ("read", "read"),
        _row(ANON, (200, G), (200, G), (200, G), (200, G), (200, G)),
    ),
    "password-change POST": (
        "POST",
        "/accounts/password/",
        {"old_password": "pw-{username}", "new_password": "another long passphrase"},
        ("read", "read"),
        _row(ANON, (302, W), (302, W), (302, W), (302, W), (302, W)),
    ),
    "profile": (
        "GET",
        "/accounts/profile/",
        None,
        ("read", "read"),
        _row(ANON, (200, G), (200, G), (200, G), (200, G), (200, G)),
    ),
    "user-list GET": (
        "GET",
        "/settings/users/",
        None,
        ("superuser", "superuser"),
        _row(ANON, (403, R), (403, R), (403, R), (403, R), (200, G)),
    ),
    "user-list POST": (
        "POST",
        "/settings/users/",
        {"username": "frank"},
        ("superuser", "superuser"),
        _row(ANON, (403, R), (403, R), (403, R), (403, R), (201, W)),
    ),
    "user-change deactivate": (
        "POST",
        "/settings/users/{user_id}/",
        {"action": "deactivate"},
        ("superuser", "superuser"),
        _row(ANON, (404, R), (404, R), (404, R), (404, R), (302, W)),
    ),
    "user-change reset": (
        "POST",
        "/settings/users/{user_id}/",
        {"action": "reset"},
        ("superuser", "superuser"),
        _row(ANON, (404, R), (404, R), (404, R), (404, R), (201, W)),
    ),
    "audit-list": (
        "GET",
        "/settings/audit/?ws=default",
        None,
        ("owner", "owner"),
        _row(ANON, (404, R), (403, R), (403, R), (200, G), (200, G)),
    ),
}
MATRIX_API = {
    "GET /workspaces": (
        "GET",
        "/api/v1/workspaces",
        None,
        "read",
        _row(ANON_API, (200, G), (200, G), (200, G), (200, G), (200, G)),
    ),
    "POST /workspaces": (
        "POST",
        "/api/v1/workspaces",
        {"name": "team-x"},
        "read",
        _row(ANON_API, (200, W), (200, W), (200, W), (200, W), (200, W)),
    ),
    "PATCH /workspaces/default": (
        "PATCH",
        "/api/v1/workspaces/default",
        {"archived": True},
        "owner",
        _row(ANON_API, (404, R), (403, R), (403, R), (200, W), (200, W)),
    ),
    "DELETE /workspaces/default": (
        "DELETE",
        "/api/v1/workspaces/default",
        {"confirm": "default"},
        "owner",
        _row(ANON_API, (404, R), (403, R), (403, R), (200, W), (200, W)),
    ),
}
# The routes issue 11 added: the matrix must name each of them.
ISSUE_11_WEB = {
    "workspace-settings",
    "workspace-create",
    "invitation-create",
    "invitation-revoke",
    "invitation-open",
    "password-change",
    "profile",
    "user-list",
    "user-change",
    "audit-list",
}
ISSUE_11_API = {
    ("GET", "/workspaces"),
    ("POST", "/workspaces"),
    ("PATCH", "/workspaces/{name}"),
    ("DELETE", "/workspaces/{name}"),
}


@pytest.fixture
def team(owner, member, reader, outsider, workspace):
    """ "default" with a finished run, a pending invitation and a spent one; the six
    callers, each with an API token (made before anything is compared)."""
    experiment = services.experiment_get_or_create(workspace=workspace, name="secret-exp")
    run = services.run_create(experiment=experiment, submitted_by="alice")
    services.run_complete(run=run)
    _, token = invitation_create(workspace=workspace, role="reader", created_by=owner)
    _, spent = invitation_create(workspace=workspace, role="reader", created_by=owner)
    from studio.accounts.invitations import invitation_accept

    invitation_accept(secret=spent, username="gina", password="a long enough passphrase")
    root = User.objects.create_superuser("root", password="pw-root")
    users = {
        "anonymous": None,
        "non-member": outsider,
        "reader": reader,
        "contributor": member,
        "owner": owner,
        "superuser": root,
    }
    secrets = {p: token_create(user=u, name="matrix")[1] for p, u in users.items() if u}
    invitation = Invitation.objects.get(accepted_at=None)
    return {
        "users": users,
        "secrets": secrets,
        "url": {
            "invitation_id": invitation.pk,
            "token": token,
            "spent": spent,
            "user_id": reader.pk,
        },
    }


def _cells(matrix):
    return [
        pytest.param(name, persona, id=f"{name} as {persona}")
        for name in matrix
        for persona in PERSONAS
    ]


def _effect(before, cell: Cell, where: str) -> None:
    changed = _state() != before
    if cell.effect == W:
        assert changed, f"{where}: allowed, but nothing changed"
    else:
        assert not changed, f"{where}: {cell.effect}, but something changed"


@pytest.mark.parametrize("name, persona", _cells(MATRIX_WEB))
def test_issue_11_page_matrix(client, team, name, persona):
    method, url, form, declared, cells = MATRIX_WEB[name]
    user = team["users"][persona]
    url = url.format(**team["url"])
    view = get_resolver().resolve(url.split("?")[0]).func
    assert (view.studio_policy, view.studio_post) == declared, name
    if user is not None:
        client.force_login(user)
    if form is not None:
        form = {k: v.format(username=getattr(user, "username", "")) for k, v in form.items()}
    before = _state()
    response = client.get(url) if method == "GET" else client.post(url, form)
    cell = cells[persona]
    assert response.status_code == cell.status, (name, persona, _content(response)[:300])
    if user is None and cell.status == TO_SIGN_IN and declared[0] != "public":
        assert response["Location"].startswith("/accounts/login/?next="), name
    _effect(before, cell, f"{name} as {persona}")


@pytest.mark.parametrize("name, persona", _cells(MATRIX_API))
def test_issue_11_api_matrix(team, name, persona):
    method, url, body, declared, cells = MATRIX_API[name]
    secret = team["secrets"].get(persona)
    caller = Client(HTTP_AUTHORIZATION=f"Bearer {secret}") if secret else Client()
    before = _state()
    response = _call(caller, method, url, json.dumps(body or {}), "application/json")
    cell = cells[persona]
    assert response.status_code == cell.status, (name, persona, response.content[:300])
    if cell.effect == R:
        code = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}
        assert response.json()["error"]["code"] == code[cell.status]
    _effect(before, cell, f"{name} as {persona}")


def test_the_matrix_covers_every_route_of_issue_11():
    """Each route issue 11 added has its rows, and the API rows declare what the
    operations declare."""
    assert {name.split(" ")[0] for name in MATRIX_WEB} == ISSUE_11_WEB
    declared = {}
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    declared[(method, prefix + path)] = operation.view_func.studio_policy
    rows = {
        (method, url.removeprefix("/api/v1").replace("/default", "/{name}")): need
        for method, url, _, need, _ in MATRIX_API.values()
    }
    assert set(rows) == ISSUE_11_API
    assert {key: declared[key] for key in rows} == rows
