"""Workspaces, experiments and runs. Each endpoint: access helper, service or
selector, serialize. Objects the caller may not see answer 404."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from studio.accounts.access import (
    access_new_run,
    access_runs,
    role_in,
    scoped_experiments,
    scoped_runs,
)
from studio.accounts.routes import Writer, endpoint
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
from studio.core.client import client_address
from studio.errors import ValidationError
from studio.rules import validation
from studio.rules.runquery import RunQuery
from studio.tracking import selectors, services
from studio.tracking.models import Run, Workspace
from studio.tracking.runlist import query as runlist
from studio.tracking.schema import experiment_to_dict, run_rows, run_to_dict, workspace_to_dict


def _run_dict(run_id: str) -> dict[str, Any]:
    return run_to_dict(selectors.run_get(run_id=run_id))


def _dict_of(run: Run) -> dict[str, Any]:
    """The dictionary of a run fetched ``Writer`` as a service left it (not read
    again): only its tags and properties are read."""
    return run_to_dict(run, selectors.run_labels(run=run))


# --- workspaces and experiments ------------------------------------------------------


@api.get("/workspaces/{name}", tags=["workspaces"])
@endpoint("read", workspace="name")
def workspace_get(request: HttpRequest, workspace: Workspace):
    return workspace_to_dict(workspace, role_in(request.user, workspace))


@api.get("/workspaces/{name}/experiments", tags=["experiments"])
@endpoint("read", workspace="name")
def experiment_list(request: HttpRequest, workspace: Workspace):
    return {
        "experiments": [
            experiment_to_dict(e)
            for e in scoped_experiments(
                selectors.experiment_list(workspace=workspace), request.auth
            )
        ]
    }


@api.post("/workspaces/{name}/experiments", tags=["experiments"])
@endpoint("write", workspace="name")
def experiment_get_or_create(request: HttpRequest, workspace: Workspace, payload: ExperimentIn):
    experiment = services.experiment_get_or_create(workspace=workspace, name=payload.name)
    return experiment_to_dict(experiment)


# --- runs ---------------------------------------------------------------------------


@api.post("/workspaces/{name}/runs", tags=["runs"])
@endpoint("write")
def run_create(request: HttpRequest, name: str, payload: RunIn):
    workspace, parent = access_new_run(request.user, name, payload.parent_id, token=request.auth)
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
@endpoint("read", workspace="name")
def run_list(
    request: HttpRequest, workspace: Workspace, limit: int | None = None, cursor: str | None = None
):
    """Runs of the workspace as the one runs query selects them
    (``studio.rules.runquery``: experiment, status, type, tag, prop, q, children,
    parent, recursive, sort ...; also ``tags``/``properties`` as JSON, ``filter`` and
    ``include_children``), newest first unless ``sort`` says otherwise (a column
    key: ``-metric:min:loss``), ``limit`` per page (at most 1000); ``next`` is the
    cursor of the following page. A scoped token lists only what it may see."""
    params = {k: request.GET.getlist(k) for k in request.GET if k not in ("limit", "cursor")}
    query = RunQuery.from_params(params)
    page = runlist.page(
        query,
        workspace=workspace,
        after=cursor,
        size=page_limit(limit),
        base=_scoped(request, workspace),
        load=run_rows,
    )
    return {"runs": [r.data for r in page.runs], "next": page.next_cursor}


def _scoped(request: HttpRequest, workspace: Workspace):
    return scoped_runs(Run.objects.filter(workspace=workspace), request.auth)


@api.get("/runs/{run_id}", tags=["runs"])
@endpoint("read", run="run_id")
def run_get(request: HttpRequest, run: Run):
    return run_to_dict(run)


@api.patch("/runs/{run_id}", tags=["runs"])
@endpoint("write", run="run_id")
def run_update(request: HttpRequest, run: Run, payload: RunPatchIn):
    services.run_update(
        run=run,
        display_name=payload.display_name,
        description=payload.description,
        author=request.user,
    )
    return _run_dict(run.run_id)


@api.post("/runs/{run_id}/children", tags=["runs"])
@endpoint("write", run="run_id")
def run_create_children(request: HttpRequest, run: Run, payload: ChildrenIn):
    runs = services.run_create_children(
        parent=run,
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
@endpoint("read", run="run_id")
def run_children(request: HttpRequest, run: Run, recursive: bool = False):
    """The run's children, oldest first (every descendant with ``recursive``),
    filtered by the runs query's parameters (``tags``, ``status`` ...)."""
    query = RunQuery.from_params({k: request.GET.getlist(k) for k in request.GET})
    query = query.replace(parent=run.run_id, sort=request.GET.get("sort") or "created")
    children = runlist.each(
        query, workspace=run.workspace, base=_scoped(request, run.workspace), load=run_rows
    )
    return {"runs": [r.data for r in children]}


