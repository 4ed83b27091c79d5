"""The audit log of a workspace (Settings → Audit): owners only."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from studio.accounts.routes import CURRENT, route
from studio.audit.selectors import audit_entries_for_workspace
from studio.tracking.models import Workspace
from studio.web.common import frame

PAGE_SIZE = 50


@route("owner", workspace=CURRENT)
@require_GET
def audit_list(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    """Who did what, when and from where in the current workspace, newest first."""
    if workspace is None:
        raise Http404("No workspace")
    paginator = Paginator(audit_entries_for_workspace(workspace=workspace), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"page": page, **frame(request, workspace, "audit")}
    return render(request, "web/audit.html", context)
