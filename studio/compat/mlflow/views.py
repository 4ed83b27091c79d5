"""MLflow's tracking REST API endpoints: parse MLflow's request, fetch the objects
through the access helpers, call a tracking service or selector, answer in MLflow's
shape. Errors are MLflow's ``{"error_code", "message"}`` with its HTTP statuses."""

from __future__ import annotations

import functools
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from studio.accounts.access import (
    access_experiment,
    access_new_run,
    access_run,
    access_workspace,
    access_workspaces,
    bearer_authenticate,
    scoped_experiments,
    scoped_runs,
)
from studio.accounts.routes import declare_policy, label_policy, route
from studio.compat.mlflow import protocol
from studio.compat.mlflow import selectors as mlflow_selectors
from studio.core.uploads import upload_body
from studio.errors import NotAuthenticated, NotFound, StudioError, ValidationError
from studio.rules import transitions
from studio.tracking import selectors, services
from studio.tracking.models import Experiment, Run, Workspace
from studio.tracking.runlist import pages

logger = logging.getLogger("studio.compat.mlflow")


# --- the frame: authentication, errors, JSON -----------------------------------------


def _response(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(protocol.dumps(data), status=status, content_type="application/json")


def _error(code: str, message: str) -> HttpResponse:
    return _response({"error_code": code, "message": message}, protocol.HTTP_STATUS[code])


def mlflow_endpoint(need: str, *methods: str) -> Callable:
    """An MLflow endpoint: ``Authorization: Bearer <Studio API token>`` (as
    ``MLFLOW_TRACKING_TOKEN`` sends it; never a cookie), the HTTP ``methods`` it
    answers, and ``need``, the route policy (tests/routes/) that the access
    helpers the view calls enforce on each object."""
    declare_policy(need, {})

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @functools.wraps(view)
        def enforced(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return _error("ENDPOINT_NOT_FOUND", f"No {request.method} on {request.path}.")
            try:
                _authenticate(request)
                return view(request, **kwargs)
            except StudioError as exc:
                return _error(protocol.error_code(exc), exc.message)
            except Exception:
                logger.exception("Unexpected error in %s %s", request.method, request.path)
                return _error("INTERNAL_ERROR", "The server failed; the error has been logged.")

        label_policy(enforced, need, need, {})
        return enforced

    return decorate


def _authenticate(request: HttpRequest) -> None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    token = bearer_authenticate(request, secret.strip()) if scheme == "Bearer" else None
    if token is None:
        raise NotAuthenticated(
            "Send a Studio API token: set MLFLOW_TRACKING_TOKEN=<token> "
            "(Authorization: Bearer <token>)."
        )
    request.auth = token  # type: ignore[attr-defined]


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("The body is not JSON.", field="body") from None
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object.", field="body")
    return body


def _params(request: HttpRequest) -> dict[str, Any]:
    return _body(request) if request.method != "GET" else request.GET.dict()


def _ms(when) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)


# --- objects, through the access helpers ----------------------------------------------


def _workspace(request: HttpRequest, need: str = "read") -> Workspace:
    """The token's workspace: the one it is narrowed to (or its run's), else the
    user's only workspace."""
    token = request.auth
    if token.workspace_id is not None:
        name = token.workspace.name
    elif token.run_id is not None:
        name = token.run.workspace.name
    else:
        names = list(
            access_workspaces(request.user, token=token)
            .filter(archived=False)
            .order_by("name")
            .values_list("name", flat=True)[:6]
        )
        if len(names) != 1:
            raise ValidationError(
                "MLflow logs into one workspace: this token is not narrowed to one and "
                f"you belong to {len(names) if len(names) < 6 else 'many'} "
                f"({', '.join(names[:5])}). Create a token for one workspace "
                "(Settings → API tokens) and set MLFLOW_TRACKING_TOKEN to it.",
                field="token",
            )
        name = names[0]
    return access_workspace(request.user, name, need=need, token=token)


def _experiment(request: HttpRequest, experiment_id: object, need: str = "read") -> Experiment:
    pk = protocol.experiment_pk(experiment_id)
    workspace = _workspace(request)
    if pk is None:  # MLflow's default experiment: made on first use, as MLflow has it
        name = protocol.DEFAULT_EXPERIMENT_NAME
        if need == "write":
            writable = access_workspace(
                request.user, workspace.name, need="write", token=request.auth
            )
            services.experiment_get_or_create(workspace=writable, name=name)
    else:
        name = mlflow_selectors.experiment_name_of(workspace=workspace, pk=pk)
        if name is None:
            raise NotFound(f"No Experiment with id={experiment_id} exists", field="experiment_id")
    return access_experiment(request.user, workspace.name, name, need=need, token=request.auth)


def _run(
    request: HttpRequest,
    run_hex: object,
    need: str = "read",
    light: bool = False,
    deleted_ok: bool = False,
) -> Run:
    """The run ``run_hex`` through ``access_run``; ``light``: without its tags,
    properties, experiment and parent (for logging calls, which read none of them).
    A write to a deleted run is refused (after the access check), as MLflow does,
    except for ``deleted_ok`` (runs/delete, runs/restore)."""
    found = mlflow_selectors.run_id_of(uuid_hex=protocol.run_hex(run_hex))
    if found is None:
        raise NotFound(f"Run with id={run_hex} not found", field="run_id")
    run_id, lifecycle = found
    run = access_run(request.user, run_id, need=need, token=request.auth, light=light)
    if need != "read" and not deleted_ok:
        protocol.check_active(lifecycle, run.uuid.hex)
    return run


def _run_of(
    request: HttpRequest,
    body: dict[str, Any],
    need: str = "read",
    light: bool = False,
    deleted_ok: bool = False,
) -> Run:
    return _run(request, body.get("run_id") or body.get("run_uuid"), need, light, deleted_ok)


def _wrote(request: HttpRequest, run: Run) -> None:
    services.run_note_client(run=run, user_agent=request.headers.get("User-Agent"))


# --- serializing ------------------------------------------------------------------


def _experiment_dict(experiment: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": str(experiment.pk),
        "name": experiment.name,
        "artifact_location": f"mlflow-artifacts:/{experiment.pk}",
        "lifecycle_stage": "active",
        "creation_time": _ms(experiment.created_at),
        "last_update_time": _ms(experiment.last_activity_at or experiment.created_at),
        "tags": [],
    }


def _lifecycle(run: Run) -> str:
    """MLflow's lifecycle stage of a run loaded with its tags (deleted: the tag)."""
    deleted = any(t.key == protocol.LIFECYCLE_TAG for t in run.tags.all())
    return protocol.DELETED if deleted else protocol.ACTIVE


def _run_info(run: Run) -> dict[str, Any]:
    run_hex = run.uuid.hex
    info = {
        "run_id": run_hex,
        "run_uuid": run_hex,
        "experiment_id": str(run.experiment_id),
        "run_name": run.display_name or run.label,
        "user_id": run.submitted_by,
        "status": protocol.TO_MLFLOW[run.status],
        "start_time": _ms(run.started_at or run.created_at),
        "artifact_uri": protocol.artifact_uri(str(run.experiment_id), run_hex),
        "lifecycle_stage": _lifecycle(run),
    }
    if run.ended_at is not None:
        info["end_time"] = _ms(run.ended_at)
    return info


def _run_dict(run: Run) -> dict[str, Any]:
    tags = [
        {"key": t.key, "value": t.value or ""}
        for t in run.tags.all()
        if t.key != protocol.LIFECYCLE_TAG  # shown as info.lifecycle_stage
    ]
    tags.append({"key": protocol.NAME_TAG, "value": run.display_name or run.label})
    if run.parent_id is not None:
        tags.append({"key": protocol.PARENT_TAG, "value": run.parent.uuid.hex})
    metrics = [
        {
            "key": s.name,
            "value": float("nan") if s.last_is_nan else s.last_value,
            "timestamp": int((s.last_time or 0) * 1000),
            "step": s.last_step or 0,
        }
        for s in getattr(run, "scalar_summaries", ())
    ]
    return {
        "info": _run_info(run),
        "data": {
            "metrics": metrics,
            "params": [{"key": p.key, "value": p.value} for p in run.properties.all()],
            "tags": tags,
        },
        "inputs": {},
        "outputs": {},
    }


def _full(run: Run) -> dict[str, Any]:
    return _run_dict(mlflow_selectors.run_full(run=run))


# --- experiments ----------------------------------------------------------------------


@mlflow_endpoint("write", "POST")
def experiment_create(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    name = protocol.text(body.get("name"), "name")
    workspace = _workspace(request, need="write")
    if mlflow_selectors.experiment_id_of(workspace=workspace, name=name) is not None:
        raise protocol.AlreadyExists(f"Experiment '{name}' already exists.", field="name")
    experiment = services.experiment_get_or_create(workspace=workspace, name=name)
    return _response({"experiment_id": str(experiment.pk)})


@mlflow_endpoint("read", "GET")
def experiment_get(request: HttpRequest) -> HttpResponse:
    experiment = _experiment(request, request.GET.get("experiment_id"))
    return _response({"experiment": _experiment_dict(experiment)})


@mlflow_endpoint("read", "GET")
def experiment_get_by_name(request: HttpRequest) -> HttpResponse:
    name = protocol.text(request.GET.get("experiment_name"), "experiment_name")
    workspace = _workspace(request)
    try:
        experiment = access_experiment(request.user, workspace.name, name, token=request.auth)
    except NotFound:
        raise NotFound(f"Could not find experiment with name '{name}'") from None
    return _response({"experiment": _experiment_dict(experiment)})


@mlflow_endpoint("read", "POST")
def experiment_search(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    workspace = _workspace(request)
    found = mlflow_selectors.experiments(
        workspace=workspace, base=scoped_experiments(Experiment.objects.all(), request.auth)
    )
    name = protocol.experiment_name_filter(body.get("filter"))
    if name is not None:
        found = found.filter(name=name)
    size = protocol.integer(body.get("max_results"), "max_results", default=1000)
    offset = protocol.integer(body.get("page_token") or "0", "page_token")
    chunk = list(found[offset : offset + size + 1])
    answer: dict[str, Any] = {"experiments": [_experiment_dict(e) for e in chunk[:size]]}
    if len(chunk) > size:
        answer["next_page_token"] = str(offset + size)
    return _response(answer)


# --- runs ------------------------------------------------------------------------------


@mlflow_endpoint("write", "POST")
def run_create(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    experiment = _experiment(request, body.get("experiment_id"), need="write")
    tags = dict(protocol.pairs(body.get("tags") or [], "tags"))
    parent_hex = tags.pop(protocol.PARENT_TAG, None)
    protocol.check_tag_keys(tags)
    name = body.get("run_name") or tags.pop(protocol.NAME_TAG, None) or ""
    tags.pop(protocol.NAME_TAG, None)
    parent_id = None
    if parent_hex:
        parent_id = _run(request, parent_hex, need="write").run_id
    workspace, parent = access_new_run(
        request.user, experiment.workspace.name, parent_id, token=request.auth
    )
    run = services.run_create(
        experiment=experiment,
        submitted_by=request.user.get_username(),
        parent=parent,
        display_name=protocol.text(name, "run_name", required=False),
        tags=tags,
    )
    _wrote(request, run)
    return _response({"run": _full(run)})


@mlflow_endpoint("read", "GET")
def run_get(request: HttpRequest) -> HttpResponse:
    run = _run_of(request, request.GET.dict())
    return _response({"run": _full(run)})


@mlflow_endpoint("write", "POST")
def run_update(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    run = _run_of(request, body, need="write")
    status = body.get("status")
    if status is not None and status not in protocol.FROM_MLFLOW:
        raise ValidationError(f"Studio cannot set a run to {status!r}.", field="status")
    with transaction.atomic():
        if body.get("run_name"):
            services.run_update(run=run, display_name=protocol.text(body["run_name"], "run_name"))
        if status is not None:
            _set_status(run, protocol.FROM_MLFLOW[status])
    _wrote(request, run)
    return _response({"run_info": _run_info(selectors.run_get(run_id=run.run_id))})


def _set_status(run: Run, target: str) -> None:
    if run.status == target:
        return
    if target == transitions.COMPLETED:
        services.run_complete(run=run)
    elif target == transitions.FAILED:
        services.run_fail(run=run)
    elif target == transitions.CANCELED:
        services.run_cancel(run=run)
    else:
        services.run_transition(run=run, status=target)


@mlflow_endpoint("read", "POST")
def run_search(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    ids = body.get("experiment_ids") or []
    if not isinstance(ids, list) or not ids:
        raise ValidationError("experiment_ids must name at least one experiment.", field="ids")
    experiments = [_experiment(request, e) for e in ids]
    search = protocol.search_filter(body.get("filter"))
    lifecycle = protocol.run_view_filter(body.get("run_view_type"))
    if lifecycle is not None:
        search.terms.append(lifecycle)
    workspace = experiments[0].workspace
    base = scoped_runs(Run.objects.filter(workspace=workspace), request.auth)
    if search.run_ids is not None:
        base = base.filter(uuid__in=[protocol.run_hex(r) for r in search.run_ids])
    if search.parent is not None:
        base = base.filter(parent__uuid=protocol.run_hex(search.parent))
    size = protocol.integer(body.get("max_results"), "max_results", default=1000)
    if not 1 <= size <= protocol.MAX_RESULTS:
        raise ValidationError(
            f"max_results must be 1..{protocol.MAX_RESULTS}.", field="max_results"
        )
    page = mlflow_selectors.runs_search(
        workspace=workspace,
        base=base,
        experiment_names=[e.name for e in experiments],
        expression=search.expression,
        sort=protocol.order(body.get("order_by")),
        size=min(size, pages.MAX_PAGE_SIZE),
        after=body.get("page_token") or None,
    )
    answer: dict[str, Any] = {"runs": [_run_dict(r) for r in page.runs]}
    if page.next_cursor:
        answer["next_page_token"] = page.next_cursor
    return _response(answer)


@mlflow_endpoint("write", "POST")
def run_delete(request: HttpRequest) -> HttpResponse:
    """MLflow's soft delete: the run gets the tag ``mlflow.lifecycleStage=deleted``
    (runs/search hides it unless asked, writes to it are refused); Studio keeps it,
    listed with that tag."""
    run = _run_of(request, _body(request), need="write", deleted_ok=True)
    services.run_set_tags(run=run, tags={protocol.LIFECYCLE_TAG: protocol.DELETED})
    return _response({})


@mlflow_endpoint("write", "POST")
def run_restore(request: HttpRequest) -> HttpResponse:
    """Undo runs/delete: the lifecycle tag goes."""
    run = _run_of(request, _body(request), need="write", deleted_ok=True)
    services.run_remove_tags(run=run, keys=[protocol.LIFECYCLE_TAG])
    return _response({})


# --- logging ---------------------------------------------------------------------------


def _log(run: Run, metrics: list, params: list, tags: list) -> None:
    """One MLflow logging call, all of it or nothing: params (properties, which
    refuse another value for a key), tags, metrics."""
    params_ = dict(protocol.pairs(params, "params"))
    tags_ = dict(protocol.pairs(tags, "tags"))
    series = protocol.metric_series(metrics)
    name = tags_.pop(protocol.NAME_TAG, None)
    protocol.check_tag_keys(tags_)
    if not (params_ or tags_ or name):  # metrics only: the service's own transaction
        if series:
            services.metric_log_batch(run=run, batch_id=services.new_batch_id(), series=series)
        return
    with transaction.atomic():
        if params_:
            services.run_add_properties(
                run=run, properties={k: "" if v is None else v for k, v in params_.items()}
            )
        if tags_:
            services.run_set_tags(run=run, tags=tags_)
        if name:
            services.run_update(run=run, display_name=name)
        if series:
            services.metric_log_batch(run=run, batch_id=services.new_batch_id(), series=series)


@mlflow_endpoint("write", "POST")
def log_batch(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    metrics, params, tags = (body.get(k) or [] for k in ("metrics", "params", "tags"))
    protocol.check_batch_limits(metrics, params, tags)
    run = _run_of(request, body, need="write", light=True)
    _log(run, metrics, params, tags)
    _wrote(request, run)
    return _response({})


@mlflow_endpoint("write", "POST")
def log_metric(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    run = _run_of(request, body, need="write", light=True)
    metric = {k: body.get(k) for k in ("key", "value", "timestamp", "step")}
    _log(run, [metric], [], [])
    _wrote(request, run)
    return _response({})


@mlflow_endpoint("write", "POST")
def log_parameter(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    run = _run_of(request, body, need="write")
    _log(run, [], [{"key": body.get("key"), "value": body.get("value")}], [])
    _wrote(request, run)
    return _response({})


@mlflow_endpoint("write", "POST")
def set_tag(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    run = _run_of(request, body, need="write")
    _log(run, [], [], [{"key": body.get("key"), "value": body.get("value")}])
    _wrote(request, run)
    return _response({})


@mlflow_endpoint("write", "POST")
def delete_tag(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    run = _run_of(request, body, need="write")
    key = protocol.text(body.get("key"), "key")
    protocol.check_tag_keys([key])
    if not run.tags.filter(key=key).exists():
        raise NotFound(f"No tag with name: {key} in run with id {run.uuid.hex}", field="key")
    services.run_remove_tags(run=run, keys=[key])
    _wrote(request, run)
    return _response({})


@mlflow_endpoint("read", "GET")
def metric_history(request: HttpRequest) -> HttpResponse:
    run = _run_of(request, request.GET.dict())
    key = protocol.text(request.GET.get("metric_key"), "metric_key")
    size = protocol.integer(request.GET.get("max_results"), "max_results", default=25_000)
    offset = protocol.integer(request.GET.get("page_token") or "0", "page_token")
    steps, values, times = selectors.metric_series(run=run, name=key)
    end = min(offset + size, len(steps))
    answer: dict[str, Any] = {
        "metrics": [
            {
                "key": key,
                "value": float(values[i]),
                "timestamp": int(round(float(times[i]) * 1000)),
                "step": int(steps[i]),
            }
            for i in range(offset, end)
        ]
    }
    if end < len(steps):
        answer["next_page_token"] = str(end)
    return _response(answer)


# --- the artifact proxy ---------------------------------------------------------------


def _artifact_run(request: HttpRequest, path: str, need: str) -> tuple[Run, str]:
    experiment_id, run_hex, rest = protocol.artifact_path(path)
    run = _run(request, run_hex, need=need)
    if str(run.experiment_id) != experiment_id:
        raise NotFound(f"Run with id={run_hex} not found", field="path")
    return run, rest


@mlflow_endpoint("write", "GET", "PUT")
def artifact(request: HttpRequest, path: str) -> HttpResponse:
    """PUT: upload the body as the run's file ``outputs/<path>``; GET: download it."""
    if request.method == "PUT":
        run, rest = _artifact_run(request, path, "write")
        if not rest:
            raise ValidationError("Name the artifact's path.", field="path")
        body = upload_body(request, settings.STUDIO_MAX_UPLOAD_BYTES)
        services.run_file_upload(run=run, name=protocol.OUTPUTS + rest, content=body)
        _wrote(request, run)
        return _response({})
    run, rest = _artifact_run(request, path, "read")
    run_file = selectors.file_get(run=run, name=protocol.OUTPUTS + rest)
    response = FileResponse(
        selectors.file_open(run_file=run_file),
        as_attachment=True,
        filename=run_file.name.rsplit("/", 1)[-1],
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


@mlflow_endpoint("read", "GET")
def artifact_list(request: HttpRequest) -> HttpResponse:
    """The files and folders directly under ``?path=<experiment>/<run>/artifacts/...``."""
    run, rest = _artifact_run(request, request.GET.get("path", ""), "read")
    prefix = protocol.OUTPUTS + (rest.rstrip("/") + "/" if rest else "")
    entries: dict[str, dict[str, Any]] = {}
    for name, size in mlflow_selectors.artifact_files(run=run, prefix=prefix):
        head, sep, _ = name[len(prefix) :].partition("/")
        if sep:
            entries.setdefault(head, {"path": head, "is_dir": True})
        else:
            entries[head] = {"path": head, "is_dir": False, "file_size": size}
    return _response({"files": list(entries.values())})


@route("public")
@csrf_exempt
def unknown(request: HttpRequest, rest: str) -> HttpResponse:
    """Any other path under /api/2.0/: MLflow's ENDPOINT_NOT_FOUND, which the client
    raises as its own exception (logged models, traces ... are not served)."""
    return _error("ENDPOINT_NOT_FOUND", f"Studio does not serve {request.method} /api/2.0/{rest}.")


# --- logged models and run inputs/outputs (MLflow 3; see protocol) -----------------


def _model(request: HttpRequest, model: object, need: str = "read") -> tuple[Run, dict]:
    run = _run(request, protocol.model_run(model), need=need)
    stored = run.tags.filter(key=protocol.MODEL_TAG + str(model)).values_list("value", flat=True)
    raw = stored.first()
    if raw is None:
        raise NotFound(f"Logged model with ID '{model}' not found.", field="model_id")
    return run, json.loads(raw)


def _save_model(run: Run, model: str, record: dict) -> dict:
    record["updated"] = int(time.time() * 1000)
    services.run_set_tags(run=run, tags={protocol.MODEL_TAG + model: json.dumps(record)})
    answer = protocol.model_dict(
        record, model=model, experiment_id=str(run.experiment_id), run_id=run.uuid.hex
    )
    return {"model": answer}


@mlflow_endpoint("write", "POST")
def model_create(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    if not body.get("source_run_id"):
        raise ValidationError(
            "Studio keeps a logged model with its run: log it inside mlflow.start_run().",
            field="source_run_id",
        )
    run = _run(request, body["source_run_id"], need="write")
    _experiment(request, body.get("experiment_id"))  # the caller sees it
    model = protocol.model_id(run.uuid.hex, secrets.token_hex(6))
    record = {
        "name": protocol.text(body.get("name") or "model", "name"),
        "model_type": body.get("model_type") or "",
        "status": "LOGGED_MODEL_PENDING",
        "params": {k: str(v) for k, v in protocol.pairs(body.get("params") or [], "params")},
        "tags": {k: str(v) for k, v in protocol.pairs(body.get("tags") or [], "tags")},
        "created": int(time.time() * 1000),
    }
    answer = _save_model(run, model, record)
    _wrote(request, run)
    return _response(answer)


@mlflow_endpoint("write", "GET", "PATCH")
def model_get(request: HttpRequest, model: str) -> HttpResponse:
    """GET: the logged model; PATCH: finalize it (its status)."""
    if request.method == "GET":
        run, record = _model(request, model)
        return _response(
            {
                "model": protocol.model_dict(
                    record, model=model, experiment_id=str(run.experiment_id), run_id=run.uuid.hex
                )
            }
        )
    run, record = _model(request, model, need="write")
    status = _body(request).get("status")
    if status not in protocol.MODEL_STATUSES:
        raise ValidationError(f"Unknown logged model status {status!r}.", field="status")
    record["status"] = status
    return _response(_save_model(run, model, record))


def _model_pairs_update(request: HttpRequest, model: str, field: str) -> HttpResponse:
    """Add the body's ``field`` (``params`` or ``tags``: key/value pairs) to a logged
    model's record."""
    run, record = _model(request, model, need="write")
    pairs = protocol.pairs(_body(request).get(field) or [], field)
    record[field].update({k: str(v) for k, v in pairs})
    _save_model(run, model, record)
    return _response({})


@mlflow_endpoint("write", "POST")
def model_params(request: HttpRequest, model: str) -> HttpResponse:
    return _model_pairs_update(request, model, "params")


@mlflow_endpoint("write", "PATCH")
def model_tags(request: HttpRequest, model: str) -> HttpResponse:
    return _model_pairs_update(request, model, "tags")


@mlflow_endpoint("write", "POST")
def log_inputs(request: HttpRequest) -> HttpResponse:
    """Datasets a run used: one tag per dataset, ``mlflow.dataset.<name>``, holding
    its digest, source type and context (MLflow's dataset entities have no Studio
    counterpart)."""
    body = _body(request)
    run = _run_of(request, body, need="write")
    tags = {}
    for i, item in enumerate(body.get("datasets") or []):
        dataset = item.get("dataset") if isinstance(item, dict) else None
        if not isinstance(dataset, dict) or not isinstance(dataset.get("name"), str):
            raise ValidationError(f"datasets[{i}] needs a dataset with a name.", field="datasets")
        context = {t.get("key"): t.get("value") for t in item.get("tags") or []}
        summary = {
            "digest": dataset.get("digest"),
            "source_type": dataset.get("source_type"),
            "context": context.get("mlflow.data.context"),
        }
        tags[f"mlflow.dataset.{dataset['name']}"] = json.dumps(summary)
    if tags:
        services.run_set_tags(run=run, tags=tags)
        _wrote(request, run)
    return _response({})


@mlflow_endpoint("write", "POST")
def log_outputs(request: HttpRequest) -> HttpResponse:
    """Models a run produced: a model logged under the run already belongs to it;
    one of another run is refused."""
    body = _body(request)
    run = _run_of(request, body, need="write")
    for item in body.get("models") or []:
        model = item.get("model_id") if isinstance(item, dict) else None
        if protocol.model_run(model) != run.uuid.hex:
            raise ValidationError(
                "Studio keeps a logged model with the run that logged it.", field="models"
            )
        _model(request, model)
    return _response({})