@api.post("/heartbeat", tags=["status"])
@endpoint("write")
def runs_heartbeat(request: HttpRequest, payload: HeartbeatIn):
    """The caller's process is alive: these runs are not lost. Answers the ids of the
    runs still alive (the caller's, not finished); others are left out."""
    if len(payload.runs) > validation.MAX_HEARTBEAT_RUNS:
        raise ValidationError(
            f"Send at most {validation.MAX_HEARTBEAT_RUNS} runs per heartbeat.", field="runs"
        )
    runs = access_runs(request.user, payload.runs, need="write", token=request.auth)
    alive = services.runs_heartbeat(runs=runs)
    return {"alive": len(alive), "runs": alive}


@api.post("/runs/{run_id}/complete", tags=["status"])
@endpoint("write", run=Writer("run_id"))
def run_complete(request: HttpRequest, run: Run, payload: EmptyIn):
    return _dict_of(services.run_complete(run=run))


@api.post("/runs/{run_id}/fail", tags=["status"])
@endpoint("write", run=Writer("run_id"))
def run_fail(request: HttpRequest, run: Run, payload: FailIn):
    run = services.run_fail(
        run=run, error_details=payload.error_details, error_code=payload.error_code
    )
    return _dict_of(run)


@api.post("/runs/{run_id}/cancel", tags=["status"])
@endpoint("write", run="run_id")
def run_cancel(request: HttpRequest, run: Run, payload: EmptyIn):
    services.run_cancel(run=run)
    return _run_dict(run.run_id)


# --- archive and trash ----------------------------------------------------------------


def _lifecycle(request: HttpRequest, service, run: Run) -> dict[str, Any]:
    changed = service(runs=[run], by=request.user, address=client_address(request))
    found = Run.all_objects.filter(pk=run.pk).with_related().first()
    return {"changed": changed, "run": run_to_dict(found) if found else None}


@api.post("/runs/{run_id}/archive", tags=["archive and trash"])
@endpoint("write", run="run_id")
def run_archive(request: HttpRequest, run: Run, payload: EmptyIn):
    """Leave the run and the runs below it out of lists (``archived`` shows them)."""
    return _lifecycle(request, services.run_archive, run)


@api.post("/runs/{run_id}/unarchive", tags=["archive and trash"])
@endpoint("write", run="run_id")
def run_unarchive(request: HttpRequest, run: Run, payload: EmptyIn):
    return _lifecycle(request, services.run_unarchive, run)


@api.post("/runs/{run_id}/delete", tags=["archive and trash"])
@endpoint("write", run="run_id")
def run_delete(request: HttpRequest, run: Run, payload: EmptyIn):
    """Move the run and the runs below it to the workspace's trash (409 while one of
    them is still going); ``restore`` brings them back within the trash's days."""
    return _lifecycle(request, services.run_delete, run)


@api.post("/runs/{run_id}/restore", tags=["archive and trash"])
@endpoint("write", trashed_run="run_id")
def run_restore(request: HttpRequest, trashed_run: Run, payload: EmptyIn):
    return _lifecycle(request, services.run_restore, trashed_run)


@api.post("/runs/{run_id}/purge", tags=["archive and trash"])
@endpoint("write", trashed_run="run_id")
def run_purge(request: HttpRequest, trashed_run: Run, payload: EmptyIn):
    """Delete a run of the trash for good, with the runs below it and their files."""
    return _lifecycle(request, services.run_purge, trashed_run)


@api.get("/workspaces/{name}/trash", tags=["archive and trash"])
@endpoint("read", workspace="name")
def trash_list(request: HttpRequest, workspace: Workspace, limit: int | None = None):
    """The runs in the workspace's trash, most recently deleted first (those deleted
    with a parent come back with it and are not listed)."""
    services.trash_purge_expired(workspace=workspace)
    trashed = scoped_runs(selectors.trash_list(workspace=workspace), request.auth)
    return {"runs": [row.data for row in run_rows(trashed[: page_limit(limit)])]}


@api.post("/runs/{run_id}/properties", tags=["properties and tags"])
@endpoint("write", run="run_id")
def run_add_properties(request: HttpRequest, run: Run, payload: PropertiesIn):
    return {"properties": services.run_add_properties(run=run, properties=payload.properties)}


@api.post("/runs/{run_id}/tags", tags=["properties and tags"])
@endpoint("write", run="run_id")
def run_set_tags(request: HttpRequest, run: Run, payload: TagsIn):
    services.run_set_tags(run=run, tags=payload.tags)
    return {"tags": _run_dict(run.run_id)["tags"]}


@api.post("/runs/{run_id}/tags/remove", tags=["properties and tags"])
@endpoint("write", run="run_id")
def run_remove_tags(request: HttpRequest, run: Run, payload: TagKeysIn):
    services.run_remove_tags(run=run, keys=payload.keys)
    return {"tags": _run_dict(run.run_id)["tags"]}
