"""Every write of the accounts domain: users and memberships.

Functions are keyword-only and named ``<entity>_<action>``, like the tracking
services; views, the API and commands call these rather than writing models.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from studio.accounts.models import Membership, Role
from studio.core import validation
from studio.errors import Conflict, ValidationError
from studio.tracking.models import Workspace


def superuser_create(*, username: str, password: str) -> AbstractBaseUser:
    """Create a superuser. An existing username is a Conflict, never overwritten:
    its password is the owner's to change (``manage.py changepassword``)."""
    username = validation.text(username, "username", max_length=150, allow_empty=False)
    password = validation.text(password, "password", max_length=128, allow_empty=False)
    User = get_user_model()
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"User {username!r} already exists.", field="username")
        return User.objects.create_superuser(username=username, password=password)


def membership_add(*, user: AbstractBaseUser, workspace: Workspace, role: str) -> Membership:
    """Make ``user`` a member of ``workspace`` with ``role``; adding someone who is
    already a member changes their role."""
    if role not in Role.values:
        raise ValidationError(
            f"Unknown role {role!r}; use one of {', '.join(Role.values)}.", field="role"
        )
    membership, _ = Membership.objects.update_or_create(
        user=user, workspace=workspace, defaults={"role": role}
    )
    return membership
