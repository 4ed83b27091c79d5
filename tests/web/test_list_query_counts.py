"""Every list page costs the same number of queries for 3 rows or 30."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.accounts.models import Role
from studio.tracking import saved_views, services
from tests.factories import MembershipFactory
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
