"""A run description's history (versions, a diff between any two, restore) and the
images pasted into its editor. Readers see the history; writers restore and attach.
Every route through ``route(...)``; writes through ``tracking.services``."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from studio.accounts.access import allows
from studio.accounts.routes import route
from studio.errors import StudioError
from studio.tracking import services
from studio.tracking.models import Run
from studio.web import descriptions
from studio.web.common import frame


def _number(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


@route("read", run="run_id")
@require_safe
def description_history(request: HttpRequest, run: Run) -> HttpResponse:
    """Every version, newest first; ``?a=&b=`` shows the diff from version a to b
    (default: the one before the newest to the newest)."""
    versions = list(run.description_versions.select_related("author"))
    by_number = {v.number: v for v in versions}
    a, b = _number(request.GET.get("a")), _number(request.GET.get("b"))
    if a is None and b is None and len(versions) >= 2:
        a, b = versions[1].number, versions[0].number
    older, newer = by_number.get(a), by_number.get(b)
    error = None
    if (a is not None or b is not None) and (older is None or newer is None):
        error = "No such version: pick two from the list."
        older = newer = None
    context = {
        "run": run,
        "versions": versions,
        "older": older,
        "newer": newer,
        "diff": descriptions.diff_lines(older.text, newer.text) if older and newer else None,
        "error": error,
        "can_write": allows(request.user, run.workspace, "write"),
        "current": versions[0].number if versions else None,
        **frame(request, run.workspace, "runs"),
    }
    return render(
        request, "web/run_description_history.html", context, status=400 if error else 200
    )


@route("write", run="run_id")
@require_POST
def description_restore(request: HttpRequest, run: Run) -> HttpResponse:
    """Make an old version the description again, as a new version."""
    number = _number(request.POST.get("version"))
    if number is None:
        messages.error(request, "Pick a version to restore.")
        return redirect(descriptions.history_url(run))
    try:
        version = services.description_restore(run=run, number=number, author=request.user)
        messages.success(request, f"Version {number} restored as version {version.number}.")
    except StudioError as exc:
        messages.error(request, exc.message)
    return redirect(descriptions.history_url(run))


@route("write", run="run_id")
@require_POST
def description_attach(request: HttpRequest, run: Run) -> JsonResponse:
    """An image pasted or dropped into the editor (field ``file``): stored as a file of
    the run, answered with the markdown that shows it."""
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse(
            {"error": "No image was sent (field file).", "field": "file"}, status=400
        )
    try:
        stored = services.description_attachment_upload(run=run, content=upload, size=upload.size)
    except StudioError as exc:
        return JsonResponse({"error": exc.message, "field": exc.field}, status=exc.http_status)
    alt = "".join(c for c in upload.name.rsplit(".", 1)[0] if c.isalnum() or c in " _-")[:60]
    return JsonResponse(
        {
            "name": stored.name,
            "url": reverse("run-file", args=[run.run_id, stored.name]) + "?inline=1",
            "markdown": f"![{alt or 'image'}]({stored.name})",
        },
        status=201,
    )
