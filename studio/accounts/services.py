"""Every write of the accounts domain: users and memberships.

Functions are keyword-only and named ``<entity>_<action>``, like the tracking
services; views, the API and commands call these rather than writing models.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from studio.accounts.models import ApiToken, Membership, Preference, Role, Theme
from studio.audit.models import Action
from studio.audit.services import audit_record
from studio.errors import Conflict, ValidationError
from studio.rules import validation
from studio.tracking.models import Workspace


def superuser_create(*, username: str, password: str) -> AbstractBaseUser:
    """Create a superuser. An existing username is a Conflict, never overwritten:
    its password is the owner's to change (``manage.py changepassword``). The
    password must pass Django's validators (``AUTH_PASSWORD_VALIDATORS``)."""
    username = validation.text(username, "username", max_length=150, allow_empty=False)
    password = validation.text(password, "password", max_length=128, allow_empty=False)
    User = get_user_model()
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"User {username!r} already exists.", field="username")
        _check_password(password, User(username=username))
        return User.objects.create_superuser(username=username, password=password)


def _check_password(password: str, user: AbstractBaseUser) -> None:
    from django.contrib.auth import password_validation
    from django.core.exceptions import ValidationError as DjangoValidationError

    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(exc.messages), field="password") from None


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


def _check_not_last_owner(membership: Membership) -> None:
    """Inside a transaction: the owners' rows are locked, so two owners demoting each
    other at once cannot leave the workspace without one (on PostgreSQL; SQLite's
    IMMEDIATE transactions already run one at a time)."""
    owners = list(
        Membership.objects.select_for_update()
        .filter(workspace=membership.workspace, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    if membership.role == Role.OWNER and owners == [membership.pk]:
        raise Conflict(
            f"{membership.user} is the last owner of {membership.workspace.name!r}; "
            "make someone else an owner first.",
            field="role",
        )


def membership_add_by_username(
    *,
    username: str,
    workspace: Workspace,
    role: str,
    by: AbstractBaseUser | None = None,
    address: str | None = None,
) -> Membership:
    """Add an existing user, named by username, to ``workspace`` (owners do this in
    the studio). Adding a member again is a Conflict, not a silent role change.
    Audited as a role change by ``by`` from ``address``."""
    username = validation.text(username, "username", max_length=150, allow_empty=False).strip()
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError(f"There is no user named {username!r}.", field="username")
    if Membership.objects.filter(user=user, workspace=workspace).exists():
        raise Conflict(f"{username} is already a member of {workspace.name!r}.", field="username")
    with transaction.atomic():
        membership = membership_add(user=user, workspace=workspace, role=role)
        _audit_role(membership, by, address, f"added {user} as {role}")
    return membership


def _audit_role(membership: Membership, by, address: str | None, detail: str) -> None:
    audit_record(
        action=Action.ROLE_CHANGE,
        actor=by,
        address=address,
        workspace=membership.workspace,
        detail=detail,
    )


def membership_set_role(
    *,
    membership: Membership,
    role: str,
    by: AbstractBaseUser | None = None,
    address: str | None = None,
) -> Membership:
    """Change a member's role; the workspace always keeps at least one owner. A
    change is audited as made by ``by`` from ``address``."""
    if role not in Role.values:
        raise ValidationError(
            f"Unknown role {role!r}; use one of {', '.join(Role.values)}.", field="role"
        )
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if role != Role.OWNER:
            _check_not_last_owner(membership)
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        if old != role:
            _audit_role(membership, by, address, f"{membership.user}: {old} to {role}")
    return membership


def membership_remove(*, membership: Membership) -> None:
    """Remove a member from a workspace; the last owner cannot be removed. Their
    private views of that workspace go with them."""
    from studio.tracking.models import SavedView

    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        _check_not_last_owner(membership)
        SavedView.objects.filter(
            workspace=membership.workspace, owner=membership.user, shared=False
        ).delete()
        membership.delete()


# --- workspaces ------------------------------------------------------------------


def workspace_create(*, name: str, owner: AbstractBaseUser) -> Workspace:
    """Create the workspace ``name`` (tracking's rules: valid, free in any case) and
    make ``owner``, its creator, its owner, in one transaction."""
    from studio.tracking.services import workspaces

    with transaction.atomic():
        workspace = workspaces.workspace_create(name=name)
        membership_add(user=owner, workspace=workspace, role=Role.OWNER)
    return workspace


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
    address: str | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token and return it with its secret, which is never stored
    and cannot be shown again. Audited (``address``: where the request came from)."""
    import secrets

    name = validation.text(name, "name", max_length=100, allow_empty=False)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=secret[: len(TOKEN_PREFIX) + 6],
            key_hash=hash_token(secret),
            workspace=workspace,
            run=run,
        )
        audit_record(
            action=Action.TOKEN_CREATE,
            actor=user,
            address=address,
            workspace=workspace,
            detail=f"{token.name} ({token.prefix}…)",
        )
    return token, secret


def token_revoke(*, token: ApiToken) -> None:
    """Revoke a token: the next request that presents it is refused."""
    from django.utils import timezone

    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def run_token_create(*, run) -> str:
    """Mint the token a job run by a worker reports with: its submitter's account,
    narrowed to the run's workspace and to the run and its descendants. Refused when
    the submitter has no active account that may write to the workspace (the job
    would act for nobody). Returns the secret; ``run_tokens_revoke`` ends it."""
    from django.db.models import Q

    from studio.errors import PermissionDenied

    may_write = Q(is_superuser=True) | Q(
        memberships__workspace_id=run.workspace_id,
        memberships__role__in=[Role.CONTRIBUTOR, Role.OWNER],
    )
    user = (
        get_user_model()
        .objects.filter(may_write, username=run.submitted_by, is_active=True)
        .distinct()
        .first()
    )
    if user is None:
        raise PermissionDenied(
            f"Run {run.run_id} was submitted by {run.submitted_by!r}, who has no account "
            f"that may write to workspace {run.workspace.name!r}: a job run by a worker "
            "reports through the API as its submitter.",
            field="submitted_by",
        )
    _, secret = token_create(user=user, name=f"job {run.run_id}", workspace=run.workspace, run=run)
    return secret


def run_tokens_revoke(*, run) -> int:
    """Revoke every token scoped to ``run`` (its job has ended); returns how many."""
    from django.utils import timezone

    return ApiToken.objects.filter(run=run, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def preference_set_theme(*, user: AbstractBaseUser, theme: str) -> Preference:
    """Remember ``user``'s theme: light, dark or system (follow the browser)."""
    if theme not in Theme.values:
        raise ValidationError(
            f"Unknown theme {theme!r}: use one of {', '.join(Theme.values)}.", field="theme"
        )
    preference, _ = Preference.objects.update_or_create(user=user, defaults={"theme": theme})
    return preference
