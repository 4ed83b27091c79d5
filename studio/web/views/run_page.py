"""The run page (``/runs/<run_id>/``) with its tabs, the compare page, and the
fragments and JSON endpoints their script calls. Every view: decorators, the access
helper, a service or selector, render. Writes go through ``tracking.services``.

A missing run and a forbidden one are the same 404; a reader who tries to write
gets 403. A fragment request (header ``X-Studio-Fragment: 1``) gets the partial the
page itself includes, so the page works without JavaScript and the script only
swaps sections in place.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST, require_safe

from studio.accounts.routes import Lean, route
from studio.core.markdown import render_markdown
from studio.core.ranges import file_response
from studio.errors import NotFound, StudioError, ValidationError
from studio.rules import transitions
from studio.tracking import live as feed
from studio.tracking import selectors, services
from studio.tracking.models import Run
from studio.web import charts, run_files
from studio.web.common import frame
from studio.web.run_tabs import (
    SECTIONS,
    TAB_CONTEXT,
    TABS,
    children_page,
    digest,
    metric_figure,
    overview,
    section_context,
)

# --- helpers -------------------------------------------------------------------------


def _is_fragment(request: HttpRequest) -> bool:
    return request.headers.get("X-Studio-Fragment") == "1"


def run_url(run: Run, tab: str = "overview", **query: Any) -> str:
    params = {"tab": tab} if tab != "overview" else {}
    params.update({k: v for k, v in query.items() if v not in (None, "")})
    url = reverse("run-detail", args=[run.run_id])
    return f"{url}?{urlencode(params)}" if params else url


def _render_section(request: HttpRequest, run: Run, section: str, status: int = 200, **extra):
    context = section_context(request, run, **extra)
    return render(request, f"web/_run_{section}.html", context, status=status)


def _after_write(request: HttpRequest, run: Run, section: str) -> HttpResponse:
    """The fresh section for the script, or back to the page without one."""
    run.refresh_from_db()
    if _is_fragment(request):
        return _render_section(request, run, section)
    return redirect(run_url(run, request.POST.get("tab", "overview")))


def _write_failed(request: HttpRequest, run: Run, section: str, exc: StudioError, **extra):
    if _is_fragment(request):
        return _render_section(request, run, section, status=400, error=exc.message, **extra)
    messages.error(request, exc.message)
    return redirect(run_url(run, request.POST.get("tab", "overview")))


# --- the page --------------------------------------------------------------------------


@route("read", run="run_id")
@require_safe
def run_detail(request: HttpRequest, run: Run) -> HttpResponse:
    """The run page; ``?tab=`` picks the tab, ``?section=`` (for the page's script)
    returns one section of it."""
    if request.GET.get("section") in SECTIONS:
        return _render_section(request, run, request.GET["section"])
    tab = request.GET.get("tab", "overview")
    tab = tab if tab in dict(TABS) else "overview"
    context = section_context(request, run)
    context.update(TAB_CONTEXT[tab](request, run))
    context.update(
        frame(request, run.workspace, "runs"),
        tab=tab,
        tabs=TABS,
        confirm_cancel=request.GET.get("confirm") == "cancel" and context["cancellable"],
        # The change cursor the page is rendered at: live.js follows from there.
        live_since=None if run.is_terminal else feed.cursor(),
    )
    return render(request, "web/run_page.html", context)


# --- writes ----------------------------------------------------------------------------


@route("write", run="run_id")
@require_POST
def run_rename(request: HttpRequest, run: Run) -> HttpResponse:
    try:
        services.run_update(run=run, display_name=request.POST.get("display_name", "").strip())
    except StudioError as exc:
        return _write_failed(request, run, "name", exc)
    return _after_write(request, run, "name")


@route("write", run="run_id")
@require_POST
def run_describe(request: HttpRequest, run: Run) -> HttpResponse:
    """Save the description, or (``action=preview``) show the draft rendered. A save
    based on an older text than the current one is refused (409) with both shown,
    so two people editing at once never silently overwrite each other (F4)."""
    draft = request.POST.get("description", "")
    if request.POST.get("action") == "preview":
        preview = render_markdown(draft, run_id=run.run_id)
        if _is_fragment(request):
            return render(request, "web/_run_preview.html", {"preview_html": preview})
        return _page_with_editor(request, run, draft, preview=preview)
    if request.POST.get("base") != digest(run.description):
        error = "Someone changed the description while you were editing. Their text is shown; yours is still in the editor."
        return _page_with_editor(request, run, draft, error=error, conflict=True, status=409)
    try:
        services.run_update(run=run, description=draft)
    except StudioError as exc:
        return _page_with_editor(request, run, draft, error=exc.message, status=400)
    return _after_write(request, run, "description")


def _page_with_editor(request, run, draft, *, preview=None, error=None, conflict=False, status=200):
    extra = {
        "editing": True,
        "draft": draft,
        "preview_html": preview,
        "error": error,
        "conflict": conflict,
    }
    if _is_fragment(request):
        return _render_section(request, run, "description", status=status, **extra)
    context = section_context(request, run, **extra)
    context.update(overview(request, run), **frame(request, run.workspace, "runs"))
    context.update(tab="overview", tabs=TABS)
    return render(request, "web/run_page.html", context, status=status)


@route("write", run="run_id")
@require_POST
def run_tags(request: HttpRequest, run: Run) -> HttpResponse:
    """Add or change a tag (an empty value makes a key-only tag), or remove one."""
    key = request.POST.get("key", "").strip()
    try:
        if request.POST.get("action") == "remove":
            services.run_remove_tags(run=run, keys=[key])
        else:
            value = request.POST.get("value", "")
            services.run_set_tags(run=run, tags={key: value if value != "" else None})
    except StudioError as exc:
        return _write_failed(request, run, "tags", exc, tag_key=key)
    return _after_write(request, run, "tags")


@route("write", run="run_id")
@require_POST
def run_cancel(request: HttpRequest, run: Run) -> HttpResponse:
    """Cancel as ``run.cancel()`` does: a started script gets CancelRequested and its
    supervisor stops the process group; a pipeline's driver cancels its steps. The
    page's script gets the fresh status section (then refreshes the details)."""
    try:
        run = services.run_cancel(run=run)
    except StudioError as exc:
        return _write_failed(request, run, "status", exc)
    if not _is_fragment(request):
        messages.success(request, f"Cancel requested: the run is {run.status}.")
    return _after_write(request, run, "status")


# --- data for the page's script ----------------------------------------------------------


def _bad_request(exc: StudioError) -> JsonResponse:
    return JsonResponse({"code": exc.code, "field": exc.field, "message": exc.message}, status=400)


@route("read", run="run_id")
@require_safe
def run_chart(request: HttpRequest, run: Run) -> JsonResponse:
    """One metric's figure; ``lo``/``hi`` refine it to a step range (zoom)."""
    name = request.GET.get("name", "")
    try:
        lo = run_files.parse_offset(request.GET.get("lo"), name="lo", allow_negative=True)
        hi = run_files.parse_offset(request.GET.get("hi"), name="hi", allow_negative=True)
        step_range = (lo, hi) if lo is not None and hi is not None and lo <= hi else None
        if not any(s.name == name for s in selectors.metric_summaries(run=run)):
            raise NotFound(f"Run {run.run_id} has no metric {name!r}.", field="name")
    except NotFound:
        raise Http404("No such metric") from None
    except ValidationError as exc:
        return _bad_request(exc)
    figure = metric_figure(run, name, charts.ChartOptions.from_query(request.GET), step_range)
    return JsonResponse(figure, json_dumps_params={"allow_nan": False})


@route("read", run="run_id")
@require_safe
def run_children(request: HttpRequest, run: Run) -> HttpResponse:
    """A page of a run's children: the tree's rows, one level at a time."""
    try:
        offset = run_files.parse_offset(request.GET.get("offset"), name="offset") or 0
    except ValidationError as exc:
        return _bad_request(exc)
    context = children_page(run, request.GET.get("metric", ""), offset)
    return render(request, "web/_run_children.html", context)


def _log_file(request: HttpRequest, run: Run):
    name = request.GET.get("name", "")
    if not name.startswith("logs/"):
        raise Http404("No such log")
    try:
        return selectors.file_get(run=run, name=name)
    except (NotFound, ValidationError):
        raise Http404("No such log") from None


@route("read", run=Lean("run_id"))
@require_safe
def run_log(request: HttpRequest, run: Run) -> JsonResponse:
    """A chunk of a log as text (``tail``, from ``offset`` or ``before`` an offset),
    with the run's status, so the viewer knows whether to keep following."""
    run_file = _log_file(request, run)
    live = run.status not in transitions.TERMINAL
    try:
        limit = run_files.parse_offset(request.GET.get("limit"), name="limit")
        limit = run_files.LOG_CHUNK if limit is None else limit
        if (before := run_files.parse_offset(request.GET.get("before"), name="before")) is not None:
            chunk = run_files.read_log(run_file, mode="before", at=before, limit=limit)
        elif (
            offset := run_files.parse_offset(request.GET.get("offset"), name="offset")
        ) is not None:
            chunk = run_files.read_log(run_file, mode="forward", at=offset, limit=limit, live=live)
        else:
            chunk = run_files.read_log(run_file, mode="tail", limit=limit, live=live)
    except ValidationError as exc:
        return _bad_request(exc)
    return JsonResponse({**chunk, "status": run.status, "active": live})


@route("read", run=Lean("run_id"))
@require_safe
def run_log_search(request: HttpRequest, run: Run) -> JsonResponse:
    """Lines of a log holding ``q``: the whole log, 256 MB per call (``next_offset``
    and ``next_line`` continue, as ``offset`` and ``line``), at most 200 lines, each
    with its number, the term's parts and two lines of context either side."""
    run_file = _log_file(request, run)
    try:
        offset = run_files.parse_offset(request.GET.get("offset"), name="offset") or 0
        line = run_files.parse_offset(request.GET.get("line"), name="line") or 1
        needle = request.GET.get("q", "")
        found = selectors.file_search(run_file=run_file, needle=needle, offset=offset, line=line)
    except ValidationError as exc:
        return _bad_request(exc)
    found["matches"] = run_files.present_matches(found["matches"], needle)
    return JsonResponse(found)


@route("read", run=Lean("run_id"))
@require_safe
def run_file(request: HttpRequest, run: Run, name: str) -> HttpResponse:
    """A run file: a download (attachment, ``nosniff``, sandboxed), or with
    ``?inline=1`` an allowlisted raster image whose bytes agree (RELIABILITY A8). A
    Range header gets that part of it (206), or 416 when it names no byte of it."""
    inline = request.GET.get("inline") == "1"
    try:
        run_file = selectors.file_get(run=run, name=name)
        # The first bytes only when they decide (an image shown inline): on a bucket
        # each read is a request.
        head = selectors.file_read(run_file=run_file, limit=16)[0] if inline else b""
        stream = selectors.file_open(run_file=run_file)
    except (NotFound, ValidationError):
        raise Http404("No such file") from None
    image = run_files.raster_type(run_file.name, head) if inline else None
    response = file_response(
        request,
        stream,
        as_attachment=image is None,
        filename=run_file.name.rsplit("/", 1)[-1],
        content_type=image or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-cache"
    return response
