"""The world every route-policy test requests routes against."""

import pytest

import studio.urls  # noqa: F401  (every API module registered before operations are listed)
from studio.accounts.invitations import invitation_create
from studio.accounts.models import Membership
from studio.accounts.services import token_create
from studio.registry import services as registry
from studio.tracking import saved_views, services
from tests.routes.common import (
    _Body,
)
from tests.web.run_page_helpers import log_series


@pytest.fixture
def world(owner, member, reader, outsider, workspace):
    """Everything of "default" a route can name: a run with a child and a file, a
    run in the trash, a shared view, dave's membership, alice's token."""
    experiment = services.experiment_get_or_create(workspace=workspace, name="secret-exp")
    run = services.run_create(experiment=experiment, submitted_by="alice")
    log_series(run, "loss", [0.5, 0.25])  # a series for the history read (?name=loss)
    services.run_create(experiment=run.experiment, submitted_by="alice", parent=run)
    services.run_set_tags(run=run, tags={"lr": "0.1"})
    services.run_file_upload(run=run, name="outputs/a.txt", content=_Body(b"secret"))
    view = saved_views.view_create(
        workspace=workspace, owner=member, name="team-view", state={}, shared=True
    )
    token, _ = token_create(user=owner, name="alice-laptop")
    invitation, _ = invitation_create(
        workspace=workspace, role="owner", created_by=owner, note="secret-invite"
    )
    registry.model_register(
        workspace=workspace, name="secret-model", created_by="alice", run=run, path="outputs/a.txt"
    )
    trashed = services.run_create(experiment=experiment, submitted_by="alice")
    services.run_complete(run=trashed)
    services.run_delete(runs=[trashed])
    return {
        "run": run,
        "trashed": trashed,  # in the workspace's trash: the trash's routes name it
        "view": view,
        "membership": Membership.objects.get(user=reader, workspace=workspace),
        "token": token,
        "invitation": invitation,
        "user": reader,
    }
