"""Compute: the workspace's compute targets (local, queue, slurm) with their queued
and running runs, the workers or Slurm jobs serving them and the last heartbeat."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from studio.accounts.routes import CURRENT, route
from studio.execution import selectors
from studio.tracking.models import Workspace
from studio.web.common import frame


@route("read", workspace=CURRENT)
@require_safe
def compute_list(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    targets = selectors.compute_page(workspace=workspace) if workspace else []
    context = {"targets": targets, **frame(request, workspace, "compute")}
    return render(request, "web/compute.html", context)
