"""Environments: each registered environment of the workspace with its versions,
their packages and the runs that used them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from studio.accounts.routes import CURRENT, route
from studio.execution import selectors
from studio.execution.envdefs import NAME
from studio.tracking.models import Workspace
from studio.web.common import frame


@route("read", workspace=CURRENT)
@require_safe
def environment_list(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    environments = selectors.environment_page(workspace=workspace) if workspace else []
    context = {
        "environments": environments,
        "run_property": NAME,
        **frame(request, workspace, "environments"),
    }
    return render(request, "web/environments.html", context)
