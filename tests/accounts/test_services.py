"""Account writes: superusers and memberships."""

import pytest

from studio.accounts import services
from studio.accounts.models import Membership, Role
from studio.errors import Conflict, ValidationError
from studio.tracking.models import Workspace


def test_superuser_create_makes_a_superuser_with_that_password(db):
    user = services.superuser_create(username="admin", password="s3cret-enough")
    assert user.is_superuser and user.is_staff
    assert user.check_password("s3cret-enough")


@pytest.mark.parametrize("password", ["password", "admin-1", "1234567890"])
def test_superuser_create_refuses_a_weak_password(db, django_user_model, password):
    with pytest.raises(ValidationError) as caught:
        services.superuser_create(username="admin", password=password)
    assert caught.value.field == "password"
    assert not django_user_model.objects.exists()


def test_superuser_create_never_overwrites_an_existing_user(db, django_user_model):
    django_user_model.objects.create_user(username="admin", password="original")
    with pytest.raises(Conflict):
        services.superuser_create(username="admin", password="other")
    assert django_user_model.objects.get(username="admin").check_password("original")


def test_membership_add_adds_then_changes_the_role(member, workspace):
    other = services.membership_add(user=member, workspace=workspace, role=Role.OWNER)
    assert other.role == Role.OWNER
    assert Membership.objects.filter(user=member, workspace=workspace).count() == 1


def test_membership_add_refuses_an_unknown_role(django_user_model, workspace):
    user = django_user_model.objects.create_user(username="eve")
    with pytest.raises(ValidationError):
        services.membership_add(user=user, workspace=workspace, role="admin")
    assert not Membership.objects.filter(user=user).exists()


# --- workspaces ----------------------------------------------------------------------


def test_workspace_create_makes_its_creator_the_owner(django_user_model):
    user = django_user_model.objects.create_user(username="eve")
    workspace = services.workspace_create(name="eves-team", owner=user)
    assert Membership.objects.get(workspace=workspace).user == user
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER


@pytest.mark.parametrize(
    "name", ["", "x" * 256, "../x", "a\x00b", "   ", "Default", "DEFAULT"], ids=repr
)
def test_workspace_create_refuses_bad_names_and_creates_nothing(django_user_model, workspace, name):
    user = django_user_model.objects.create_user(username="eve")
    with pytest.raises((ValidationError, Conflict)):
        services.workspace_create(name=name, owner=user)
    assert list(Workspace.objects.values_list("name", flat=True)) == ["default"]
    assert not Membership.objects.filter(user=user).exists()


def test_the_creator_as_last_owner_can_be_neither_demoted_nor_removed(django_user_model):
    user = django_user_model.objects.create_user(username="eve")
    workspace = services.workspace_create(name="eves-team", owner=user)
    mine = Membership.objects.get(workspace=workspace)
    with pytest.raises(Conflict):
        services.membership_set_role(membership=mine, role=Role.READER)
    with pytest.raises(Conflict):
        services.membership_remove(membership=mine)
    assert Membership.objects.get(pk=mine.pk).role == Role.OWNER


def test_workspace_delete_is_refused_while_a_run_is_going(workspace):
    from studio.tracking import services as tracking
    from studio.tracking.services import workspaces

    experiment = tracking.experiment_get_or_create(workspace=workspace, name="e")
    run = tracking.run_create(experiment=experiment, submitted_by="alice")
    assert run.status == "Running"
    with pytest.raises(Conflict) as err:
        workspaces.workspace_delete(workspace=workspace, confirm="default")
    assert "1 run(s) still going" in err.value.message
    assert Workspace.objects.filter(name="default").exists()


def test_manage_py_workspace_create_makes_the_named_user_its_owner(django_user_model):
    from django.core.management import CommandError, call_command

    user = django_user_model.objects.create_user(username="eve")
    call_command("workspace_create", "eves-team", "--owner", "eve")
    workspace = Workspace.objects.get(name="eves-team")
    assert Membership.objects.get(workspace=workspace, user=user).role == Role.OWNER
    with pytest.raises(CommandError, match="already exists"):
        call_command("workspace_create", "EVES-TEAM", "--owner", "eve")
    with pytest.raises(CommandError, match="No active user"):
        call_command("workspace_create", "other", "--owner", "nobody")
    with pytest.raises(CommandError, match="Workspace name"):
        call_command("workspace_create", "../x", "--owner", "eve")
    assert list(Workspace.objects.values_list("name", flat=True)) == ["eves-team"]
