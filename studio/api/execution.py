"""Submitting over HTTP: script runs and pipelines on named compute targets (the
``local`` target means the submitting machine, which only the local store can
reach). The snapshot is uploaded as ``snapshot/`` files before the run is queued."""

from __future__ import annotations

from django.http import HttpRequest

from studio.accounts.access import access_new_run
from studio.accounts.routes import endpoint
from studio.api.base import api
from studio.api.schemas import EmptyIn, PipelineIn, SubmissionIn, TargetIn
from studio.errors import ValidationError
from studio.execution import services as execution
from studio.tracking import selectors
from studio.tracking import services as tracking
from studio.tracking.models import Run, RunStatus, Workspace
from studio.tracking.schema import run_to_dict


def _remote_target(target: str, field: str = "compute_target") -> str:
    if target == execution.LOCAL:
        raise ValidationError(
            "The local target runs on the submitting machine: use the local store for "
            "it, or submit to a named compute target served by `studio worker`.",
            field=field,
        )
    return target


@api.post("/workspaces/{name}/compute-targets", tags=["execution"])
@endpoint("write", workspace="name")
def compute_target_get_or_create(request: HttpRequest, workspace: Workspace, payload: TargetIn):
    target = execution.compute_target_get_or_create(workspace=workspace, name=payload.name)
    return {"name": target.name, "workspace": workspace.name, "capacity": target.capacity}


@api.post("/workspaces/{name}/submissions", tags=["execution"])
@endpoint("write")
def run_submit(request: HttpRequest, name: str, payload: SubmissionIn):
    """Create a script run, NotStarted until ``/runs/{id}/enqueue``. Everything is
    checked before anything (experiment, compute target, run) is created."""
    workspace, parent = access_new_run(request.user, name, payload.parent_id, token=request.auth)
    target = _remote_target(payload.compute_target)
    run = execution.run_submit(
        experiment=tracking.experiment_get_or_create(workspace=workspace, name=payload.experiment),
        submitted_by=request.user.get_username(),
        script=payload.script,
        arguments=payload.arguments,
        compute_target=target,
        parent=parent,
        tags=payload.tags,
    )
    return api.create_response(
        request, run_to_dict(selectors.run_get(run_id=run.run_id)), status=201
    )


@api.post("/runs/{run_id}/enqueue", tags=["execution"])
@endpoint("write", run="run_id")
def run_enqueue(request: HttpRequest, run: Run, payload: EmptyIn):
    """Hand a submitted run (snapshot uploaded) to its target's workers; a pipeline
    is driven by a worker of its first step's target, never by this process."""
    if run.status != RunStatus.NOT_STARTED:
        raise ValidationError(f"Run {run.run_id} is {run.status}, not NotStarted.", field="status")
    execution.run_enqueue(run=run)
    return run_to_dict(selectors.run_get(run_id=run.run_id))


@api.post("/workspaces/{name}/pipelines", tags=["execution"])
@endpoint("write", workspace="name")
def pipeline_submit(request: HttpRequest, workspace: Workspace, payload: PipelineIn):
    """Create a pipeline run and its steps (NotStarted); upload each step's snapshot,
    then ``/runs/{pipeline id}/enqueue`` queues it for a worker of its first step's
    target, which drives it."""
    exp = tracking.experiment_get_or_create(workspace=workspace, name=payload.experiment)
    for step in payload.steps:
        _remote_target(step.compute_target, f"steps.{step.name}")
    pipeline, steps = execution.pipeline_submit(
        experiment=exp,
        submitted_by=request.user.get_username(),
        steps=[step.model_dump() for step in payload.steps],
        tags=payload.tags,
        description=payload.description,
        properties=payload.properties,
        driver_target=payload.steps[0].compute_target if payload.steps else execution.LOCAL,
    )
    body = run_to_dict(selectors.run_get(run_id=pipeline.run_id))
    body["steps"] = {s.display_name: s.run_id for s in steps}
    return api.create_response(request, body, status=201)
