"""The model registry: list, get, register (from a run's files or from an upload),
update, and the files of a version. Models belong to a workspace; a job's run-scoped
token reads them (v1 scoring scripts load models) and registers from its own run."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest
from ninja import Query
from pydantic import StrictStr

from studio.accounts.routes import endpoint
from studio.api.base import api
from studio.api.schemas import Body
from studio.core.ranges import file_response
from studio.core.uploads import upload_body
from studio.errors import ValidationError
from studio.registry import selectors, services
from studio.registry.schema import version_to_dict
from studio.rules import registry as rules
from studio.tracking.models import Run, Workspace


class ModelFromRunIn(Body):
    name: StrictStr
    path: StrictStr | None = None
    tags: dict[StrictStr, StrictStr] | None = None
    properties: dict[StrictStr, StrictStr] | None = None
    description: StrictStr | None = None


class ModelFromUploadIn(Body):
    name: StrictStr
    upload: StrictStr
    path: StrictStr | None = None
    tags: dict[StrictStr, StrictStr] | None = None
    properties: dict[StrictStr, StrictStr] | None = None
    description: StrictStr | None = None


class ModelPatchIn(Body):
    tags: dict[StrictStr, StrictStr] | None = None
    remove_tags: list[StrictStr] | None = None
    properties: dict[StrictStr, StrictStr] | None = None
    description: StrictStr | None = None


def _upload_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError("The upload id must be a UUID.", field="upload") from None


@api.get("/workspaces/{name}/models", tags=["models"])
@endpoint("read", workspace="name")
def model_list(
    request: HttpRequest,
    workspace: Workspace,
    model: str | None = None,
    tag: list[str] = Query(None),  # noqa: B008  (django-ninja's way to declare it)
    prop: list[str] = Query(None),  # noqa: B008
    run_id: str | None = None,
    latest: bool = False,
):
    """Versions of the workspace's models, newest first: ``model`` (a name), ``tag``
    and ``prop`` (``key`` or ``key=value``, repeated: all must match), ``run_id``,
    ``latest`` (only each model's latest version)."""
    versions = selectors.version_list(
        workspace=workspace,
        name=model,
        tags=[rules.parse_filter_param(t, "tags") for t in tag or ()],
        properties=[rules.parse_filter_param(p, "properties") for p in prop or ()],
        run_id=run_id,
        latest=latest,
    )
    return {"models": [version_to_dict(v) for v in versions]}


@api.post("/workspaces/{name}/models", tags=["models"])
@endpoint("write", workspace="name")
def model_register_upload(request: HttpRequest, workspace: Workspace, payload: ModelFromUploadIn):
    """Register the files uploaded under ``upload`` as the next version of ``name``."""
    version = services.model_register(
        workspace=workspace,
        name=payload.name,
        created_by=request.user.get_username(),
        upload=_upload_id(payload.upload),
        path=payload.path,
        tags=payload.tags,
        properties=payload.properties,
        description=payload.description,
    )
    return api.create_response(request, version_to_dict(version), status=201)


@api.put("/workspaces/{name}/model-uploads/{upload}/files/{path:file}", tags=["models"])
@endpoint("write", workspace="name")
def model_file_upload(request: HttpRequest, workspace: Workspace, upload: str, file: str):
    """One file of a model to register (raw body, ``application/octet-stream``)."""
    body = upload_body(request, settings.STUDIO_MAX_UPLOAD_BYTES)
    staged = services.model_file_stage(
        workspace=workspace,
        upload=_upload_id(upload),
        name=file,
        content=body,
        uploaded_by=request.user.get_username(),
    )
    return api.create_response(request, {"name": staged.name, "size": staged.size}, status=201)


@api.get("/workspaces/{name}/models/{model}", tags=["models"])
@endpoint("read", workspace="name")
def model_latest(request: HttpRequest, workspace: Workspace, model: str):
    return version_to_dict(selectors.version_get(workspace=workspace, name=model))


@api.get("/workspaces/{name}/models/{model}/versions/{version}", tags=["models"])
@endpoint("read", workspace="name")
def model_version_get(request: HttpRequest, workspace: Workspace, model: str, version: int):
    return version_to_dict(selectors.version_get(workspace=workspace, name=model, version=version))


@api.patch("/workspaces/{name}/models/{model}/versions/{version}", tags=["models"])
@endpoint("write", workspace="name")
def model_version_update(
    request: HttpRequest, workspace: Workspace, model: str, version: int, payload: ModelPatchIn
):
    """Add or remove tags, add properties (never change one), set the description."""
    found = selectors.version_get(workspace=workspace, name=model, version=version)
    services.model_version_update(
        version=found,
        tags=payload.tags,
        remove_tags=payload.remove_tags,
        properties=payload.properties,
        description=payload.description,
    )
    return version_to_dict(found)


@api.get("/workspaces/{name}/models/{model}/versions/{version}/files/{path:file}", tags=["models"])
@endpoint("read", workspace="name")
def model_file_download(
    request: HttpRequest, workspace: Workspace, model: str, version: int, file: str
):
    """A file of the version, as an attachment."""
    found = selectors.version_get(workspace=workspace, name=model, version=version)
    model_file = selectors.file_get(version=found, name=file)
    response = file_response(
        request,
        selectors.file_open(model_file=model_file),
        as_attachment=True,
        filename=model_file.name.rsplit("/", 1)[-1],
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


@api.post("/runs/{run_id}/models", tags=["models"])
@endpoint("write", run="run_id")
def model_register_from_run(request: HttpRequest, run: Run, payload: ModelFromRunIn):
    """Register the run's file or folder ``path`` (default: ``name``) as the next
    version of ``name`` in the run's workspace (v1's ``run.register_model``)."""
    version = services.model_register(
        workspace=run.workspace,
        name=payload.name,
        created_by=request.user.get_username(),
        run=run,
        path=payload.path,
        tags=payload.tags,
        properties=payload.properties,
        description=payload.description,
    )
    return api.create_response(request, version_to_dict(version), status=201)
