"""``exp.get_runs(view=NAME)``: a saved view of the studio, used from the SDK, the
same way on the local store and over the API."""

import pytest
from django.contrib.auth import get_user_model

from studio.accounts.models import Role
from studio.accounts.services import membership_add
from studio.errors import NotFound
from studio.tracking import saved_views, services


def _owner():
    user = get_user_model().objects.filter(username="alice").first()
    if user is None:
        user = get_user_model().objects.create_user(username="alice", password="pw-alice")
        membership_add(
            user=user, workspace=services.workspace_get_or_create(name="default"), role=Role.OWNER
        )
    return user


def _view(name, state, shared=True):
    return saved_views.view_create(
        workspace=services.workspace_get_or_create(name="default"),
        owner=_owner(),
        name=name,
        state=state,
        shared=shared,
    )


def test_get_runs_with_a_view_gives_its_runs_in_its_order(ws, sdk):
    exp = sdk.Experiment(workspace=ws, name="views")
    other = sdk.Experiment(workspace=ws, name="elsewhere")
    made = {}
    for name, loss, tag in [("a", 0.3, "x"), ("b", 0.1, "x"), ("c", 0.2, None)]:
        run = exp.start_logging(display_name=name)
        run.log("loss", loss)
        if tag:
            run.tag("keep", tag)
        run.complete()
        made[name] = run.id
    outside = other.start_logging(display_name="outside")
    outside.tag("keep", "x")
    outside.complete()
    _view("kept by loss", {"filters": {"tag": ["keep"]}, "sort": "metric:last:loss"})

    runs = list(exp.get_runs(view="kept by loss"))

    assert [r.id for r in runs] == [made["b"], made["a"]]
    assert runs[0].get_tags() == {"keep": "x"}


def test_an_unknown_view_is_not_found(ws, sdk):
    exp = sdk.Experiment(workspace=ws, name="views")
    with pytest.raises(NotFound):
        list(exp.get_runs(view="no such view"))


def test_a_view_takes_no_other_filter(ws, sdk):
    exp = sdk.Experiment(workspace=ws, name="views")
    with pytest.raises(TypeError):
        list(exp.get_runs(view="x", status="Completed"))


def test_over_the_api_another_users_private_view_is_not_found(rest_workspace, sdk):
    user = get_user_model().objects.create_user(username="eve", password="pw-eve")
    workspace = services.workspace_get_or_create(name="default")
    membership_add(user=user, workspace=workspace, role=Role.CONTRIBUTOR)
    saved_views.view_create(workspace=workspace, owner=user, name="eve's", state={})
    exp = sdk.Experiment(workspace=rest_workspace, name="views")
    with pytest.raises(NotFound):
        list(exp.get_runs(view="eve's"))
