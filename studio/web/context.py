"""Template context for every page: the saved views listed in the left navigation and
the theme the user chose."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

MAX_NAV_VIEWS = 30
THEME_CHOICES = [("light", "Light"), ("dark", "Dark"), ("system", "System")]  # the menu's order


def _nav_views(request: HttpRequest) -> list:
    from studio.tracking.models import SavedView

    name = request.session.get("workspace") if hasattr(request, "session") else None
    if not name or not request.user.is_authenticated:
        return []
    # The session names the workspace last opened; membership is checked again here,
    # in the same query.
    views = SavedView.objects.visible_to(request.user).filter(workspace__name=name)
    return list(views.order_by("-shared", "name", "pk")[:MAX_NAV_VIEWS])


def navigation(request: HttpRequest) -> dict:
    """``nav_views``: queried only when a template shows them (shared views first)."""
    return {"nav_views": SimpleLazyObject(lambda: _nav_views(request))}


def appearance(request: HttpRequest) -> dict:
    """``theme``: "light", "dark" or "system"; base.html puts the first two on <html>
    so the page is drawn in them from the first paint."""
    from studio.accounts.selectors import theme_for

    return {
        "theme": SimpleLazyObject(lambda: theme_for(request.user)),
        "theme_choices": THEME_CHOICES,
    }
