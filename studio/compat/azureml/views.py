"""The routes azureml-core calls inside a job, each a thin view over one service or
selector. Every route is declared with ``azureml_route`` (who may call it, which run
it touches); the run is fetched through ``access.access_run`` with the caller's
run-scoped token, as on the JSON API, and errors are ErrorResponses (``wire.error``)
the client raises its own exceptions from."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from studio.accounts import access
from studio.accounts.routes import label_policy
from studio.compat.azureml import PREFIX, tokens, wire
from studio.errors import (
    LengthRequired,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    StudioError,
    ValidationError,
)
from studio.rules import filenames, transitions
from studio.tracking import selectors, services, storage
from studio.tracking.models import MetricRecord, Run, RunStatus

# The services a discovery answer names: all of them here, under one prefix.
DISCOVERY_KEYS = (
    "api",
    "catalog",
    "experimentation",
    "history",
    "hyperdrive",
    "modelmanagement",
    "pipelines",
    "studio",
)


def reply(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(wire.dumps(data), status=status, content_type="application/json")


def _fail(exc: StudioError) -> HttpResponse:
    response = reply(wire.error(exc), exc.http_status)
    if isinstance(exc, NotAuthenticated):
        response["WWW-Authenticate"] = "Bearer"
    return response


def _bearer(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw = header.partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def azureml_route(need: str, run: str | None = None) -> Callable:
    """Declare and enforce who may call a route: ``public``, or a caller with a valid
    run token and ``need`` on the run named by the URL parameter ``run`` (passed to the
    view as ``run``); without ``run`` the view fetches its runs itself through
    ``access`` with the ``grant`` it gets. A run outside the token's scope is a 404."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @functools.wraps(view)
        def enforced(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            try:
                if need == "public":
                    return view(request, **kwargs)
                grant = tokens.verify(_bearer(request))
                workspace = kwargs.pop("workspace", None)
                kwargs.pop("experiment", None)
                if run is not None:
                    target = access.access_run(
                        grant.user, kwargs.pop(run), need=need, token=grant.token
                    )
                    if workspace is not None and target.workspace.name != workspace:
                        raise NotFound("Run does not exist.", field="run_id")
                    if need == "write":
                        services.run_note_client(
                            run=target, user_agent=request.META.get("HTTP_USER_AGENT")
                        )
                    kwargs["run"] = target
                return view(request, grant=grant, **kwargs)
            except StudioError as exc:
                return _fail(exc)

        label_policy(enforced, need, need, {"run": run} if run else {})
        return enforced

    return decorate


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri(f"/{PREFIX}")


def _body(request: HttpRequest) -> Any:
    return wire.loads(request.body)


def _write(grant: tokens.Grant, run_id: str) -> Run:
    return access.access_run(grant.user, run_id, need="write", token=grant.token)


# --- discovery, token ----------------------------------------------------------------


@azureml_route("public")
def discovery(request: HttpRequest) -> HttpResponse:
    """The service base URLs (the client asks once and caches them)."""
    return reply(dict.fromkeys(DISCOVERY_KEYS, _base(request)))


@azureml_route("read", run="run_id")
def token_refresh(request: HttpRequest, grant: tokens.Grant, run: Run) -> HttpResponse:
    """A new token for the caller's run-scoped grant (asked 95 s before expiry)."""
    token, expires = tokens.mint(token=grant.token)
    return reply({"token": token, "expiryTimeUtc": wire.iso(expires)})


# --- runs ----------------------------------------------------------------------------


def _dto(run: Run) -> dict:
    return wire.run_dto(selectors.run_get(run_id=run.run_id))


def _apply(run: Run, body: dict, author=None) -> None:
    """Tags, properties, display name and description of a RunDto patch."""
    if body.get("tags"):
        services.run_set_tags(run=run, tags=body["tags"])
    if body.get("properties"):
        services.run_add_properties(run=run, properties=body["properties"])
    if "displayName" in body or "description" in body:
        services.run_update(
            run=run,
            display_name=body.get("displayName"),
            description=body.get("description"),
            author=author,
        )


@azureml_route("read", run="run_id")
def run_get(request: HttpRequest, grant: tokens.Grant, run: Run) -> HttpResponse:
    return reply(_dto(run))


@csrf_exempt
def run(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """GET a run; PATCH it (tags, properties, display name, description), or create
    it under ``parentRunId`` when it does not exist yet (``child_run``)."""
    if request.method == "PATCH":
        return run_patch(request, **kwargs)
    return run_get(request, **kwargs)


label_policy(run, "read", "write", {"run": "run_id"})


@azureml_route("write")
def run_patch(request: HttpRequest, grant: tokens.Grant, run_id: str) -> HttpResponse:
    body = _body(request)
    if not isinstance(body, dict):
        raise ValidationError("The body must be a RunDto object.", field="body")
    if not Run.objects.filter(run_id=run_id).exists() and body.get("parentRunId"):
        child = _create_child(request, grant, run_id, body)
        return reply(_dto(child))
    target = _write(grant, run_id)
    services.run_note_client(run=target, user_agent=request.META.get("HTTP_USER_AGENT"))
    with transaction.atomic():
        _apply(target, body, author=grant.user)
    return reply(_dto(target))


def _create_child(request: HttpRequest, grant: tokens.Grant, run_id: str, body: dict) -> Run:
    parent = _write(grant, body["parentRunId"])
    status = body.get("status") or RunStatus.NOT_STARTED
    with transaction.atomic():
        child = services.run_create(
            experiment=parent.experiment,
            submitted_by=parent.submitted_by,
            parent=parent,
            run_id=run_id,
            status=status,
            # The client names a child "<parent's name>>name": the name is the last part.
            display_name=body.get("displayName") or (body.get("name") or "").rsplit(">", 1)[-1],
            compute_target=body.get("target") or parent.compute_target,
            tags=body.get("tags"),
            properties=body.get("properties"),
        )
        if body.get("description"):
            services.run_update(run=child, description=body["description"], author=grant.user)
    services.run_note_client(run=child, user_agent=request.META.get("HTTP_USER_AGENT"))
    return child


@azureml_route("write")
def runs_batch(request: HttpRequest, grant: tokens.Grant) -> HttpResponse:
    """``create_children``: the children of one parent, with the ids the client chose,
    in one transaction; each carries its tags."""
    body = _body(request)
    items = body.get("runs") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise ValidationError('The body must be {"runs": [run, ...]}.', field="runs")
    parents = {i.get("parentRunId") for i in items}
    if len(parents) != 1 or not isinstance(next(iter(parents)), str):
        raise ValidationError("The runs of one batch must have one parentRunId.", field="runs")
    parent = _write(grant, parents.pop())
    with transaction.atomic():
        children = services.run_create_children(
            parent=parent, submitted_by=parent.submitted_by, run_ids=[i.get("runId") for i in items]
        )
        for child, item in zip(children, items, strict=True):
            if item.get("tags"):
                services.run_set_tags(run=child, tags=item["tags"])
    services.run_note_client(run=parent, user_agent=request.META.get("HTTP_USER_AGENT"))
    return reply({"runs": {c.run_id: _dto(c) for c in children}, "errors": {}})


@azureml_route("read", run="run_id")
def run_details(request: HttpRequest, grant: tokens.Grant, run: Run) -> HttpResponse:
    logs = [n for n in selectors.file_names(run=run, prefix=filenames.LOGS)]
    files = {name: _content_uri(request, grant, run, name, "get") for name in logs}
    return reply(wire.run_details(selectors.run_get(run_id=run.run_id), files))


@azureml_route("read", run="run_id")
def run_children(request: HttpRequest, grant: tokens.Grant, run: Run) -> HttpResponse:
    children = selectors.run_children_page(run=run, limit=1000)
    return reply({"value": [_dto(c) for c in children], "continuationToken": None})


# --- events --------------------------------------------------------------------------


def _event(grant: tokens.Grant, run: Run, event: object, where: str) -> None:
    """Run.Start, Run.Error (Failed, with the message), Run.Failed, Run.Canceled, and
    Run.Completed for runs other than the job's own: the supervisor owns its status."""
    if not isinstance(event, dict) or not isinstance(event.get("name"), str):
        raise ValidationError(f"{where} must be an event with a name.", field=where)
    name = event["name"].removeprefix(wire.EVENT_PREFIX)
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    if name == "Start":
        if run.status in (
            RunStatus.NOT_STARTED,
            RunStatus.QUEUED,
            RunStatus.PREPARING,
            RunStatus.STARTING,
        ):
            services.run_transition(run=run, status=RunStatus.RUNNING, reason="started")
    elif name == "Error":
        error = (data.get("ErrorResponse") or data.get("errorResponse") or {}).get("error") or {}
        if run.status != RunStatus.FAILED:
            services.run_fail(
                run=run,
                error_details=str(error.get("message") or "The script reported an error."),
                error_code=str(error.get("code") or "UserError")[:100],
            )
    elif name == "Failed":
        if run.status != RunStatus.FAILED:
            services.run_fail(run=run)
    elif name == "Canceled":
        if run.status not in transitions.TERMINAL:
            services.run_cancel(run=run)
    elif name == "Completed":
        if run.run_id != grant.run_id and run.status not in transitions.TERMINAL:
            services.run_complete(run=run)
    elif name not in ("Heartbeat", "Warning"):
        raise ValidationError(f"{where}: unknown event {event['name']!r}.", field=where)


@azureml_route("write", run="run_id")
def run_events(request: HttpRequest, grant: tokens.Grant, run: Run) -> HttpResponse:
    _event(grant, run, _body(request), "event")
    return reply({})


@azureml_route("write")
def events_batch(request: HttpRequest, grant: tokens.Grant) -> HttpResponse:
    """Events of many runs (``create_children`` starts its children so); each run is
    fetched through the token's scope, and a refused one is reported, not applied."""
    body = _body(request)
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        raise ValidationError('The body must be {"events": [event, ...]}.', field="events")
    errors, done = [], []
    for i, event in enumerate(events):
        data = event.get("data") if isinstance(event, dict) else None
        run_id = data.get("RunId") if isinstance(data, dict) else None
        try:
            if not isinstance(run_id, str):
                raise ValidationError(f"events[{i}].data.RunId is required.", field=f"events[{i}]")
            _event(grant, _write(grant, run_id), event, f"events[{i}]")
            done.append({"runId": run_id})
        except StudioError as exc:
            errors.append({"runId": run_id, "error": wire.error(exc)})
    return reply({"errors": errors, "successfulResults": done})


# --- metrics -------------------------------------------------------------------------


@azureml_route("write", run="run_id")
def metrics_batch(request: HttpRequest, grant: tokens.Grant, run: Run) -> HttpResponse:
    """A BatchMetricV2Dto, all of it or nothing; a batch sent again is stored once."""
    batch_id, series, records = wire.metric_batch(_body(request))
    services.metric_log_batch(run=run, batch_id=batch_id, series=series, records=records)
    return reply({"errors": []})


@azureml_route("read", run="run_id")
def metrics_ingest_wait(request: HttpRequest, grant: tokens.Grant, run: Run) -> HttpResponse:
    """Ingest is synchronous here: what was acknowledged is readable already."""
    return reply({})


@azureml_route("read", run="run_id")
def metrics_list(request: HttpRequest, grant: tokens.Grant, run: Run) -> HttpResponse:
    names = [
        {"metricKey": {"namespace": None, "name": s.name}, "columns": {}}
        for s in selectors.metric_summaries(run=run)
    ]
    return reply({"value": names, "continuationToken": None})


@azureml_route("read", run="run_id")
def metrics_full(request: HttpRequest, grant: tokens.Grant, run: Run) -> HttpResponse:
    body = _body(request)
    name = body.get("metricName") if isinstance(body, dict) else None
    summary = selectors.metric_summaries(run=run).filter(name=name).first()
    if summary is None:
        raise NotFound(f"Metric {name!r} does not exist.", field="metricName")
    container = wire.container_of(run.run_id)
    if summary.kind in ("scalar", "text"):
        series = selectors.metric_series(run=run, name=name)
        return reply(
            wire.metric_dto(name=name, kind=summary.kind, container=container, series=series)
        )
    records = list(
        MetricRecord.objects.filter(run=run, name=name)
        .order_by("id")
        .values_list("data", flat=True)
    )
    return reply(
        wire.metric_dto(name=name, kind=summary.kind, container=container, records=records)
    )


# --- artifacts -----------------------------------------------------------------------


def _content_uri(request: HttpRequest, grant: tokens.Grant, run: Run, path: str, op: str) -> str:
    token, _ = tokens.mint(token=grant.token, audience=tokens.CONTENT, path=path, op=op)
    where = f"/{PREFIX}/content/{quote(run.run_id)}/{quote(path)}"
    return request.build_absolute_uri(where) + f"?token={token}"


def _container_run(grant: tokens.Grant, origin: str, container: str, need: str) -> Run:
    if origin != wire.ORIGIN:
        raise NotFound(f"Unknown artifact origin {origin!r}.", field="origin")
    run_id = wire.run_of_container(container)
    return access.access_run(grant.user, run_id, need=need, token=grant.token)


@azureml_route("write")
def artifacts_create(
    request: HttpRequest, grant: tokens.Grant, origin: str, container: str
) -> HttpResponse:
    """Names the files about to be uploaded; answers where to send each one."""
    run = _container_run(grant, origin, container, "write")
    body = _body(request)
    paths = body.get("paths") if isinstance(body, dict) else None
    if not isinstance(paths, list) or not paths:
        raise ValidationError('The body must be {"paths": [{"path": ...}, ...]}.', field="paths")
    names = []
    for i, item in enumerate(paths):
        name = item.get("path") if isinstance(item, dict) else None
        names.append(storage.check_file_name(name) if isinstance(name, str) else None)
        if names[-1] is None:
            raise ValidationError(f"paths[{i}].path must be a file name.", field=f"paths[{i}]")
    services.run_note_client(run=run, user_agent=request.META.get("HTTP_USER_AGENT"))
    return reply(
        {
            "artifacts": {n: wire.artifact(container, n) for n in names},
            "artifactContentInformation": {
                n: wire.content_info(container, n, _content_uri(request, grant, run, n, "put"))
                for n in names
            },
            "errors": {},
        }
    )


@azureml_route("read")
def artifacts_list(
    request: HttpRequest, grant: tokens.Grant, origin: str, container: str, path: str = ""
) -> HttpResponse:
    run = _container_run(grant, origin, container, "read")
    names = selectors.file_names(run=run, prefix=path or None)
    return reply({"value": [wire.artifact(container, n) for n in names], "continuationToken": None})


@azureml_route("read")
def artifacts_prefix_info(
    request: HttpRequest, grant: tokens.Grant, origin: str, container: str, path: str = ""
) -> HttpResponse:
    run = _container_run(grant, origin, container, "read")
    names = selectors.file_names(run=run, prefix=path or None)
    value = [
        wire.content_info(container, n, _content_uri(request, grant, run, n, "get")) for n in names
    ]
    return reply({"value": value, "continuationToken": None})


@azureml_route("read")
def artifact_info(
    request: HttpRequest, grant: tokens.Grant, origin: str, container: str, path: str
) -> HttpResponse:
    run = _container_run(grant, origin, container, "read")
    selectors.file_get(run=run, name=path)
    return reply(wire.content_info(container, path, _content_uri(request, grant, run, path, "get")))


@azureml_route("read")
def artifact_download(
    request: HttpRequest, grant: tokens.Grant, origin: str, container: str, path: str
) -> HttpResponse:
    run = _container_run(grant, origin, container, "read")
    return _file_response(selectors.file_get(run=run, name=path))


def _file_response(run_file) -> FileResponse:
    response = FileResponse(
        selectors.file_open(run_file=run_file),
        as_attachment=True,
        filename=run_file.name.rsplit("/", 1)[-1],
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


class _Exact:
    """The upload's body, refused if it ends before its declared length (a dropped
    connection must not leave a truncated file)."""

    def __init__(self, body, declared: int) -> None:
        self.body, self.declared, self.seen = body, declared, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.body.read(size)
        self.seen += len(chunk)
        if not chunk and self.seen < self.declared:
            raise ValidationError(
                f"The upload ended after {self.seen} of {self.declared} bytes.", field="body"
            )
        return chunk


def _declared_length(request: HttpRequest) -> int:
    """The upload's Content-Length (the job's PUT always sends one); over the upload
    limit it is refused before a byte is read (the storage refuses it anyway)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        raise LengthRequired(
            "Send the file with a Content-Length.", field="Content-Length"
        ) from None
    if declared > settings.STUDIO_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(
            f"Files are limited to {settings.STUDIO_MAX_UPLOAD_BYTES} bytes.", field="body"
        )
    return declared


@csrf_exempt
def content(request: HttpRequest, run_id: str, path: str) -> HttpResponse:
    """A content URI: PUT uploads the file (``jobsite/sitecustomize``), GET downloads
    it. Its token is for this file and this operation only."""
    op = "put" if request.method == "PUT" else "get"
    try:
        grant = tokens.verify(
            request.GET.get("token", ""), audience=tokens.CONTENT, path=path, op=op
        )
        need = "write" if op == "put" else "read"
        run = access.access_run(grant.user, run_id, need=need, token=grant.token)
        if op == "get":
            return _file_response(selectors.file_get(run=run, name=path))
        body = _Exact(request, _declared_length(request))
        run_file = services.run_file_upload(run=run, name=path, content=body)
        return reply({"name": run_file.name, "size": run_file.size}, 201)
    except StudioError as exc:
        return _fail(exc)


label_policy(content, "read", "write", {"run": "run_id"})
