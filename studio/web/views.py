"""HTML views: thin functions over access helpers, selectors and templates."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from studio.accounts.access import current_workspace, workspaces_for_user
from studio.core.policy import policy
from studio.tracking import selectors

PAGE_SIZE = 50


@policy("public")
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return redirect("run-list")


@policy("member")
@require_safe
@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    """Top-level runs of the current workspace, newest first; children are counted
    on their parent's row."""
    workspace = current_workspace(request)
    runs = selectors.run_list(workspace=workspace, include_children=False) if workspace else []
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/runs.html",
        {
            "nav": "runs",
            "workspace": workspace,
            "workspaces": workspaces_for_user(request.user).order_by("name"),
            "page": page,
        },
    )
