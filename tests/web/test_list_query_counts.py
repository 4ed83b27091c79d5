"""Every list page costs the same number of queries for 3 rows or 30."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.accounts.models import Role
from studio.tracking import saved_views, services
from studio.tracking.models import MetricSummary, RunTag
from tests.factories import MembershipFactory, bulk_runs
from tests.web.listing_helpers import make_run


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _experiments(workspace, n, start=0):
    for i in range(start, start + n):
        exp = services.experiment_get_or_create(workspace=workspace, name=f"exp-{i}")
        make_run(exp, f"r{i}")


def _experiment_runs(workspace, n, start=0):
    exp = services.experiment_get_or_create(workspace=workspace, name="exp-0")
    for i in range(start, start + n):
        run = make_run(exp, f"r{i}", loss=i + 0.5, tags={"lr": str(i)})
        if i % 3 == 0:
            services.run_create_children(parent=run, submitted_by="bob", count=2)


def _views(workspace, owner, n, start=0):
    for i in range(start, start + n):
        saved_views.view_create(
            workspace=workspace, owner=owner, name=f"v{i}", state={}, shared=i % 2 == 0
        )


def _members(workspace, n, start=0):
    for i in range(start, start + n):
        MembershipFactory(user__username=f"user{i}", workspace=workspace, role=Role.READER)


@pytest.mark.parametrize(
    ("url", "fill"),
    [
        ("/experiments/", lambda ws, owner, users, n, s: _experiments(ws, n, s)),
        ("/views/", lambda ws, owner, users, n, s: _views(ws, owner, n, s)),
        ("/settings/members/", lambda ws, owner, users, n, s: _members(ws, n, s)),
        ("/experiments/exp-0/", lambda ws, owner, users, n, s: _experiment_runs(ws, n, s)),
    ],
)
def test_list_pages_cost_the_same_for_3_or_30_rows(
    client, owner, workspace, django_user_model, django_assert_num_queries, url, fill
):
    fill(workspace, owner, django_user_model, 3, 0)
    client.force_login(owner)
    _count(client, url)
    baseline = _count(client, url)
    fill(workspace, owner, django_user_model, 27, 3)
    with django_assert_num_queries(baseline):
        client.get(url)


def _bulk_runs(experiment, count: int, start: int = 1) -> None:
    """``count`` top-level runs of ``experiment`` written in bulk, each tagged ``lr``
    (two values) with a ``loss`` summary (0.1 to 0.9): what the runs page reads."""
    runs = bulk_runs(experiment, count, start)
    RunTag.objects.bulk_create(
        RunTag(run=r, key="lr", value="0.3" if r.number % 2 else "0.4") for r in runs
    )
    MetricSummary.objects.bulk_create(
        MetricSummary(
            run=r,
            name="loss",
            kind="scalar",
            count=1,
            last_value=(r.number % 9 + 1) / 10,
            min_value=(r.number % 9 + 1) / 10,
            max_value=(r.number % 9 + 1) / 10,
            last_step=0,
        )
        for r in runs
    )


RUNS_PAGES = {
    "no filter": "/runs/?children=1",
    "tag filter": "/runs/?children=1&tag=lr%3D0.3",
    "metric filter, metric sort": "/runs/?children=1&q=metrics.loss+%3C+0.5&sort=metric:last:loss",
}


@pytest.mark.parametrize("url", RUNS_PAGES.values(), ids=RUNS_PAGES.keys())
def test_the_runs_page_costs_the_same_for_3_or_300_runs(client, owner, workspace, url):
    """Issue 16: the count, the rows, the catalog and the chart panels' runs are each
    a fixed number of queries, whatever the number of runs the list matches."""
    experiment = services.experiment_get_or_create(workspace=workspace, name="many")
    _bulk_runs(experiment, 3)
    client.force_login(owner)
    _count(client, url)  # the session, the watch: the first request's extras
    few = _count(client, url)
    _bulk_runs(experiment, 297, start=4)
    body = client.get(url).content.decode()
    assert body.count("<tr data-run-id=") == 50  # a full page now
    assert _count(client, url) == few
