"""What the route-policy tests share: the routes of the project, the state a refused
call must leave unchanged, the bodies and clients they call with."""

import inspect
import json

from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import studio.urls  # noqa: F401  (every API module registered before operations are listed)
from studio.accounts.models import ApiToken, Invitation, Membership
from studio.accounts.routes import CURRENT
from studio.accounts.services import token_create
from studio.api import registry as registry_api
from studio.api import schemas
from studio.api.base import api
from studio.execution.models import ComputeTarget, Environment, Execution, WorkerBeat
from studio.registry.models import ModelFile, ModelVersion
from studio.tracking.models import Experiment, Run, RunTag, SavedView, Workspace


def _patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


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


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, size: int = -1) -> bytes:
        data, self.data = self.data, b""
        return data


def _state() -> tuple:
    """What of "default" a refused request must leave as it was."""
    return (
        sorted(
            Run.all_objects.values_list(
                "run_id", "display_name", "description", "status", "archived", "deleted_at"
            )
        ),
        sorted(RunTag.objects.values_list("run__run_id", "key", "value")),
        sorted(SavedView.objects.values_list("workspace__name", "name", "shared", "is_default")),
        sorted(Membership.objects.values_list("workspace__name", "user__username", "role")),
        sorted(Experiment.objects.values_list("workspace__name", "name")),
        sorted(ApiToken.objects.filter(revoked_at=None).values_list("user__username", "name")),
        sorted(ComputeTarget.objects.values_list("workspace__name", "name")),
        sorted(WorkerBeat.objects.values_list("workspace__name", "target", "worker")),
        sorted(Execution.objects.values_list("run__run_id", "worker", "exit_code")),
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
        if "trashed_run" in view.studio_objects:
            kwargs["run_id"] = world["trashed"].run_id
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


def _only_charlies_own_changes(before) -> bool:
    """An outsider may save a view or a token in their own workspace; "default" stays."""
    after = _state()
    default_of = lambda state: [  # noqa: E731
        [row for row in part if "default" in row or "alice" in row or "bob" in row]
        for part in state
    ]
    return default_of(after) == default_of(before)


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
    # A valid sample: refused for who sends it, not for what it holds.
    schemas.SystemMetricsIn: {
        "batch_id": "s1",
        "series": [{"name": "sys/cpu_percent", "steps": [0], "values": [1.0], "times": [1.75e9]}],
    },
    schemas.TargetIn: {"name": "gpu"},
    schemas.EnvironmentIn: {"definition": {"name": "taken-over"}},
    schemas.SubmissionIn: {"experiment": "taken-over", "script": "t.py", "compute_target": "gpu"},
    schemas.StatusIn: {"status": "Running"},
    schemas.LogChunkIn: {"offset": 0, "data": "dGFrZW4gb3Zlcg=="},
    schemas.ClaimIn: {"worker": "taken-over:local:1:1"},
    schemas.BridgeSyncIn: {"worker": "taken-over:hpc:1:1"},
    schemas.BridgeReportIn: {"worker": "taken-over:hpc:1:1", "action": "pending", "reason": "x"},
    schemas.ExecutionIn: {"exit_code": 3},
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
            if url.endswith("/metrics/history"):
                url += "?name=loss"  # the world's series; a missing name is a 400 past access
            for operation in path_view.operations:
                trashed = "trashed_run" in operation.view_func.studio_objects
                where = url.replace(run_id, world["trashed"].run_id) if trashed else url
                payload = inspect.signature(operation.view_func).parameters.get("payload")
                body = None if payload is None else dict(BODIES[payload.annotation])
                if payload is not None and payload.annotation is schemas.HeartbeatIn:
                    body = {"runs": [run_id]}
                for method in operation.methods:
                    if method == "PUT":
                        yield method, where, b"taken over", "application/octet-stream", operation
                    else:
                        yield method, where, json.dumps(body or {}), "application/json", operation


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
