"""The access helpers, persona by persona and need by need: each returns its object or
raises exactly NotFound (invisible: the same for a missing and a forbidden object) or
PermissionDenied (visible, but the role or the token's scope does not allow it)."""

import io

import pytest
from django.contrib.auth.models import AnonymousUser

from studio.accounts import access
from studio.accounts.invitations import invitation_create
from studio.accounts.models import ApiToken, Membership, Role
from studio.accounts.services import token_create
from studio.errors import NotFound, PermissionDenied, WorkspaceArchived
from studio.tracking import saved_views, services
from studio.tracking.models import Run
from studio.tracking.services import workspaces

OK = "ok"
NF = NotFound
PD = PermissionDenied
PERSONAS = ("owner", "member", "reader", "outsider", "anonymous", "superuser")


@pytest.fixture
def people(owner, member, reader, outsider, django_user_model):
    root = django_user_model.objects.create_superuser(username="root", password="pw-root")
    return {
        "owner": owner,
        "member": member,
        "reader": reader,
        "outsider": outsider,
        "anonymous": AnonymousUser(),
        "superuser": root,
    }


def _outcome(call):
    try:
        return call()
    except (NotFound, PermissionDenied) as exc:
        return type(exc)


def _check(expected: dict, call, want):
    """``expected[persona]`` per persona; ``want`` is the object an OK returns."""
    got = {}
    for persona in expected:
        result = _outcome(lambda p=persona: call(p))
        got[persona] = OK if result == want else result
    assert got == expected


# Who may do what in the workspace "default" (owner alice, contributor bob, reader dave;
# charlie owns another workspace).
WORKSPACE_TABLE = {
    "read": {
        "owner": OK,
        "member": OK,
        "reader": OK,
        "outsider": NF,
        "anonymous": NF,
        "superuser": OK,
    },
    "write": {
        "owner": OK,
        "member": OK,
        "reader": PD,
        "outsider": NF,
        "anonymous": NF,
        "superuser": OK,
    },
    "owner": {
        "owner": OK,
        "member": PD,
        "reader": PD,
        "outsider": NF,
        "anonymous": NF,
        "superuser": OK,
    },
}


@pytest.mark.parametrize("need", ["read", "write", "owner"])
def test_access_workspace_answers_each_persona_by_role(people, workspace, need):
    _check(
        WORKSPACE_TABLE[need],
        lambda p: access.access_workspace(people[p], "default", need=need),
        workspace,
    )


@pytest.mark.parametrize("need", ["read", "write", "owner"])
def test_access_experiment_answers_each_persona_by_role(people, experiment, need):
    _check(
        WORKSPACE_TABLE[need],
        lambda p: access.access_experiment(people[p], "default", "explore-runs", need=need),
        experiment,
    )


@pytest.mark.parametrize("need", ["read", "write", "owner"])
def test_access_run_answers_each_persona_by_role(people, run, need):
    _check(
        WORKSPACE_TABLE[need],
        lambda p: access.access_run(people[p], run.run_id, need=need),
        run,
    )


@pytest.fixture
def registered(run):
    from studio.registry import services as registry

    services.run_file_upload(run=run, name="outputs/m.pkl", content=io.BytesIO(b"m"))
    version = registry.model_register(
        workspace=run.workspace, name="m", created_by="alice", run=run, path="outputs/m.pkl"
    )
    return version.model


@pytest.mark.parametrize("need", ["read", "write", "owner"])
def test_access_model_answers_each_persona_by_role(people, registered, need):
    _check(
        WORKSPACE_TABLE[need],
        lambda p: access.access_model(people[p], "default", "m", need=need),
        registered,
    )


def test_a_model_of_another_workspace_is_not_found_for_its_outsiders(
    registered, owner, outsider, other_workspace
):
    with pytest.raises(NotFound):
        access.access_model(outsider, "other-team", "m")
    with pytest.raises(NotFound):
        access.access_model(owner, "other-team", "m")
    assert access.access_model(owner, "default", "m") == registered


def test_a_run_token_reads_its_workspaces_models_and_changes_none(member, run, registered):
    token = _token(member, run=run)
    assert access.access_model(member, "default", "m", token=token) == registered
    with pytest.raises(PermissionDenied):
        access.access_model(member, "default", "m", need="write", token=token)


@pytest.mark.parametrize("need", ["read", "write", "owner"])
def test_access_membership_lets_members_see_and_only_owners_change(people, reader, need):
    membership = Membership.objects.get(user=reader)
    expected = dict(WORKSPACE_TABLE[need])
    if need == "write":
        expected["member"] = PD  # changing members is for owners
    _check(
        expected,
        lambda p: access.access_membership(people[p], membership.pk, need=need),
        membership,
    )


def test_access_token_finds_only_the_users_own_token(people, reader):
    token, _ = token_create(user=reader, name="laptop")
    expected = {p: NF for p in PERSONAS} | {"reader": OK}
    _check(expected, lambda p: access.access_token(people[p], token.pk), token)


