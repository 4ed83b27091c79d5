"""What the run page's sections and tabs show: pure context builders over the
selectors, one per tab (``TAB_CONTEXT``), and the header's sections. The views in
``studio.web.views.run_page`` pick one and render it."""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

from studio.accounts.access import allows
from studio.errors import NotFound, ValidationError
from studio.execution import services as execution
from studio.rules import filenames, transitions, validation
from studio.tracking import selectors
from studio.tracking.models import MetricKind, Run, RunStatus, RunType
from studio.web import charts, descriptions, run_files, step_graph

TABS = (
    ("overview", "Overview"),
    ("metrics", "Metrics"),
    ("children", "Child runs"),
    ("outputs", "Outputs + logs"),
    ("snapshot", "Snapshot"),
)
SECTIONS = ("name", "status", "description", "tags", "steps", "details")
CHART_POINTS = 1000  # per chart: a chart is ~600 px wide
EMBEDDED_CHARTS = 12  # the rest load as they scroll into view
CHILDREN_PAGE = 100
SMOOTHING_CHOICES = (0, 0.6, 0.8, 0.9, 0.95, 0.99)
ALL_STEPS = (0, 2**63 - 1)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cancellable(run: Run) -> bool:
    return run.status not in transitions.TERMINAL and run.status != RunStatus.CANCEL_REQUESTED


def section_context(request: HttpRequest, run: Run, **extra: Any) -> dict[str, Any]:
    """What the header, description, tags, steps and details partials need."""
    from studio.execution.selectors import slurm_job_of

    editing = extra.pop("editing", request.GET.get("edit") == "description")
    list_url = reverse("run-list") + "?" + urlencode({"ws": run.workspace.name})
    context = {
        "run": run,
        "workspace_url": list_url,
        "experiment_url": list_url + "&" + urlencode({"experiment": run.experiment.name}),
        "can_write": allows(request.user, run.workspace, "write"),
        "ancestors": selectors.run_ancestors(run=run),
        "cancellable": _cancellable(run),
        "active": run.status not in transitions.TERMINAL,
        "lost": run.status_reason == "lost",
        "description_html": descriptions.description_html(request.user, run),
        "history_url": descriptions.history_url(run),
        "description_base": digest(run.description),
        "draft": run.description,
        "editing": editing,
        "tags": list(run.tags.all()),
        "slurm_job_id": slurm_job_of(run),
    }
    context["steps"] = _steps(run)
    context["step_graph"] = step_graph.layout(context["steps"]) if context["steps"] else None
    context.update(extra)
    return context


def _steps(run: Run) -> list[dict[str, Any]] | None:
    if run.type != RunType.PIPELINE:
        return None
    rows = []
    for step in execution.steps_of(pipeline=run):
        ex = getattr(step, "execution", None)
        rows.append(
            {
                "run": step,
                "name": ex.step_name if ex else step.display_name,
                "after": ex.after if ex else [],
            }
        )
    return rows


def overview(request: HttpRequest, run: Run) -> dict[str, Any]:
    failure = run.error if isinstance(run.error, dict) else None
    return {
        "properties": list(run.properties.all()),
        "failure": failure,
    }


def _metrics(request: HttpRequest, run: Run) -> dict[str, Any]:
    """The run's own metrics, then its system metrics (``sys/...``, sampled by its
    supervisor) in a group of their own: charts and a summary table each."""
    options = charts.ChartOptions.from_query(request.GET)
    every = list(selectors.metric_summaries(run=run))
    system = [s for s in every if s.name.startswith(validation.SYSTEM_METRIC_PREFIX)]
    summaries = [s for s in every if not s.name.startswith(validation.SYSTEM_METRIC_PREFIX)]
    scalars = [s for s in summaries + system if s.kind == MetricKind.SCALAR]
    figures = [
        {
            "name": s.name,
            "id": f"figure-{i}",
            "figure": metric_figure(run, s.name, options) if i < EMBEDDED_CHARTS else None,
        }
        for i, s in enumerate(scalars)
    ]
    own = len([s for s in summaries if s.kind == MetricKind.SCALAR])
    texts = {}
    for s in summaries:
        if s.kind == MetricKind.TEXT:
            steps, values, _ = selectors.metric_series(run=run, name=s.name)
            texts[s.name] = list(zip(steps.tolist()[-200:], values[-200:], strict=True))
    return {
        "options": options,
        "smoothing_choices": SMOOTHING_CHOICES,
        "charts": figures[:own],
        "summaries": summaries,
        "system_charts": figures[own:],
        "system_summaries": system,
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
            out.append(
                {
                    "name": name,
                    "kind": kind,
                    "columns": ["#", name],
                    "rows": [[i, v] for i, v in enumerate(items[-1])],
                }
            )
        elif kind == MetricKind.ROW:
            columns = list(dict.fromkeys(k for row in items for k in row))
            out.append(
                {
                    "name": name,
                    "kind": kind,
                    "columns": columns,
                    "rows": [[row.get(c) for c in columns] for row in items],
                }
            )
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


def metric_figure(run: Run, name: str, options: charts.ChartOptions, step_range=None):
    data = chart_data(run, name, step_range)
    times = None
    if options.x == "time" and data["reduced"]:
        times = selectors.metric_times_at(run=run, name=name, steps=charts.bucket_middles(data))
    series = charts.Series(label=run.label, color=charts.color(0), data=data, times=times)
    return charts.metric_figure(name, series, options)


def _children(request: HttpRequest, run: Run) -> dict[str, Any]:
    names = selectors.child_metric_names(run=run)
    metric = request.GET.get("metric")
    metric = metric if metric in names else (names[0] if names else "")
    try:
        offset = run_files.parse_offset(request.GET.get("offset"), name="offset") or 0
    except ValidationError:
        offset = 0
    return {"metric_names": names, **children_page(run, metric, offset)}


def children_page(run: Run, metric: str, offset: int) -> dict[str, Any]:
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
    # The number of the first line shown: known from the start of the log, or carried
    # by a search result's link (?at=&line=); else the viewer numbers from there.
    log["first_line"] = 1 if log["start"] == 0 else None
    if mode == "forward" and log["start"] > 0:
        try:
            log["first_line"] = run_files.parse_offset(request.GET.get("line"), name="line") or None
        except ValidationError:
            pass  # a bad number in a pasted link: number from the part shown
    query = request.GET.get("q", "").strip()[:200]
    matches, more = [], False
    if query:
        found = selectors.file_search(run_file=run_file, needle=query)
        matches = run_files.present_matches(found["matches"], query)
        more = found["next_offset"] is not None
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
    return {
        "preview": {
            "name": run_file.name,
            "kind": kind,
            "size": size,
            "text": text,
            "truncated": size > len(head),
        }
    }


TAB_CONTEXT = {
    "overview": overview,
    "metrics": _metrics,
    "children": _children,
    "outputs": _outputs,
    "snapshot": _snapshot,
}
