"""Environments over HTTP: register a definition (a new version when it changed),
and read them back: the latest version of each, the versions of one name, or one."""

from __future__ import annotations

from django.http import HttpRequest

from studio.accounts.routes import endpoint
from studio.api.base import api
from studio.api.schemas import EnvironmentIn
from studio.execution import selectors
from studio.execution import services as execution
from studio.tracking.models import Workspace


@api.post("/workspaces/{name}/environments", tags=["environments"])
@endpoint("write", workspace="name")
def environment_register(request: HttpRequest, workspace: Workspace, payload: EnvironmentIn):
    env = execution.environment_register(
        workspace=workspace,
        definition=payload.definition,
        created_by=request.user.get_username(),
    )
    return api.create_response(request, selectors.environment_to_dict(env), status=201)


@api.get("/workspaces/{name}/environments", tags=["environments"])
@endpoint("read", workspace="name")
def environment_list(
    request: HttpRequest,
    workspace: Workspace,
    environment: str | None = None,
    version: str | None = None,
):
    """Without ``environment`` (a name): the latest version of each environment.
    With it: its versions, newest first (only ``version``, if given; 404 if none)."""
    if environment is None:
        return {"environments": selectors.environment_list(workspace=workspace)}
    if version is None:
        selectors.environment_get(workspace=workspace, name=environment)  # 404 if unknown
        versions = selectors.environment_versions(workspace=workspace, name=environment)
        return {"environments": versions}
    env = selectors.environment_get(workspace=workspace, name=environment, version=version)
    return {"environments": [selectors.environment_to_dict(env)]}
