"""The authentication backend: Django's, loading the user's preferences in the same
query, so every page can render the chosen theme on <html> without one more query."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class PreferenceBackend(ModelBackend):
    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("preference")
        user = users.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
