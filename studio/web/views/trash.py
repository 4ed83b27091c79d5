"""Archiving and deleting runs from the run page, and the workspace's trash
(``/trash/``): what was deleted, with Restore and Delete permanently. Contributors
and owners act; readers see the trash. The rules are the services'
(``tracking.services.trash``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from studio.accounts.access import allows
from studio.accounts.routes import CURRENT, route
from studio.core.client import client_address
from studio.errors import StudioError
from studio.tracking import selectors, services
from studio.tracking.models import Run, Workspace
from studio.web.common import back, frame


def _act(request: HttpRequest, action, run: Run, done: str, *, then: str, failed: str):
    """Call ``action`` on ``run`` as the signed-in user, say what happened (or why
    not), and go to ``then`` (or ``failed``)."""
    try:
        action(runs=[run], by=request.user, address=client_address(request))
    except StudioError as exc:
        messages.error(request, exc.message)
        return redirect(failed)
    messages.success(request, done)
    return redirect(then)


def _page(run: Run) -> str:
    return reverse("run-detail", args=[run.run_id])


@route("write", run="run_id")
@require_POST
def run_archive(request: HttpRequest, run: Run) -> HttpResponse:
    done = f"Archived {run.label}: lists leave it out unless the search says archived."
    page = _page(run)
    return _act(request, services.run_archive, run, done, then=back(request, page), failed=page)


@route("write", run="run_id")
@require_POST
def run_unarchive(request: HttpRequest, run: Run) -> HttpResponse:
    done = f"{run.label} is back in the lists."
    page = _page(run)
    return _act(request, services.run_unarchive, run, done, then=back(request, page), failed=page)


@route("write", run="run_id")
@require_POST
def run_delete(request: HttpRequest, run: Run) -> HttpResponse:
    """Into the trash; the run's page is gone, so the list is where one lands."""
    done = (
        f"Moved {run.label} to the trash; restore it from Trash within {services.TRASH_DAYS} days."
    )
    listing = f"{reverse('run-list')}?ws={run.workspace.name}"
    return _act(request, services.run_delete, run, done, then=listing, failed=_page(run))


@route("read", workspace=CURRENT)
@require_safe
def trash_list(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    """The workspace's trash, most recently deleted first, with the days each run
    has left; runs past TRASH_DAYS are purged as the page opens."""
    if workspace is None:
        raise Http404("No workspace")
    services.trash_purge_expired(workspace=workspace)
    now = timezone.now()
    rows = [
        {"run": run, "days_left": max(services.TRASH_DAYS - (now - run.deleted_at).days, 0)}
        for run in selectors.trash_list(workspace=workspace)[:500]
    ]
    context = {
        "rows": rows,
        "trash_days": services.TRASH_DAYS,
        "can_write": allows(request.user, workspace, "write"),
        **frame(request, workspace, "runs"),
    }
    return render(request, "web/trash.html", context)


@route("write", trashed_run="run_id")
@require_POST
def trash_restore(request: HttpRequest, trashed_run: Run) -> HttpResponse:
    done = f"Restored {trashed_run.label}."
    trash = reverse("trash-list")
    return _act(
        request, services.run_restore, trashed_run, done, then=_page(trashed_run), failed=trash
    )


@route("write", trashed_run="run_id")
@require_POST
def trash_purge(request: HttpRequest, trashed_run: Run) -> HttpResponse:
    done = f"Deleted {trashed_run.label} for good, with its files."
    trash = reverse("trash-list")
    return _act(request, services.run_purge, trashed_run, done, then=trash, failed=trash)
