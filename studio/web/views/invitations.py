"""Invitations: owners make and revoke them on the Members page; the invitee opens the
one-time link, picks a username and password (or, signed in, just joins)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from studio.accounts import invitations as services
from studio.accounts.models import Invitation, Role
from studio.accounts.routes import CURRENT, route
from studio.core.client import client_address
from studio.errors import NotFound, StudioError
from studio.tracking.models import Workspace
from studio.web.common import frame
from studio.web.views.members import members_page


class InvitationForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.READER)
    note = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(required=False)


class SignUpForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)


@route("owner", workspace=CURRENT)
@require_POST
def invitation_create(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    """Make an invitation; its link is shown in this response only (and mailed when
    the studio has mail settings and an address was given)."""
    form = InvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("member-list")
    invitation, secret = services.invitation_create(
        workspace=workspace,
        created_by=request.user,
        address=client_address(request),
        **_fields(form, "role", "note"),
    )
    link = request.build_absolute_uri(reverse("invitation-open", args=[secret]))
    mailed = services.invitation_send(
        invitation=invitation, link=link, email=form.cleaned_data["email"]
    )
    return members_page(request, workspace, invitation_link=link, mailed=mailed)


def _fields(form: forms.Form, *names: str) -> dict:
    return {name: form.cleaned_data[name] for name in names}


@route("owner", invitation="invitation_id")
@require_POST
def invitation_revoke(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    """Revoke a pending invitation; its link is refused from now on."""
    services.invitation_revoke(
        invitation=invitation, by=request.user, address=client_address(request)
    )
    messages.success(request, f"The invitation as {invitation.role} was revoked.")
    return redirect("member-list")


@route("public")
@require_http_methods(["GET", "POST"])
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee's page: who invites them where; a sign-up form, or (signed in) a
    button to join. A link that is unknown, expired, used or revoked says so."""
    signed_in = request.user.is_authenticated
    form = SignUpForm(request.POST or None)
    try:
        invitation = services.invitation_find(secret=token)
        if request.method == "POST" and (signed_in or form.is_valid()):
            fields = {"user": request.user} if signed_in else _fields(form, "username", "password")
            membership = services.invitation_accept(
                secret=token, address=client_address(request), **fields
            )
            if not signed_in:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session["workspace"] = membership.workspace.name
            messages.success(request, f"You joined {membership.workspace} as {membership.role}.")
            return redirect("run-list")
    except StudioError as exc:
        if exc.field in ("username", "password"):
            form.add_error(exc.field, exc.message)
        else:
            status = 404 if isinstance(exc, NotFound) else 410
            context = {"reason": exc.message, **frame(request, None, "")}
            return render(request, "accounts/invitation_refused.html", context, status=status)
    context = {"invitation": invitation, "form": form, **frame(request, None, "")}
    return render(request, "accounts/invitation.html", context)
