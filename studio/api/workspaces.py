"""Workspaces: list, create (the creator becomes owner), rename, archive, delete."""

from __future__ import annotations

from django.http import HttpRequest

from studio.accounts import selectors, services
from studio.accounts.access import access_workspace_create, access_workspaces, role_in
from studio.accounts.routes import endpoint
from studio.api.base import api
from studio.api.schemas import WorkspaceDeleteIn, WorkspaceIn, WorkspacePatchIn
from studio.tracking.models import Workspace
from studio.tracking.schema import workspace_to_dict
from studio.tracking.services import workspaces


@api.get("/workspaces", tags=["workspaces"])
@endpoint("read")
def workspace_list(request: HttpRequest):
    """The caller's workspaces, archived ones included (``archived`` says which)."""
    visible = access_workspaces(request.user, token=request.auth)
    rows = selectors.workspace_list(user=request.user, workspaces=visible)
    return {"workspaces": [workspace_to_dict(w, role) for w, role in rows]}


@api.post("/workspaces", tags=["workspaces"])
@endpoint("read")
def workspace_create(request: HttpRequest, payload: WorkspaceIn):
    access_workspace_create(request.user, token=request.auth)
    workspace = services.workspace_create(name=payload.name, owner=request.user)
    return workspace_to_dict(workspace, "owner")


@api.patch("/workspaces/{name}", tags=["workspaces"])
@endpoint("owner", workspace="name")
def workspace_update(request: HttpRequest, workspace: Workspace, payload: WorkspacePatchIn):
    """Rename (``name``) and archive or unarchive (``archived``); owners only."""
    if payload.archived is not None:
        workspaces.workspace_set_archived(workspace=workspace, archived=payload.archived)
    if payload.name is not None:
        workspaces.workspace_rename(workspace=workspace, name=payload.name)
    return workspace_to_dict(workspace, role_in(request.user, workspace))


@api.delete("/workspaces/{name}", tags=["workspaces"])
@endpoint("owner", workspace="name")
def workspace_delete(request: HttpRequest, workspace: Workspace, payload: WorkspaceDeleteIn):
    """Delete the workspace with its runs; ``confirm`` repeats its name. Refused
    while any of its runs is going."""
    name = workspace.name
    workspaces.workspace_delete(workspace=workspace, confirm=payload.confirm)
    return {"name": name, "deleted": True}
