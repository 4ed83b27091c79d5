"""The run page (``/runs/<run_id>/``) with its tabs, the compare page, and the
fragments and JSON endpoints their script calls. Every view: decorators, the access
helper, a service or selector, render. Writes go through ``tracking.services``.

A missing run and a forbidden one are the same 404; a reader who tries to write
gets 403. A fragment request (header ``X-Studio-Fragment: 1``) gets the partial the
page itself includes, so the page works without JavaScript and the script only
swaps sections in place.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST, require_safe

from studio.accounts.access import access_run, role_in
from studio.accounts.models import Role
from studio.core.markdown import render_markdown
from studio.core.policy import policy
from studio.errors import NotFound, PermissionDenied, StudioError, ValidationError
from studio.execution import services as execution
from studio.rules import filenames, transitions
from studio.tracking import selectors, services
from studio.tracking.models import MetricKind, Run, RunStatus, RunType
from studio.web import charts, run_files
from studio.web.common import frame

TABS = (
    ("overview", "Overview"),
    ("metrics", "Metrics"),
    ("children", "Child runs"),
    ("outputs", "Outputs + logs"),
    ("snapshot", "Snapshot"),
)
SECTIONS = ("name", "status", "description", "tags", "steps")
CHART_POINTS = 1000  # per chart: a chart is ~600 px wide
EMBEDDED_CHARTS = 12  # the rest load as they scroll into view
CHILDREN_PAGE = 100
SMOOTHING_CHOICES = (0, 0.6, 0.8, 0.9, 0.95, 0.99)
ALL_STEPS = (0, 2**63 - 1)


# --- helpers -------------------------------------------------------------------------


def _run_for(request: HttpRequest, run_id: str, *, write: bool = False) -> Run:
    """The run through the access helper: invisible is 404, read-only is 403."""
    try:
        return access_run(request.user, run_id, write=write)
    except NotFound:
        raise Http404("No such run") from None
    except PermissionDenied as exc:
        raise Forbidden(exc.message) from None


def _can_write(request: HttpRequest, run: Run) -> bool:
    return role_in(request.user, run.workspace) in (Role.CONTRIBUTOR, Role.OWNER)


def _is_fragment(request: HttpRequest) -> bool:
    return request.headers.get("X-Studio-Fragment") == "1"


def run_url(run: Run, tab: str = "overview", **query: Any) -> str:
    params = {"tab": tab} if tab != "overview" else {}
    params.update({k: v for k, v in query.items() if v not in (None, "")})
    url = reverse("run-detail", args=[run.run_id])
    return f"{url}?{urlencode(params)}" if params else url


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cancellable(run: Run) -> bool:
    return run.status not in transitions.TERMINAL and run.status != RunStatus.CANCEL_REQUESTED


def _section_context(request: HttpRequest, run: Run, **extra: Any) -> dict[str, Any]:
    """What the header, description, tags and steps partials need."""
    editing = extra.pop("editing", request.GET.get("edit") == "description")
    list_url = reverse("run-list") + "?" + urlencode({"ws": run.workspace.name})
    context = {
        "run": run,
        "workspace_url": list_url,
        "experiment_url": list_url + "&" + urlencode({"experiment": run.experiment.name}),
        "can_write": _can_write(request, run),
        "ancestors": selectors.run_ancestors(run=run),
        "cancellable": _cancellable(run),
        "active": run.status not in transitions.TERMINAL,
        "lost": run.status_reason == "lost",
        "description_html": render_markdown(run.description, run_id=run.run_id),
        "description_base": _digest(run.description),
        "draft": run.description,
        "editing": editing,
        "tags": list(run.tags.all()),
        "steps": _steps(run),
    }
    context.update(extra)
    return context


def _steps(run: Run) -> list[dict[str, Any]] | None:
    if run.type != RunType.PIPELINE:
        return None
    rows = []
    for step in execution.steps_of(pipeline=run):
        ex = getattr(step, "execution", None)
        rows.append({"run": step, "name": ex.step_name if ex else step.display_name,
                     "after": ex.after if ex else []})  # fmt: skip
    return rows


def _render_section(request: HttpRequest, run: Run, section: str, status: int = 200, **extra):
    context = _section_context(request, run, **extra)
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


@policy("member")
@require_safe
@login_required
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    """The run page; ``?tab=`` picks the tab, ``?section=`` (for the page's script)
    returns one section of it."""
    run = _run_for(request, run_id)
    if request.GET.get("section") in SECTIONS:
        return _render_section(request, run, request.GET["section"])
    tab = request.GET.get("tab", "overview")
    tab = tab if tab in dict(TABS) else "overview"
    context = _section_context(request, run)
    context.update(TAB_CONTEXT[tab](request, run))
    context.update(
        frame(request, run.workspace, "runs"),
        tab=tab,
        tabs=TABS,
        confirm_cancel=request.GET.get("confirm") == "cancel" and context["cancellable"],
    )
    return render(request, "web/run_page.html", context)


def _overview(request: HttpRequest, run: Run) -> dict[str, Any]:
    failure = run.error if isinstance(run.error, dict) else None
    return {"properties": list(run.properties.all()), "failure": failure}


def _metrics(request: HttpRequest, run: Run) -> dict[str, Any]:
    options = charts.ChartOptions.from_query(request.GET)
    summaries = list(selectors.metric_summaries(run=run))
    scalars = [s for s in summaries if s.kind == MetricKind.SCALAR]
    figures = [
        {
            "name": s.name,
            "id": f"figure-{i}",
            "figure": _metric_figure(run, s.name, options) if i < EMBEDDED_CHARTS else None,
        }
        for i, s in enumerate(scalars)
    ]
    texts = {}
    for s in summaries:
        if s.kind == MetricKind.TEXT:
            steps, values, _ = selectors.metric_series(run=run, name=s.name)
            texts[s.name] = list(zip(steps.tolist()[-200:], values[-200:], strict=True))
    return {
        "options": options,
        "smoothing_choices": SMOOTHING_CHOICES,
        "charts": figures,
        "summaries": summaries,
        "texts": texts,
        "records": _records(run, summaries),
    }


def _records(run: Run, summaries) -> list[dict[str, Any]]:
    """Lists, rows, tables and images, each shaped as a table or a gallery."""
    kinds = {s.name: s.kind for s in summaries}
    out = []
    for name, items in selectors.metric_records(run=run).items():
        kind = kinds.get(name)
        if kind == MetricKind.LIST:
            out.append({"name": name, "kind": kind, "columns": ["#", name],
                        "rows": [[i, v] for i, v in enumerate(items[-1])]})  # fmt: skip
        elif kind == MetricKind.ROW:
            columns = list(dict.fromkeys(k for row in items for k in row))
            out.append({"name": name, "kind": kind, "columns": columns,
                        "rows": [[row.get(c) for c in columns] for row in items]})  # fmt: skip
        elif kind == MetricKind.TABLE:
            table = items[-1]
            columns = list(table)
            rows = [list(r) for r in zip(*(table[c] for c in columns), strict=True)]
            out.append({"name": name, "kind": kind, "columns": columns, "rows": rows})
        elif kind == MetricKind.IMAGE:
            out.append({"name": name, "kind": kind, "files": [i["file"] for i in items][-50:]})
    return out


def chart_data(run: Run, name: str, step_range=None) -> dict[str, Any]:
    """A series for a chart. With no zoom, the range is every step: the selector then
    reduces the raw points of a series of up to 64 x CHART_POINTS to a full set of
    buckets, rather than the few stored ones (a 2,000-point series: 500, not 30)."""
    return selectors.metric_chart_data(
        run=run, name=name, max_points=CHART_POINTS, step_range=step_range or ALL_STEPS
    )


def _metric_figure(run: Run, name: str, options: charts.ChartOptions, step_range=None):
    data = chart_data(run, name, step_range)
    times = None
    if options.x == "time" and data["reduced"]:
        times = selectors.metric_times_at(run=run, name=name, steps=charts.bucket_middles(data))
    series = charts.Series(label=run.label, color=charts.color(0),
                           data=data, times=times)  # fmt: skip
    return charts.metric_figure(name, series, options)


def _children(request: HttpRequest, run: Run) -> dict[str, Any]:
    names = selectors.child_metric_names(run=run)
    metric = request.GET.get("metric")
    metric = metric if metric in names else (names[0] if names else "")
    try:
        offset = run_files.parse_offset(request.GET.get("offset"), name="offset") or 0
    except ValidationError:
        offset = 0
    return {"metric_names": names, **_children_page(run, metric, offset)}


def _children_page(run: Run, metric: str, offset: int) -> dict[str, Any]:
    children = list(selectors.run_children_page(run=run, offset=offset, limit=CHILDREN_PAGE))
    values = {}
    if metric and children:
        summaries = selectors.metric_summaries_of(runs=children, names=[metric])
        values = {s.run_id: s for s in summaries}
    rows = [{"run": c, "metric": values.get(c.pk)} for c in children]
    more = offset + len(children) if len(children) == CHILDREN_PAGE else None
    return {"parent": run, "metric": metric, "rows": rows, "more": more}


def _outputs(request: HttpRequest, run: Run) -> dict[str, Any]:
    live = run.status not in transitions.TERMINAL
    files = [
        (n, None if live and n.startswith(filenames.LOGS) else s)  # a live log's size is not kept
        for n, s in selectors.file_sizes(run=run)
        if not n.startswith(filenames.SNAPSHOT)
    ]
    logs = [n for n, _ in files if n.startswith(filenames.LOGS)]
    log_name = request.GET.get("log")
    if log_name is not None and log_name not in logs:
        raise Http404("No such log")
    log_name = log_name or (filenames.LIVE_LOG if filenames.LIVE_LOG in logs else "")
    log_name = log_name or (logs[0] if logs else "")
    context = {"tree": run_files.file_tree(files), "logs": logs, "log_name": log_name, "log": None}
    if log_name:
        run_file = selectors.file_get(run=run, name=log_name)
        context.update(_log_for_page(request, run, run_file))
    return {**context, **_preview(request, run)}


def _log_for_page(request: HttpRequest, run: Run, run_file) -> dict[str, Any]:
    """The log as the page first shows it: its end, the part ``before`` or from
    (``at``) an offset, and the lines matching ``q`` (the script does the same
    through ``run_log`` and ``run_log_search``). An unreadable log (B7) is said so."""
    live = run.status not in transitions.TERMINAL
    wanted = [("tail", 0)]
    try:
        if (before := run_files.parse_offset(request.GET.get("before"), name="before")) is not None:
            wanted.insert(0, ("before", before))
        elif (at := run_files.parse_offset(request.GET.get("at"), name="at")) is not None:
            wanted.insert(0, ("forward", at))
    except ValidationError:
        pass  # a bad offset in a pasted link: show the end
    for mode, offset in wanted:
        try:
            log = run_files.read_log(run_file, mode=mode, at=offset, live=live)
            break
        except (NotFound, ValidationError) as exc:
            error = exc.message
    else:
        return {"log": None, "log_error": error}
    log["tail"] = mode == "tail"
    query = request.GET.get("q", "").strip()[:200]
    matches, more = [], False
    if query:
        found = selectors.file_search(run_file=run_file, needle=query)
        matches, more = found["matches"], found["next_offset"] is not None
        for match in matches:
            match["line"] = run_files.clean_text(match["line"].encode())
    return {"log": log, "log_query": query, "log_matches": matches, "log_more": more}


def _snapshot(request: HttpRequest, run: Run) -> dict[str, Any]:
    files = [(n, s) for n, s in selectors.file_sizes(run=run) if n.startswith(filenames.SNAPSHOT)]
    return {"tree": run_files.file_tree(files), **_preview(request, run)}


def _preview(request: HttpRequest, run: Run) -> dict[str, Any]:
    name = request.GET.get("file")
    if not name:
        return {"preview": None}
    try:
        run_file = selectors.file_get(run=run, name=name)
        head, size = selectors.file_read(run_file=run_file, offset=0, limit=run_files.PREVIEW_BYTES)
    except (NotFound, ValidationError):
        raise Http404("No such file") from None
    kind = run_files.preview_kind(run_file.name, head[:4096])
    text = run_files.clean_text(head) if kind == "text" else ""
    return {"preview": {"name": run_file.name, "kind": kind, "size": size, "text": text,
                        "truncated": size > len(head)}}  # fmt: skip


TAB_CONTEXT = {
    "overview": _overview,
    "metrics": _metrics,
    "children": _children,
    "outputs": _outputs,
    "snapshot": _snapshot,
}


# --- writes ----------------------------------------------------------------------------


@policy("member")
@require_POST
@login_required
def run_rename(request: HttpRequest, run_id: str) -> HttpResponse:
    run = _run_for(request, run_id, write=True)
    try:
        services.run_update(run=run, display_name=request.POST.get("display_name", "").strip())
    except StudioError as exc:
        return _write_failed(request, run, "name", exc)
    return _after_write(request, run, "name")


@policy("member")
@require_POST
@login_required
def run_describe(request: HttpRequest, run_id: str) -> HttpResponse:
    """Save the description, or (``action=preview``) show the draft rendered. A save
    based on an older text than the current one is refused (409) with both shown,
    so two people editing at once never silently overwrite each other (F4)."""
    run = _run_for(request, run_id, write=True)
    draft = request.POST.get("description", "")
    if request.POST.get("action") == "preview":
        preview = render_markdown(draft, run_id=run.run_id)
        if _is_fragment(request):
            return render(request, "web/_run_preview.html", {"preview_html": preview})
        return _page_with_editor(request, run, draft, preview=preview)
    if request.POST.get("base") != _digest(run.description):
        error = "Someone changed the description while you were editing. Their text is shown; yours is still in the editor."
        return _page_with_editor(request, run, draft, error=error, conflict=True, status=409)
    try:
        services.run_update(run=run, description=draft)
    except StudioError as exc:
        return _page_with_editor(request, run, draft, error=exc.message, status=400)
    return _after_write(request, run, "description")


def _page_with_editor(request, run, draft, *, preview=None, error=None, conflict=False, status=200):
    extra = {"editing": True, "draft": draft, "preview_html": preview, "error": error,
             "conflict": conflict}  # fmt: skip
    if _is_fragment(request):
        return _render_section(request, run, "description", status=status, **extra)
    context = _section_context(request, run, **extra)
    context.update(_overview(request, run), **frame(request, run.workspace, "runs"))
    context.update(tab="overview", tabs=TABS)
    return render(request, "web/run_page.html", context, status=status)


@policy("member")
@require_POST
@login_required
def run_tags(request: HttpRequest, run_id: str) -> HttpResponse:
    """Add or change a tag (an empty value makes a key-only tag), or remove one."""
    run = _run_for(request, run_id, write=True)
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


@policy("member")
@require_POST
@login_required
def run_cancel(request: HttpRequest, run_id: str) -> HttpResponse:
    """Cancel as ``run.cancel()`` does: a started script gets CancelRequested and its
    supervisor stops the process group; a pipeline's driver cancels its steps."""
    run = _run_for(request, run_id, write=True)
    try:
        run = services.run_cancel(run=run)
        messages.success(request, f"Cancel requested: the run is {run.status}.")
    except StudioError as exc:
        messages.error(request, exc.message)
    return redirect(run_url(run, request.POST.get("tab", "overview")))


# --- data for the page's script ----------------------------------------------------------


def _bad_request(exc: StudioError) -> JsonResponse:
    return JsonResponse({"code": exc.code, "field": exc.field, "message": exc.message}, status=400)


@policy("member")
@require_safe
@login_required
def run_chart(request: HttpRequest, run_id: str) -> JsonResponse:
    """One metric's figure; ``lo``/``hi`` refine it to a step range (zoom)."""
    run = _run_for(request, run_id)
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
    figure = _metric_figure(run, name, charts.ChartOptions.from_query(request.GET), step_range)
    return JsonResponse(figure, json_dumps_params={"allow_nan": False})


@policy("member")
@require_safe
@login_required
def run_children(request: HttpRequest, run_id: str) -> HttpResponse:
    """A page of a run's children: the tree's rows, one level at a time."""
    run = _run_for(request, run_id)
    try:
        offset = run_files.parse_offset(request.GET.get("offset"), name="offset") or 0
    except ValidationError as exc:
        return _bad_request(exc)
    context = _children_page(run, request.GET.get("metric", ""), offset)
    return render(request, "web/_run_children.html", context)


def _log_file(request: HttpRequest, run: Run):
    name = request.GET.get("name", "")
    if not name.startswith(filenames.LOGS):
        raise Http404("No such log")
    try:
        return selectors.file_get(run=run, name=name)
    except (NotFound, ValidationError):
        raise Http404("No such log") from None


@policy("member")
@require_safe
@login_required
def run_log(request: HttpRequest, run_id: str) -> JsonResponse:
    """A chunk of a log as text (``tail``, from ``offset`` or ``before`` an offset),
    with the run's status, so the viewer knows whether to keep following."""
    run = _run_for(request, run_id)
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


@policy("member")
@require_safe
@login_required
def run_log_search(request: HttpRequest, run_id: str) -> JsonResponse:
    """Lines of a log holding ``q``: the whole log, 256 MB per call (``next_offset``
    continues), at most 200 lines."""
    run = _run_for(request, run_id)
    run_file = _log_file(request, run)
    try:
        offset = run_files.parse_offset(request.GET.get("offset"), name="offset") or 0
        found = selectors.file_search(
            run_file=run_file, needle=request.GET.get("q", ""), offset=offset
        )
    except ValidationError as exc:
        return _bad_request(exc)
    for match in found["matches"]:
        match["line"] = run_files.clean_text(match["line"].encode())
    return JsonResponse(found)


@policy("member")
@require_safe
@login_required
def run_file(request: HttpRequest, run_id: str, name: str) -> FileResponse:
    """A run file: a download (attachment, ``nosniff``, sandboxed), or with
    ``?inline=1`` an allowlisted raster image whose bytes agree (RELIABILITY A8)."""
    run = _run_for(request, run_id)
    try:
        run_file = selectors.file_get(run=run, name=name)
        head, _ = selectors.file_read(run_file=run_file, offset=0, limit=16)
        stream = selectors.file_open(run_file=run_file)
    except (NotFound, ValidationError):
        raise Http404("No such file") from None
    image = run_files.raster_type(run_file.name, head) if request.GET.get("inline") == "1" else None
    response = FileResponse(
        stream,
        as_attachment=image is None,
        filename=run_file.name.rsplit("/", 1)[-1],
        content_type=image or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-cache"
    return response
