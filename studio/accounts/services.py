"""Every write of the accounts domain: users and memberships.

Functions are keyword-only and named ``<entity>_<action>``, like the tracking
services; views, the API and commands call these rather than writing models.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from studio.accounts.models import ApiToken, Membership, Role
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


# --- API tokens --------------------------------------------------------------------

TOKEN_PREFIX = "stu_"


def hash_token(secret: str) -> str:
    import hashlib

    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *,
    user: AbstractBaseUser,
    name: str,
    workspace: Workspace | None = None,
    run=None,
) -> tuple[ApiToken, str]:
    """Create an API token and return it with its secret, which is never stored
    and cannot be shown again."""
    import secrets

    name = validation.text(name, "name", max_length=100, allow_empty=False)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        key_hash=hash_token(secret),
        workspace=workspace,
        run=run,
    )
    return token, secret


def token_revoke(*, token: ApiToken) -> None:
    """Revoke a token: the next request that presents it is refused."""
    from django.utils import timezone

    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
