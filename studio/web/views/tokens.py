"""The user's API tokens (Settings → API tokens)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from studio.accounts.access import current_workspace
from studio.accounts.models import ApiToken
from studio.accounts.routes import route
from studio.accounts.services import token_create, token_revoke
from studio.core.client import client_address
from studio.errors import StudioError
from studio.web.common import frame


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. laptop or CI.")


@route("read")
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's API tokens. A new token's secret is shown in this response only."""
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                address=client_address(request),
            )
        except StudioError as exc:
            form.add_error("name", exc.message)
    tokens = request.user.api_tokens.filter(revoked_at__isnull=True, run__isnull=True)
    return render(
        request,
        "web/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": tokens,
            **frame(request, current_workspace(request), "tokens"),
        },
        status=201 if secret else 200,
    )


@route("read", token="token_id")
@require_POST
def token_revoke_view(request: HttpRequest, token: ApiToken) -> HttpResponse:
    """Revoke one of the user's own tokens (anyone else's is a 404)."""
    token_revoke(token=token)
    messages.success(request, f"Token {token.name} ({token.prefix}…) was revoked.")
    return redirect("token-list")
