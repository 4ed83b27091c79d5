"""What the studio's pages share: the frame's context and safe redirects back to
where a form was sent from. (Domain errors become 404/403 in the route declaration,
``studio.accounts.routes``.)"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from studio.accounts.access import workspaces_for_user
from studio.tracking.models import Workspace


def frame(request: HttpRequest, workspace: Workspace | None, nav: str) -> dict[str, Any]:
    """What base.html needs: the workspace, the switcher's list, the active nav item."""
    from studio.web.charts import PLOTLY_MAPLIBRE_STYLE_ID

    return {
        "plotly_maplibre_id": PLOTLY_MAPLIBRE_STYLE_ID,  # see templates/includes/_plotly_head.html
        "nav": nav,
        "workspace": workspace,
        # Archived workspaces are left out of the switcher (the open one stays listed).
        "workspaces": workspaces_for_user(request.user)
        .filter(Q(archived=False) | Q(pk=getattr(workspace, "pk", None)))
        .order_by("name"),
    }


def back(request: HttpRequest, default: str) -> str:
    """The ``next`` a form carried, if it is a path on this site; else ``default``."""
    target = request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def came_from(request: HttpRequest, default: str) -> str:
    """The page the caller came from (its Referer) when it is on this studio, else
    ``default``. Raises DisallowedHost for a Host header this studio does not serve."""
    referer = request.META.get("HTTP_REFERER", "")
    same_site = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return referer if referer and same_site else default
