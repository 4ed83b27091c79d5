"""Submitting over HTTP: script runs and pipelines. The snapshot is uploaded as
``snapshot/`` files before the run is queued for the workers of its named compute
target. A run on the ``local`` target (the submitting machine) is supervised there:
its supervisor (and the driver of a pipeline with local steps) report through the
routes at the end of this module: status changes, the live log in chunks, the job's
run-scoped token, and the steps of a pipeline."""

from __future__ import annotations

import base64
import binascii

from django.http import HttpRequest, StreamingHttpResponse

from studio.accounts.access import access_new_run
from studio.accounts.routes import Lean, endpoint
from studio.api.base import api
from studio.api.schemas import (
    BridgeReportIn,
    BridgeSyncIn,
    ClaimIn,
    EmptyIn,
    ExecutionIn,
    LogChunkIn,
    PipelineIn,
    StatusIn,
    SubmissionIn,
    SystemMetricsIn,
    TargetIn,
)
from studio.errors import ValidationError
from studio.execution import bridging, snapshot
from studio.execution import selectors as execution_selectors
from studio.execution import services as execution
from studio.tracking import selectors
from studio.tracking import services as tracking
from studio.tracking.models import Run, RunStatus, Workspace
from studio.tracking.schema import run_to_dict


@api.post("/workspaces/{name}/compute-targets", tags=["execution"])
@endpoint("write", workspace="name")
def compute_target_get_or_create(request: HttpRequest, workspace: Workspace, payload: TargetIn):
    """The target, created on first use; ``capacity``, ``provisioning`` (v1's
    cluster settings, recorded), ``kind`` (queue, slurm) and ``slurm`` (partition,
    account, time_limit, gres, extra_sbatch_args) change it when given."""
    target = execution.compute_target_get_or_create(
        workspace=workspace,
        name=payload.name,
        capacity=payload.capacity,
        provisioning=payload.provisioning,
        kind=payload.kind,
        slurm_settings=payload.slurm,
    )
    return execution.compute_target_to_dict(target)


@api.get("/workspaces/{name}/compute-targets/{target}", tags=["execution"])
@endpoint("read", workspace="name")
def compute_target_show(request: HttpRequest, workspace: Workspace, target: str):
    """One target (``local`` too) with its queued and running runs, the workers or
    Slurm jobs serving them, and their last heartbeat."""
    return execution_selectors.compute_target_status(workspace=workspace, name=target)


@api.delete("/workspaces/{name}/compute-targets/{target}", tags=["execution"])
@endpoint("write", workspace="name")
def compute_target_delete(
    request: HttpRequest, workspace: Workspace, target: str, payload: EmptyIn
):
    """Delete a named target; refused (409) while runs wait for or run on it."""
    execution.compute_target_delete(workspace=workspace, name=target)
    return {"name": target, "deleted": True}


@api.post("/workspaces/{name}/compute-targets/{target}/claim", tags=["execution"])
@endpoint("write", workspace="name")
def run_claim(request: HttpRequest, workspace: Workspace, target: str, payload: ClaimIn):
    """A worker on any machine polls its target: its heartbeat is recorded (the
    Compute page shows it, idle or not) and the oldest queued run of ``types`` (all:
    script, step, pipeline) is claimed for it, with the token its supervisor and job
    report with (that run and its descendants only). ``run`` is null when none
    waits. A token narrowed to one run may not claim."""
    claimed = execution.run_claim_over_api(
        workspace=workspace,
        target=target,
        worker=payload.worker,
        types=payload.types,
        claim=payload.claim,
        bridge=payload.bridge,
    )
    if claimed is None:
        return {"run": None}
    run, tokens = claimed
    return {"run": run_to_dict(selectors.run_get(run_id=run.run_id)), **tokens}


@api.post("/workspaces/{name}/compute-targets/{target}/bridge/sync", tags=["execution"])
@endpoint("write", workspace="name")
def bridge_sync(request: HttpRequest, workspace: Workspace, target: str, payload: BridgeSyncIn):
    """One poll of a Slurm bridge with only a token (``bridging.bridge_sync``): its
    heartbeat, the runs whose jobs it watches, claims other bridges left, statuses."""
    return bridging.bridge_sync(workspace=workspace, target=target, **payload.model_dump())


@api.post("/workspaces/{name}/compute-targets/{target}/bridge/runs/{run_id}", tags=["execution"])
@endpoint("write", workspace="name")
def bridge_report(
    request: HttpRequest, workspace: Workspace, target: str, run_id: str, payload: BridgeReportIn
):
    """What a Slurm bridge saw about one run of its target (``bridging.bridge_report``):
    job submitted, job pending, job gone without its supervisor, claim taken over."""
    return bridging.bridge_report(
        workspace=workspace, target=target, run_id=run_id, **payload.model_dump()
    )


@api.get("/workspaces/{name}/compute-targets", tags=["execution"])
@endpoint("read", workspace="name")
def compute_target_list(request: HttpRequest, workspace: Workspace):
    targets = execution.compute_target_list(workspace=workspace)
    return {"targets": [execution.compute_target_to_dict(t) for t in targets]}


