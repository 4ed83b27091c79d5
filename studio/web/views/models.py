"""Models: the workspace's registered models with their versions, a model's page
(its versions, each linked to the run it came from) and a version's page (its
files, downloaded through an access-checked view)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from studio.accounts.routes import CURRENT, route
from studio.core.ranges import file_response
from studio.registry import selectors
from studio.registry.models import RegisteredModel
from studio.tracking.models import Workspace
from studio.web.common import frame


@route("read", workspace=CURRENT)
@require_safe
def model_list(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    models = selectors.models_overview(workspace=workspace) if workspace else []
    context = {"models": models, **frame(request, workspace, "models")}
    return render(request, "web/models.html", context)


@route("read", model="model")
@require_safe
def model_detail(request: HttpRequest, model: RegisteredModel) -> HttpResponse:
    context = {
        "model": model,
        "versions": selectors.model_versions(model=model),
        **frame(request, model.workspace, "models"),
    }
    return render(request, "web/model.html", context)


@route("read", model="model")
@require_safe
def model_version(request: HttpRequest, model: RegisteredModel, version: int) -> HttpResponse:
    found = selectors.version_get(workspace=model.workspace, name=model.name, version=version)
    context = {"model": model, "version": found, **frame(request, model.workspace, "models")}
    return render(request, "web/model_version.html", context)


@route("read", model="model")
@require_safe
def model_file(request: HttpRequest, model: RegisteredModel, version: int, file: str):
    """A file of a model version: always an attachment, ``nosniff``, sandboxed."""
    found = selectors.version_get(workspace=model.workspace, name=model.name, version=version)
    model_file = selectors.file_get(version=found, name=file)
    response = file_response(
        request,
        selectors.file_open(model_file=model_file),
        as_attachment=True,
        filename=model_file.name.rsplit("/", 1)[-1],
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-cache"
    return response
