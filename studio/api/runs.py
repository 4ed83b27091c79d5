"""Workspaces, experiments and runs. Each endpoint: access helper, service or
selector, serialize. Objects the caller may not see answer 404."""

from __future__ import annotations

from typing import Any

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
from studio.rules import validation
from studio.rules.runquery import RunQuery
from studio.tracking import selectors, services
from studio.tracking.runlist import query as runlist
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


@api.get("/workspaces/{name}/runs", tags=["runs"])
@policy("read")
def run_list(request: HttpRequest, name: str, limit: int | None = None, cursor: str | None = None):
    """Runs of the workspace as the one runs query selects them
    (``studio.rules.runquery``: experiment, status, type, tag, prop, q, children,
    parent, recursive, sort ...; also ``tags``/``properties`` as JSON, ``filter`` and
    ``include_children``), newest first unless ``sort`` says otherwise (a column
    key: ``-metric:min:loss``), ``limit`` per page (at most 1000); ``next`` is the
    cursor of the following page."""
    workspace = access_workspace(request.user, name, token=_token(request))
    params = {k: request.GET.getlist(k) for k in request.GET if k not in ("limit", "cursor")}
    query = RunQuery.from_params(params)
    page = runlist.page(query, workspace=workspace, after=cursor, size=page_limit(limit))
    return {"runs": [run_to_dict(r) for r in page.runs], "next": page.next_cursor}


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
def run_children(request: HttpRequest, run_id: str, recursive: bool = False):
    """The run's children, oldest first (every descendant with ``recursive``),
    filtered by the runs query's parameters (``tags``, ``status`` ...)."""
    run = access_run(request.user, run_id, token=_token(request))
    query = RunQuery.from_params({k: request.GET.getlist(k) for k in request.GET})
    query = query.replace(parent=run.run_id, sort=request.GET.get("sort") or "created")
    children = runlist.each(query, workspace=run.workspace)
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
