"""Account writes: superusers and memberships."""

import pytest

from studio.accounts import services
from studio.accounts.models import Membership, Role
from studio.errors import Conflict, ValidationError


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
