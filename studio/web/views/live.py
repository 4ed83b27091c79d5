"""The live event streams of the list and run pages (Server-Sent Events): async
views, so an open stream holds a coroutine, not a server thread (``studio server``
serves ASGI for this)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from studio.accounts import access
from studio.accounts.routes import CURRENT, route
from studio.execution import services as execution
from studio.tracking.models import Run, RunType, Workspace
from studio.web import live


def _bad(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _list_scope(request: HttpRequest, workspace: Workspace) -> tuple[frozenset[int], int | None]:
    """The listed runs the page follows (those of this workspace; others are left
    out, never sent) and the experiment whose new runs it is told about."""
    ids = request.GET.getlist("run")
    if len(ids) > live.MAX_RUNS:
        raise live.BadRequest(f"A stream follows at most {live.MAX_RUNS} runs.")
    runs = Run.objects.filter(workspace=workspace, run_id__in=ids).values_list("pk", flat=True)
    experiment_id = None
    if name := request.GET.get("experiment"):
        experiment = access.access_experiment(request.user, workspace.name, name, need="read")
        experiment_id = experiment.pk
    return frozenset(runs), experiment_id


@route("read", workspace=CURRENT)
@require_safe
async def runs_live(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    """A runs list's events: status and metric points of its live runs (``run=``),
    new top-level runs of its workspace (or ``experiment=``)."""
    if workspace is None:
        return _bad("No workspace.")
    try:
        after = live.resume_point(request)
        runs, experiment_id = await sync_to_async(_list_scope)(request, workspace)
    except live.BadRequest as exc:
        return _bad(str(exc))
    return await live.stream_response(
        request,
        workspace_ids=frozenset({workspace.pk}),
        runs=runs,
        scope=(workspace.pk, experiment_id),
        after=after,
    )


def _step_pks(run: Run) -> list[int]:
    if run.type != RunType.PIPELINE:
        return []
    return [step.pk for step in execution.steps_of(pipeline=run)]


@route("read", run="run_id")
@require_safe
async def run_live(request: HttpRequest, run: Run) -> HttpResponse:
    """A run page's events: the run's status, metric points and log size; on a
    pipeline's page also its steps' (their graph follows their statuses)."""
    try:
        after = live.resume_point(request)
    except live.BadRequest as exc:
        return _bad(str(exc))
    steps = await sync_to_async(_step_pks)(run)
    return await live.stream_response(
        request,
        workspace_ids=frozenset({run.workspace_id}),
        runs=frozenset({run.pk, *steps}),
        scope=None,
        after=after,
    )
