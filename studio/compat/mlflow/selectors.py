"""Reads in MLflow's terms: runs by uuid, experiments by primary key, a run's
latest metrics, a search as one keyset page of the runs query, artifact listings.
Every object still reaches the views through the access helpers."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from studio.compat.mlflow import protocol
from studio.rules.runquery import RunQuery
from studio.tracking.models import Experiment, MetricSummary, Run, RunFile, RunTag, Workspace
from studio.tracking.models.metrics import MetricKind
from studio.tracking.runlist import pages
from studio.tracking.runlist import query as runlist


def run_id_of(*, uuid_hex: str) -> tuple[str, str] | None:
    """(Studio run id, MLflow lifecycle stage) of the run whose uuid is ``uuid_hex``,
    or None: one query, the stage from the lifecycle tag."""
    deleted = RunTag.objects.filter(
        run=OuterRef("pk"), key=protocol.LIFECYCLE_TAG, value=protocol.DELETED
    )
    found = (
        Run.objects.filter(uuid=uuid_hex).values_list("run_id", Exists(deleted)).order_by().first()
    )
    if found is None:
        return None
    return found[0], protocol.DELETED if found[1] else protocol.ACTIVE


def experiment_name_of(*, workspace: Workspace, pk: int) -> str | None:
    return (
        Experiment.objects.filter(workspace=workspace, pk=pk).values_list("name", flat=True).first()
    )


def experiments(*, workspace: Workspace, base: QuerySet[Experiment]) -> QuerySet[Experiment]:
    return base.filter(workspace=workspace).order_by("name")


def _latest_metrics() -> Prefetch:
    return Prefetch(
        "metric_summaries",
        queryset=MetricSummary.objects.filter(kind=MetricKind.SCALAR).order_by("name"),
        to_attr="scalar_summaries",
    )


def run_full(*, run: Run) -> Run:
    """``run`` with what MLflow's run carries: tags, params, latest metrics, parent."""
    return Run.objects.with_related().prefetch_related(_latest_metrics()).get(pk=run.pk)


def runs_search(
    *,
    workspace: Workspace,
    base: QuerySet[Run],
    experiment_names: list[str],
    expression: str,
    sort: str,
    size: int,
    after: str | None,
) -> pages.Page:
    """One page of the runs of ``experiment_names`` that the filter ``expression``
    selects (children too, as MLflow lists nested runs), in ``sort`` order."""
    query = RunQuery(
        experiment=tuple(experiment_names), filter=expression, children=True, sort=sort
    )
    return runlist.page(
        query,
        workspace=workspace,
        after=after,
        size=size,
        base=base,
        load=lambda qs: list(qs.with_related().prefetch_related(_latest_metrics())),
    )


def artifact_files(*, run: Run, prefix: str) -> list[tuple[str, int]]:
    """(name, size) of the run's files under ``prefix``."""
    return list(
        RunFile.objects.filter(run=run, name__startswith=prefix)
        .order_by("name")
        .values_list("name", "size")
    )


def experiment_id_of(*, workspace: Workspace, name: str) -> int | None:
    return (
        Experiment.objects.filter(workspace=workspace, name=name)
        .values_list("pk", flat=True)
        .first()
    )
