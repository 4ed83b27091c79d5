"""What the studio's list pages share: the frame's context, the mapping of domain
errors to HTTP answers, and safe redirects back to where a form was sent from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from studio.accounts.access import workspaces_for_user
from studio.errors import NotFound, PermissionDenied
from studio.tracking.models import Workspace


@contextmanager
def http_errors() -> Iterator[None]:
    """NotFound -> 404, PermissionDenied -> 403, for the access helpers' errors."""
    try:
        yield
    except NotFound:
        raise Http404("Not found") from None
    except PermissionDenied as exc:
        raise HttpForbidden(exc.message) from None


def frame(request: HttpRequest, workspace: Workspace | None, nav: str) -> dict[str, Any]:
    """What base.html needs: the workspace, the switcher's list, the active nav item."""
    from studio.web.charts import PLOTLY_MAPLIBRE_STYLE_ID

    return {
        "plotly_maplibre_id": PLOTLY_MAPLIBRE_STYLE_ID,  # see templates/includes/_plotly_head.html
        "nav": nav,
        "workspace": workspace,
        "workspaces": workspaces_for_user(request.user).order_by("name"),
    }


def back(request: HttpRequest, default: str) -> str:
    """The ``next`` a form carried, if it is a path on this site; else ``default``."""
    target = request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
