"""Template context for every page: the saved views listed in the left navigation."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

MAX_NAV_VIEWS = 30


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
