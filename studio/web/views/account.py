"""One's own account (profile, password) and, for superusers, everyone's (Settings →
Users: create with a one-time set-password link, deactivate, reset a password)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from studio.accounts import invitations as services
from studio.accounts import selectors
from studio.accounts.access import current_workspace
from studio.accounts.routes import route
from studio.accounts.services import preference_set_theme
from studio.errors import StudioError
from studio.web.common import came_from, frame


class PasswordForm(forms.Form):
    old_password = forms.CharField(widget=forms.PasswordInput, strip=False)
    new_password = forms.CharField(widget=forms.PasswordInput, strip=False)


class UserForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    superuser = forms.BooleanField(required=False)


@route("read")
def profile(request: HttpRequest) -> HttpResponse:
    """The signed-in user's name, e-mail, workspaces and API tokens."""
    context = {**selectors.profile(user=request.user), **_frame(request, "profile")}
    return render(request, "accounts/profile.html", context)


@route("read")
@require_POST
def theme_set(request: HttpRequest) -> HttpResponse:
    """Remember the theme (light, dark or system) and go back to the page it was set on
    (its Referer: a field naming it would echo the page's URL into every page)."""
    try:
        preference_set_theme(user=request.user, theme=request.POST.get("theme", ""))
    except StudioError as exc:
        messages.error(request, exc.message)
    return redirect(came_from(request, reverse("profile")))


def _frame(request: HttpRequest, nav: str) -> dict:
    return frame(request, current_workspace(request), nav)


@route("read")
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password (the current one, then a new one that passes the
    password validators); the session stays signed in."""
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(
                user=request.user,
                old=form.cleaned_data["old_password"],
                new=form.cleaned_data["new_password"],
            )
        except StudioError as exc:
            form.add_error(exc.field, exc.message)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, "Your password was changed.")
            return redirect("profile")
    return render(request, "accounts/password.html", {"form": form, **_frame(request, "profile")})


@route("superuser")
@require_http_methods(["GET", "POST"])
def user_list(request: HttpRequest) -> HttpResponse:
    """Every account; POST makes one, shown with its one-time set-password link."""
    form = UserForm(request.POST or None)
    link = None
    if request.method == "POST" and form.is_valid():
        try:
            user, path = services.user_create(**form.cleaned_data)
        except StudioError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            link = (user, request.build_absolute_uri(path))
    users = get_user_model().objects.order_by("username")
    context = {"form": form, "users": users, "link": link, **_frame(request, "users")}
    return render(request, "accounts/users.html", context, status=201 if link else 200)


@route("superuser", user="user_id")
@require_POST
def user_change(request: HttpRequest, user) -> HttpResponse:
    """Deactivate, reactivate or reset the password of an account (``action``)."""
    action = request.POST.get("action")
    if action == "reset":
        path = services.user_reset_password(user=user)
        link = (user, request.build_absolute_uri(path))
        users = get_user_model().objects.order_by("username")
        context = {"form": UserForm(), "users": users, "link": link, **_frame(request, "users")}
        return render(request, "accounts/users.html", context, status=201)
    if action == "deactivate" and user == request.user:
        messages.error(request, "You cannot deactivate yourself.")
    elif action in ("deactivate", "activate"):
        services.user_set_active(user=user, active=action == "activate")
        messages.success(request, f"{user.get_username()} was {action}d.")
    return redirect("user-list")
