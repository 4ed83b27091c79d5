"""The sign-in form, throttled (studio/accounts/throttle.py)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from studio.accounts import throttle
from studio.core.client import client_address
from studio.errors import TooManyAttempts


class SignInForm(AuthenticationForm):
    """Django's sign-in form, refused while the username from this address is locked
    (a right password too), counting each failure and resetting on a success."""

    error_messages = {
        **AuthenticationForm.error_messages,
        # The studio's wording since its first sign-in page (case sensitivity is the
        # same either way: usernames are compared as typed).
        "invalid_login": "Your username and password didn't match. Please try again.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        try:
            throttle.signin_check(username=username, address=address)
        except TooManyAttempts as exc:
            raise forms.ValidationError(exc.message, code="too_many_attempts") from None
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if self.cleaned_data.get("password"):
                throttle.signin_failed(username=username, address=address)
            try:
                throttle.signin_check(username=username, address=address)
            except TooManyAttempts as exc:
                raise forms.ValidationError(exc.message, code="too_many_attempts") from None
            raise
        throttle.signin_succeeded(username=username, address=address)
        return cleaned