@api.post("/workspaces/{name}/submissions", tags=["execution"])
@endpoint("write")
def run_submit(request: HttpRequest, name: str, payload: SubmissionIn):
    """Create a script run, NotStarted until ``/runs/{id}/enqueue``. Everything is
    checked before anything (experiment, compute target, run) is created."""
    workspace, parent = access_new_run(request.user, name, payload.parent_id, token=request.auth)
    execution.compute_target_check(payload.compute_target)
    run = execution.run_submit(
        experiment=tracking.experiment_get_or_create(workspace=workspace, name=payload.experiment),
        submitted_by=request.user.get_username(),
        script=payload.script,
        arguments=payload.arguments,
        compute_target=payload.compute_target,
        parent=parent,
        tags=payload.tags,
        environment=payload.environment,
        properties=payload.properties,
        variables=payload.variables,
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
    target, which drives it. A pipeline with a step on the ``local`` target is driven
    on the submitting machine instead (its target is ``local``; enqueueing leaves it
    to that driver)."""
    exp = tracking.experiment_get_or_create(workspace=workspace, name=payload.experiment)
    targets = [step.compute_target for step in payload.steps]
    driver = execution.LOCAL if execution.LOCAL in targets or not targets else targets[0]
    pipeline, steps = execution.pipeline_submit(
        experiment=exp,
        submitted_by=request.user.get_username(),
        steps=[step.model_dump() for step in payload.steps],
        tags=payload.tags,
        description=payload.description,
        properties=payload.properties,
        driver_target=driver,
    )
    body = run_to_dict(selectors.run_get(run_id=pipeline.run_id))
    body["steps"] = {s.display_name: s.run_id for s in steps}
    return api.create_response(request, body, status=201)


@api.post("/runs/{run_id}/status", tags=["execution"])
@endpoint("write", run="run_id")
def run_report_status(request: HttpRequest, run: Run, payload: StatusIn):
    """A status change of a run supervised on its submitter's machine (Starting,
    Running, Finalizing, Completed, Failed; Canceled once nothing runs)."""
    execution.run_report_status(
        run=run, status=payload.status, reason=payload.reason, error=payload.error
    )
    return run_to_dict(selectors.run_get(run_id=run.run_id))


@api.post("/runs/{run_id}/live-log", tags=["execution"])
@endpoint("write", run="run_id")
def live_log_append(request: HttpRequest, run: Run, payload: LogChunkIn):
    """Append a chunk (base64 ``data``) to the run's live log at ``offset``; a chunk
    sent again is stored once. Answers the log's size."""
    try:
        data = base64.b64decode(payload.data, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("data must be base64.", field="data") from None
    return {"size": execution.live_log_append(run=run, offset=payload.offset, data=data)}


@api.post("/runs/{run_id}/system-metrics", tags=["execution"])
@endpoint("write", run=Lean("run_id"))
def system_metrics_log(request: HttpRequest, run: Run, payload: SystemMetricsIn):
    """A sample of the system metrics (``sys/...``: CPU, memory, disk, network, GPU)
    the run's supervisor took on another machine. The one route that takes names
    under ``sys/``; ``POST /runs/{id}/metrics`` refuses them. The reservation keeps
    a run's code from logging ``sys/...`` by mistake; it is not a barrier against a
    job that means to: the job and its supervisor may hold the same run token."""
    return tracking.metric_log_batch(
        run=run,
        batch_id=payload.batch_id,
        series=[
            {"name": s.name, "steps": s.steps, "values": s.values, "times": s.times}
            for s in payload.series
        ],
        system=True,
    )


@api.get("/runs/{run_id}/snapshot", tags=["execution"])
@endpoint("read", run="run_id")
def snapshot_download(request: HttpRequest, run: Run):
    """The run's snapshot (its ``snapshot/`` files) as one tar archive, streamed:
    what its supervisor unpacks into the job's working copy on any machine."""
    response = StreamingHttpResponse(snapshot.tar_stream(run=run), content_type="application/x-tar")
    response["Content-Disposition"] = f'attachment; filename="{run.run_id}-snapshot.tar"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@api.post("/runs/{run_id}/execution", tags=["execution"])
@endpoint("write", run="run_id")
def execution_report(request: HttpRequest, run: Run, payload: ExecutionIn):
    """How the script ended (exit code, or the signal that killed it), reported by a
    supervisor on another machine. Process ids and hosts are not taken over the API:
    the server never acts on what a job could have written."""
    execution.execution_record(run=run, exit_code=payload.exit_code, signal=payload.signal[:20])
    return {"exit_code": payload.exit_code, "signal": payload.signal[:20]}


@api.post("/runs/{run_id}/job-token", tags=["execution"])
@endpoint("write", run="run_id")
def job_token_create(request: HttpRequest, run: Run, payload: EmptyIn):
    """A token for the job of a local run, reaching that run and its descendants
    only; for its submitter's supervisor, which revokes it when the job ends."""
    tokens = execution.job_token_create(run=run, username=request.user.get_username())
    return api.create_response(request, tokens, status=201)


@api.post("/runs/{run_id}/job-token/revoke", tags=["execution"])
@endpoint("write", run="run_id")
def job_tokens_revoke(request: HttpRequest, run: Run, payload: EmptyIn):
    """End the tokens of the run's job (its supervisor does, when the job ends): the
    submitter's supervisor of a local run, or a worker's through the run's own token."""
    own = request.auth is not None and getattr(request.auth, "run_id", None) == run.pk
    revoked = execution.job_tokens_revoke(
        run=run, username=request.user.get_username(), own_token=own
    )
    return {"revoked": revoked}


@api.get("/runs/{run_id}/steps", tags=["execution"])
@endpoint("read", run="run_id")
def pipeline_steps(request: HttpRequest, run: Run):
    """The steps of a pipeline run, in their order: id, name, status, target, and
    the names of the steps each waits for."""
    return {
        "steps": [
            {
                "id": step.run_id,
                "name": step.execution.step_name,
                "status": step.status,
                "compute_target": step.compute_target,
                "after": list(step.execution.after),
            }
            for step in execution.steps_of(pipeline=run)
        ]
    }
