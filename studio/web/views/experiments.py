"""Experiments: the list with run counts and last activity, and an experiment's page
with its runs (the same table as /runs/) and a chart of a metric across them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from studio.accounts.routes import CURRENT, route
from studio.tracking.models import Experiment, Run, Workspace
from studio.tracking.runlist import pages
from studio.tracking.runlist.state import ListState, metric_column
from studio.web.common import frame
from studio.web.runlist import tables
from studio.web.runlist.charts import Point, metric_across_runs
from studio.web.runlist.links import ListLinks


@route("read", workspace=CURRENT)
@require_safe
def experiment_list(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    experiments = pages.experiments_with_counts(workspace=workspace) if workspace else []
    context = {"experiments": experiments, **frame(request, workspace, "experiments")}
    return render(request, "web/experiments.html", context)


@route("read", experiment="name")
@require_safe
def experiment_detail(request: HttpRequest, experiment: Experiment) -> HttpResponse:
    workspace = experiment.workspace
    path = reverse("experiment-detail", args=[experiment.name])
    if target := tables.normalized_url(request, path, workspace):
        return redirect(target)
    state = ListState.from_query(request.GET)
    links = ListLinks(path, state, [("ws", workspace.name)])
    table = tables.runs_table(
        request, workspace=workspace, state=state, links=links, experiment=experiment
    )
    names = pages.experiment_metric_names(experiment=experiment)
    chart = state.charts[0] if state.charts else _default_chart(names)
    context = {
        "experiment": experiment,
        "table": table,
        "metric_names": sorted(names),
        "chart": chart,
        "figure": _figure(experiment, chart) if chart else None,
        **frame(request, workspace, "experiments"),
    }
    return render(request, "web/experiment.html", context)


def _default_chart(names: list[str]):
    """The metric charted when none was chosen: the one most runs logged."""
    return metric_column(names[0]) if names else None


def _figure(experiment: Experiment, chart) -> dict:
    rows = pages.experiment_metric_values(experiment=experiment, name=chart.arg, stat=chart.stat)
    points = [Point(n, Run.label_of(label, n), status, value) for n, label, status, value in rows]
    return metric_across_runs(points, chart.arg, chart.stat)