def test_access_invitation_is_for_the_workspaces_owners(people, owner, workspace):
    invitation, _ = invitation_create(workspace=workspace, role="reader", created_by=owner)
    expected = dict(WORKSPACE_TABLE["owner"])
    _check(expected, lambda p: access.access_invitation(people[p], invitation.pk), invitation)
    with pytest.raises(NotFound):
        access.access_invitation(owner, "1")


def test_access_user_shows_accounts_to_superusers_only(people, reader):
    expected = {p: NF for p in PERSONAS} | {"superuser": OK}
    _check(expected, lambda p: access.access_user(people[p], reader.pk), reader)


SHARED_VIEW_TABLE = {
    # a shared view saved by bob (contributor)
    "read": {p: OK for p in ("owner", "member", "reader", "superuser")}
    | {"outsider": NF, "anonymous": NF},
    "write": {"owner": OK, "member": OK, "reader": PD, "superuser": OK}
    | {"outsider": NF, "anonymous": NF},
    "owner": {"owner": OK, "member": OK, "reader": PD, "superuser": OK}
    | {"outsider": NF, "anonymous": NF},
    "default": {"owner": OK, "member": PD, "reader": PD, "superuser": OK}
    | {"outsider": NF, "anonymous": NF},
}


@pytest.mark.parametrize("need", ["read", "write", "owner", "default"])
def test_access_view_of_a_shared_view_follows_roles(people, workspace, member, need):
    view = saved_views.view_create(
        workspace=workspace, owner=member, name="shared", state={}, shared=True
    )
    _check(
        SHARED_VIEW_TABLE[need],
        lambda p: access.access_view(people[p], view.pk, need=need),
        view,
    )


@pytest.mark.parametrize("need", ["read", "write", "owner", "default"])
def test_a_private_view_is_invisible_to_everyone_but_its_owner(people, workspace, member, need):
    view = saved_views.view_create(workspace=workspace, owner=member, name="mine", state={})
    expected = {p: NF for p in PERSONAS}
    expected["member"] = PD if need == "default" else OK  # only shared views are defaults
    _check(expected, lambda p: access.access_view(people[p], view.pk, need=need), view)


@pytest.mark.parametrize(
    "helper",
    [
        lambda u: access.access_workspace(u, "no-such"),
        lambda u: access.access_experiment(u, "default", "no-such"),
        lambda u: access.access_run(u, "no-such-run"),
        lambda u: access.access_model(u, "default", "no-such-model"),
        lambda u: access.access_view(u, 999_999),
        lambda u: access.access_membership(u, 999_999),
        lambda u: access.access_token(u, 999_999),
    ],
)
def test_a_missing_object_is_not_found_for_everyone(people, helper):
    assert {p: _outcome(lambda p=p: helper(people[p])) for p in PERSONAS} == {
        p: NF for p in PERSONAS
    }


def test_missing_and_forbidden_runs_get_the_same_message(people, run):
    with pytest.raises(NotFound) as missing:
        access.access_run(people["outsider"], "run-missing")
    with pytest.raises(NotFound) as forbidden:
        access.access_run(people["outsider"], run.run_id)
    assert str(missing.value).replace("run-missing", "X") == str(forbidden.value).replace(
        run.run_id, "X"
    )


def test_an_unknown_need_is_a_programming_error(owner, workspace):
    with pytest.raises(ValueError):
        access.access_workspace(owner, "default", need="admin")


# --- tokens ------------------------------------------------------------------------------


@pytest.fixture
def second(owner, other_workspace):
    """alice owns "other-team" too, with a run there."""
    Membership.objects.create(user=owner, workspace=other_workspace, role=Role.OWNER)
    experiment = services.experiment_get_or_create(workspace=other_workspace, name="e")
    return services.run_create(experiment=experiment, submitted_by="alice")


def _token(user, **scope) -> ApiToken:
    token, _ = token_create(user=user, name="scoped", **scope)
    return token


def test_a_workspace_token_sees_only_its_workspace(owner, run, second, workspace):
    token = _token(owner, workspace=workspace)
    assert access.access_workspace(owner, "default", need="owner", token=token) == workspace
    assert access.access_run(owner, run.run_id, need="write", token=token) == run
    with pytest.raises(NotFound):
        access.access_workspace(owner, "other-team", token=token)
    with pytest.raises(NotFound):
        access.access_run(owner, second.run_id, token=token)
    with pytest.raises(NotFound):
        access.access_experiment(owner, "other-team", "e", token=token)
    everything = Run.objects.visible_to(owner)
    assert set(access.scoped_runs(everything, token)) == {run}


