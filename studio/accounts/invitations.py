"""Every write about bringing people in: invitations into a workspace, accounts made
by a superuser, and one-time set-password links.

An invitation's link carries a random secret; only its SHA-256 hash is stored, so a
leaked database yields no usable link. A set-password link is Django's password
reset token: it is spent when the password changes (the token covers the password
hash) and expires after ``PASSWORD_RESET_TIMEOUT``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.core import exceptions as django_exceptions
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from studio.accounts.models import Invitation, Membership, Role
from studio.accounts.services import hash_token, membership_add
from studio.audit.models import Action
from studio.audit.services import audit_record
from studio.errors import Conflict, NotFound, ValidationError
from studio.rules import validation
from studio.tracking.models import Workspace

INVITATION_LIFETIME = timedelta(days=7)


def _role(role: str) -> str:
    if role not in Role.values:
        raise ValidationError(
            f"Unknown role {role!r}; use one of {', '.join(Role.values)}.", field="role"
        )
    return role


def invitation_create(
    *,
    workspace: Workspace,
    role: str,
    created_by: AbstractBaseUser,
    note: str = "",
    address: str | None = None,
) -> tuple[Invitation, str]:
    """Make an invitation; returns it with its secret (the link's last part), which is
    not stored and cannot be shown again."""
    note = validation.text(note or "", "note", max_length=200).strip()
    secret = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        role=_role(role),
        note=note,
        key_hash=hash_token(secret),
        created_by=created_by,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    audit_record(
        action=Action.INVITATION_CREATE,
        actor=created_by,
        address=address,
        workspace=workspace,
        detail=f"as {invitation.role}" + (f": {note}" if note else ""),
    )
    return invitation, secret


def invitation_send(*, invitation: Invitation, link: str, email: str) -> bool:
    """Mail the link when the studio has mail settings (``STUDIO_EMAIL_*``);
    returns whether it was sent. Without them links are only shown to copy."""
    if "default" not in getattr(settings, "MAILERS", {}) or not email:
        return False
    inviter = invitation.created_by.get_username() if invitation.created_by else "An owner"
    lines = [
        f"{inviter} invites you to the workspace {invitation.workspace.name!r} "
        f"as {invitation.role} on Studio.",
        *([f"Note: {invitation.note}"] if invitation.note else []),
        f"Open this link to join (it works once, until {invitation.expires_at:%Y-%m-%d %H:%M %Z}):",
        link,
    ]
    send_mail(
        subject=f"Invitation to {invitation.workspace.name} on Studio",
        message="\n".join(lines),
        from_email=None,
        recipient_list=[email],
    )
    return True


def invitation_find(*, secret: str, lock: bool = False) -> Invitation:
    """The invitation a link names, if it can still be used; else an error saying why
    (``invitation_expired``, ``invitation_used``, ``invitation_revoked``)."""
    invitations = Invitation.objects.select_related("workspace", "created_by")
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(key_hash=hash_token(secret or "")).first()
    if invitation is None:
        raise NotFound("This invitation link is not valid.", field="token")
    if invitation.revoked_at is not None:
        raise Conflict("This invitation was revoked.", code="invitation_revoked")
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already used.", code="invitation_used")
    if invitation.expires_at <= timezone.now():
        raise Conflict("This invitation has expired.", code="invitation_expired")
    return invitation


def invitation_accept(
    *,
    secret: str,
    user: AbstractBaseUser | None = None,
    username: str = "",
    password: str = "",
    address: str | None = None,
) -> Membership:
    """Spend an invitation: ``user`` (someone signed in) joins, or a new account is made
    from ``username`` and ``password`` (Django's password validators). A member who
    already has a higher role keeps it; the link is spent either way."""
    with transaction.atomic():
        invitation = invitation_find(secret=secret, lock=True)
        if user is None:
            user = _user_create(username=username, password=password)
        current = Membership.objects.filter(user=user, workspace=invitation.workspace).first()
        if current is not None and _rank(current.role) >= _rank(invitation.role):
            membership = current
        else:
            membership = membership_add(
                user=user, workspace=invitation.workspace, role=invitation.role
            )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(
            action=Action.INVITATION_ACCEPT,
            actor=user,
            address=address,
            workspace=invitation.workspace,
            detail=f"as {membership.role} (invited by {invitation.created_by})",
        )
    return membership


def _rank(role: str) -> int:
    return [Role.READER, Role.CONTRIBUTOR, Role.OWNER].index(role)


def invitation_revoke(
    *, invitation: Invitation, by: AbstractBaseUser | None = None, address: str | None = None
) -> None:
    """Revoke a pending invitation: its link is refused from now on."""
    revoked = Invitation.objects.filter(
        pk=invitation.pk, revoked_at__isnull=True, accepted_at__isnull=True
    ).update(revoked_at=timezone.now())
    if revoked:
        audit_record(
            action=Action.INVITATION_REVOKE,
            actor=by,
            address=address,
            workspace=invitation.workspace,
            detail=f"as {invitation.role}",
        )


def _validated_password(password: str, user: AbstractBaseUser, field: str = "password") -> str:
    try:
        password_validation.validate_password(password, user)
    except django_exceptions.ValidationError as exc:
        raise ValidationError(" ".join(exc.messages), field=field) from None
    return password


def _user_create(*, username: str, password: str | None) -> AbstractBaseUser:
    User = get_user_model()
    username = validation.text(username, "username", max_length=150, allow_empty=False).strip()
    try:
        User.username_validator(username)
    except django_exceptions.ValidationError as exc:
        raise ValidationError(" ".join(exc.messages), field="username") from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"The username {username!r} is taken.", field="username")
    user = User(username=username)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(_validated_password(password, user))
    user.save()
    return user


def user_create(
    *, username: str, superuser: bool = False, email: str = ""
) -> tuple[AbstractBaseUser, str]:
    """Make an account with no usable password; returns it with the path of its
    one-time set-password link."""
    with transaction.atomic():
        user = _user_create(username=username, password=None)
        user.email = validation.text(email or "", "email", max_length=254).strip()
        user.is_superuser = user.is_staff = superuser
        user.save(update_fields=["email", "is_superuser", "is_staff"])
    return user, set_password_path(user=user)


def user_create_with_password(*, username: str, password: str) -> AbstractBaseUser:
    """Make an account that signs in with ``password`` at once (``manage.py demo``'s
    second user); the username and password are checked as for any account."""
    with transaction.atomic():
        return _user_create(username=username, password=password)


def set_password_path(*, user: AbstractBaseUser) -> str:
    """The path of a one-time link where ``user`` sets a new password."""
    from django.urls import reverse

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("set-password", kwargs={"uidb64": uid, "token": token})


def user_reset_password(*, user: AbstractBaseUser) -> str:
    """Make ``user``'s password unusable and return a new one-time set-password link;
    an earlier link stops working (the token covers the password hash)."""
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return set_password_path(user=user)


def user_set_active(*, user: AbstractBaseUser, active: bool) -> None:
    """Deactivate (or reactivate) an account: a deactivated user cannot sign in and
    their API tokens are refused at once (``access.token_authenticate``)."""
    user.is_active = active
    user.save(update_fields=["is_active"])


def password_change(*, user: AbstractBaseUser, old: str, new: str) -> None:
    """Change one's own password: the old one must match; the new one passes
    Django's password validators."""
    if not user.check_password(old or ""):
        raise ValidationError("The current password is not correct.", field="old_password")
    user.set_password(_validated_password(new or "", user, field="new_password"))
    user.save(update_fields=["password"])
