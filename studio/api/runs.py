"""Workspaces, experiments and runs. Each endpoint: access helper, service or
selector, serialize. Objects the caller may not see answer 404."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.db.models import Q
from django.http import HttpRequest

from studio.accounts.access import access_run, access_runs, access_workspace
from studio.api.base import api, page_limit
from studio.api.schemas import (
    ChildrenIn,
    EmptyIn,
    ExperimentIn,
    FailIn,
    HeartbeatIn,
    PropertiesIn,
    RunIn,
    RunPatchIn,
    TagKeysIn,
    TagsIn,
)
from studio.core.policy import policy
from studio.errors import ValidationError
from studio.rules import jsoncodec, validation
from studio.tracking import selectors, services
from studio.tracking.schema import experiment_to_dict, run_to_dict


def _token(request: HttpRequest):
    return request.auth


def _run_dict(run_id: str) -> dict[str, Any]:
    return run_to_dict(selectors.run_get(run_id=run_id))


# --- workspaces and experiments ------------------------------------------------------


@api.get("/workspaces/{name}", tags=["workspaces"])
@policy("read")
def workspace_get(request: HttpRequest, name: str):
    workspace = access_workspace(request.user, name, token=_token(request))
    return {"name": workspace.name}


@api.get("/workspaces/{name}/experiments", tags=["experiments"])
@policy("read")
def experiment_list(request: HttpRequest, name: str):
    workspace = access_workspace(request.user, name, token=_token(request))
    return {
        "experiments": [
            experiment_to_dict(e) for e in selectors.experiment_list(workspace=workspace)
        ]
    }


@api.post("/workspaces/{name}/experiments", tags=["experiments"])
@policy("write")
def experiment_get_or_create(request: HttpRequest, name: str, payload: ExperimentIn):
    workspace = access_workspace(request.user, name, write=True, token=_token(request))
    experiment = services.experiment_get_or_create(workspace=workspace, name=payload.name)
    return experiment_to_dict(experiment)


# --- runs ---------------------------------------------------------------------------


@api.post("/workspaces/{name}/runs", tags=["runs"])
@policy("write")
def run_create(request: HttpRequest, name: str, payload: RunIn):
    token = _token(request)
    if payload.parent_id:
        parent = access_run(request.user, payload.parent_id, write=True, token=token)
        workspace = parent.workspace
        if workspace.name != name:
            raise ValidationError("The parent run is in another workspace.", field="parent_id")
    else:
        parent = None
        workspace = access_workspace(request.user, name, write=True, token=token)
    experiment = services.experiment_get_or_create(workspace=workspace, name=payload.experiment)
    run = services.run_create(
        experiment=experiment,
        submitted_by=request.user.get_username(),
        type=payload.type,
        parent=parent,
        display_name=payload.display_name,
        tags=payload.tags,
        properties=payload.properties,
    )
    return api.create_response(request, _run_dict(run.run_id), status=201)


def _cursor_encode(created: dt.datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{created.isoformat()}|{pk}".encode()).decode()


def _cursor_decode(cursor: str) -> tuple[dt.datetime, int]:
    try:
        created, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return dt.datetime.fromisoformat(created), int(pk)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(
            "The cursor is not one this API handed out.", field="cursor"
        ) from None


@api.get("/workspaces/{name}/runs", tags=["runs"])
@policy("read")
def run_list(
    request: HttpRequest,
    name: str,
    experiment: str | None = None,
    filter: str | None = None,
    tags: str | None = None,
    properties: str | None = None,
    type: str | None = None,
    status: str | None = None,
    include_children: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
):
    """Runs newest first, ``limit`` per page (at most 1000); ``next`` is the cursor
    of the following page. ``tags`` and ``properties`` are JSON objects (or, for
    tags, a JSON list of keys); ``filter`` is the filter language."""
    workspace = access_workspace(request.user, name, token=_token(request))
    limit = page_limit(limit)
    exp = selectors.experiment_get(workspace=workspace, name=experiment) if experiment else None
    qs = selectors.run_list(
        workspace=workspace,
        experiment=exp,
        tags=_json_param(tags, "tags"),
        properties=_json_param(properties, "properties"),
        type=type,
        status=status,
        include_children=include_children,
        filter=filter,
    )
    if cursor:
        created, pk = _cursor_decode(cursor)
        qs = qs.filter(Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk))
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {
        "runs": [run_to_dict(r) for r in page],
        "next": _cursor_encode(page[-1].created_at, page[-1].pk) if more else None,
    }


def _json_param(raw: str | None, field: str) -> Any:
    if raw is None:
        return None
    value = jsoncodec.loads(raw)
    if not isinstance(value, (dict, list, str)):
        raise ValidationError(f"{field} must be a JSON object, list or string.", field=field)
    return value


@api.get("/runs/{run_id}", tags=["runs"])
@policy("read")
def run_get(request: HttpRequest, run_id: str):
    return run_to_dict(access_run(request.user, run_id, token=_token(request)))


@api.patch("/runs/{run_id}", tags=["runs"])
@policy("write")
def run_update(request: HttpRequest, run_id: str, payload: RunPatchIn):
    run = access_run(request.user, run_id, write=True, token=_token(request))
    services.run_update(run=run, display_name=payload.display_name, description=payload.description)
    return _run_dict(run_id)


@api.post("/runs/{run_id}/children", tags=["runs"])
@policy("write")
def run_create_children(request: HttpRequest, run_id: str, payload: ChildrenIn):
    parent = access_run(request.user, run_id, write=True, token=_token(request))
    runs = services.run_create_children(
        parent=parent,
        submitted_by=request.user.get_username(),
        count=payload.count,
        tag_key=payload.tag_key,
        tag_values=payload.tag_values,
    )
    by_id = {r.run_id: r for r in selectors.runs_by_ids(run_ids=[r.run_id for r in runs])}
    return api.create_response(
        request, {"runs": [run_to_dict(by_id[r.run_id]) for r in runs]}, status=201
    )


@api.get("/runs/{run_id}/children", tags=["runs"])
@policy("read")
def run_children(
    request: HttpRequest,
    run_id: str,
    recursive: bool = False,
    tags: str | None = None,
    properties: str | None = None,
    type: str | None = None,
    status: str | None = None,
):
    run = access_run(request.user, run_id, token=_token(request))
    children = selectors.run_children(
        run=run,
        recursive=recursive,
        tags=_json_param(tags, "tags"),
        properties=_json_param(properties, "properties"),
        type=type,
        status=status,
    )
    return {"runs": [run_to_dict(r) for r in children]}


@api.post("/heartbeat", tags=["status"])
@policy("write")
def runs_heartbeat(request: HttpRequest, payload: HeartbeatIn):
    """The caller's process is alive: these runs are not lost. Answers the ids of the
    runs still alive (the caller's, not finished); others are left out."""
    if len(payload.runs) > validation.MAX_HEARTBEAT_RUNS:
        raise ValidationError(
            f"Send at most {validation.MAX_HEARTBEAT_RUNS} runs per heartbeat.", field="runs"
        )
    runs = access_runs(request.user, payload.runs, write=True, token=_token(request))
    alive = services.runs_heartbeat(runs=runs)
    return {"alive": len(alive), "runs": alive}


@api.post("/runs/{run_id}/complete", tags=["status"])
@policy("write")
def run_complete(request: HttpRequest, run_id: str, payload: EmptyIn):
    services.run_complete(run=access_run(request.user, run_id, write=True, token=_token(request)))
    return _run_dict(run_id)


@api.post("/runs/{run_id}/fail", tags=["status"])
@policy("write")
def run_fail(request: HttpRequest, run_id: str, payload: FailIn):
    run = access_run(request.user, run_id, write=True, token=_token(request))
    services.run_fail(run=run, error_details=payload.error_details, error_code=payload.error_code)
    return _run_dict(run_id)


@api.post("/runs/{run_id}/cancel", tags=["status"])
@policy("write")
def run_cancel(request: HttpRequest, run_id: str, payload: EmptyIn):
    services.run_cancel(run=access_run(request.user, run_id, write=True, token=_token(request)))
    return _run_dict(run_id)


@api.post("/runs/{run_id}/properties", tags=["properties and tags"])
@policy("write")
def run_add_properties(request: HttpRequest, run_id: str, payload: PropertiesIn):
    run = access_run(request.user, run_id, write=True, token=_token(request))
    return {"properties": services.run_add_properties(run=run, properties=payload.properties)}


@api.post("/runs/{run_id}/tags", tags=["properties and tags"])
@policy("write")
def run_set_tags(request: HttpRequest, run_id: str, payload: TagsIn):
    run = access_run(request.user, run_id, write=True, token=_token(request))
    services.run_set_tags(run=run, tags=payload.tags)
    return {"tags": _run_dict(run_id)["tags"]}


@api.post("/runs/{run_id}/tags/remove", tags=["properties and tags"])
@policy("write")
def run_remove_tags(request: HttpRequest, run_id: str, payload: TagKeysIn):
    run = access_run(request.user, run_id, write=True, token=_token(request))
    services.run_remove_tags(run=run, keys=payload.keys)
    return {"tags": _run_dict(run_id)["tags"]}