def test_a_run_token_reaches_its_run_and_the_runs_below_it_only(member, run, experiment):
    child = services.run_create(experiment=experiment, submitted_by="bob", parent=run)
    sibling = services.run_create(experiment=experiment, submitted_by="bob")
    other = services.experiment_get_or_create(workspace=run.workspace, name="elsewhere")
    token = _token(member, run=run)
    assert access.access_run(member, run.run_id, need="write", token=token) == run
    assert access.access_run(member, child.run_id, need="write", token=token) == child
    with pytest.raises(NotFound):
        access.access_run(member, sibling.run_id, token=token)
    assert access.access_workspace(member, "default", token=token) == run.workspace
    with pytest.raises(PermissionDenied):
        access.access_workspace(member, "default", need="write", token=token)
    assert access.access_experiment(member, "default", experiment.name, token=token)
    with pytest.raises(NotFound):
        access.access_experiment(member, "default", other.name, token=token)
    everything = Run.objects.visible_to(member)
    assert set(access.scoped_runs(everything, token)) == {run, child}


def test_a_run_token_sees_no_saved_views(member, run, workspace):
    view = saved_views.view_create(
        workspace=workspace, owner=member, name="shared", state={}, shared=True
    )
    token = _token(member, run=run)
    with pytest.raises(NotFound):
        access.access_view(member, view.pk, token=token)
    assert list(access.scoped_views(access.SavedView.objects.all(), token)) == []


def test_a_new_run_under_a_parent_of_another_workspace_is_refused_as_a_write_there(
    owner, reader, workspace, other_workspace
):
    """dave reads "default" and contributes to "other-team": a parent there does not
    let him create anything in "default"."""
    Membership.objects.create(user=reader, workspace=other_workspace, role=Role.CONTRIBUTOR)
    experiment = services.experiment_get_or_create(workspace=other_workspace, name="e")
    parent = services.run_create(experiment=experiment, submitted_by="dave")
    with pytest.raises(PermissionDenied):
        access.access_new_run(reader, "default", parent.run_id)
    assert access.access_new_run(reader, "other-team", parent.run_id) == (other_workspace, parent)


def test_an_api_operation_cannot_declare_the_superuser_policy():
    from studio.accounts.routes import endpoint

    with pytest.raises(ValueError, match="no superuser-only operations"):
        endpoint("superuser")


# --- archived workspaces: read-only for everyone ------------------------------------

WA = WorkspaceArchived
ARCHIVED_TABLE = {
    "read": WORKSPACE_TABLE["read"],
    # Writes are refused to every role, the superuser's too ...
    "write": {
        "owner": WA,
        "member": WA,
        "reader": WA,
        "outsider": NF,
        "anonymous": NF,
        "superuser": WA,
    },
    # ... while owners still manage the workspace itself (unarchive, rename, delete).
    "owner": WORKSPACE_TABLE["owner"],
}


@pytest.fixture
def archived(workspace):
    return workspaces.workspace_set_archived(workspace=workspace, archived=True)


def _refusal(call):
    try:
        return call()
    except (NotFound, PermissionDenied) as exc:
        return type(exc)


@pytest.mark.parametrize("need", ["read", "write", "owner"])
def test_an_archived_workspace_is_read_only_for_everyone(people, archived, run, need):
    for persona, want in ARCHIVED_TABLE[need].items():
        user = people[persona]
        got = _refusal(lambda u=user: access.access_workspace(u, "default", need=need))
        assert (OK if got == archived else got) == want, persona
        if need == "read" and want == OK:
            assert access.access_run(people[persona], run.run_id) == run
        elif need == "write" and want is WA:
            with pytest.raises(WorkspaceArchived):
                access.access_run(people[persona], run.run_id, need="write")


def test_an_archived_workspace_refuses_run_and_view_writes_and_keeps_reads(
    owner, member, archived, run
):
    view = saved_views.view_create(
        workspace=archived, owner=member, name="v", state={}, shared=True
    )
    assert access.access_view(member, view.pk) == view
    for need in ("write", "owner", "default"):
        with pytest.raises(WorkspaceArchived):
            access.access_view(owner, view.pk, need=need)
    assert list(access.access_runs(owner, [run.run_id], need="write")) == []
    assert list(access.access_runs(owner, [run.run_id])) == [run]
    with pytest.raises(WorkspaceArchived):
        access.access_new_run(owner, "default", None)
    assert not access.allows(owner, archived, "write")
    assert access.allows(owner, archived, "owner")


def test_any_signed_in_user_may_create_a_workspace_but_not_through_a_narrowed_token(
    people, run, workspace
):
    for persona in ("owner", "member", "reader", "outsider", "superuser"):
        access.access_workspace_create(people[persona])
    with pytest.raises(PermissionDenied):
        access.access_workspace_create(people["anonymous"])
    owner = people["owner"]
    for scope in ({"workspace": workspace}, {"workspace": workspace, "run": run}):
        with pytest.raises(PermissionDenied):
            access.access_workspace_create(owner, token=_token(owner, **scope))
    access.access_workspace_create(owner, token=_token(owner))
