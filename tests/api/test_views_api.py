"""Saved views over the API: listed for members, runs in the view's order with a
cursor, and nothing beyond the caller's membership (docs/requirements.md C1, C3)."""

from studio.tracking import saved_views, services
from tests.web.listing_helpers import make_run


def test_members_list_the_shared_views_and_their_own(owner, member, workspace):
    saved_views.view_create(workspace=workspace, owner=member, name="bob's", state={})
    saved_views.view_create(workspace=workspace, owner=member, name="team", state={}, shared=True)
    names = [v["name"] for v in owner.api.get("/api/v1/workspaces/default/views").json()["views"]]
    assert names == ["team"]
    names = [v["name"] for v in member.api.get("/api/v1/workspaces/default/views").json()["views"]]
    assert names == ["team", "bob's"]


def test_view_runs_come_in_the_views_order_a_page_at_a_time(member, workspace, experiment):
    runs = [
        make_run(experiment, f"r{i}", loss=(i * 7) % 11 / 10, tags={"k": "v"}) for i in range(7)
    ]
    saved_views.view_create(
        workspace=workspace, owner=member, name="by loss", state={"sort": "-metric:last:loss"}
    )
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = member.api.get("/api/v1/workspaces/default/views/by loss/runs", params).json()
        seen += [r["id"] for r in body["runs"]]
        cursor = body["next"]
        if not cursor:
            break
    expected = sorted(runs, key=lambda r: -((runs.index(r) * 7) % 11))
    assert seen == [r.run_id for r in expected]


def test_another_users_private_view_and_another_workspace_are_not_found(
    owner, member, outsider, workspace
):
    saved_views.view_create(workspace=workspace, owner=member, name="mine", state={})
    saved_views.view_create(workspace=workspace, owner=member, name="team", state={}, shared=True)
    response = owner.api.get("/api/v1/workspaces/default/views/mine/runs")
    assert response.status_code == 404 and response.json()["error"]["field"] == "view"
    assert outsider.api.get("/api/v1/workspaces/default/views/team/runs").status_code == 404
    assert outsider.api.get("/api/v1/workspaces/default/views").status_code == 404


def test_a_view_lists_runs_of_its_workspace_only(member, workspace, other_workspace, experiment):
    ours = make_run(experiment, "ours", tags={"k": "v"})
    theirs = make_run(services.experiment_get_or_create(workspace=other_workspace, name="x"), "t",
                      tags={"k": "v"})  # fmt: skip
    saved_views.view_create(
        workspace=workspace, owner=member, name="k", state={"filters": {"tag": ["k"]}}, shared=True
    )
    body = member.api.get("/api/v1/workspaces/default/views/k/runs").json()
    assert [r["id"] for r in body["runs"]] == [ours.run_id] and theirs.run_id not in str(body)


def test_view_runs_narrowed_to_an_experiment(member, workspace, experiment):
    ours = make_run(experiment, "ours")
    make_run(services.experiment_get_or_create(workspace=workspace, name="other"), "other")
    saved_views.view_create(workspace=workspace, owner=member, name="all", state={})
    url = "/api/v1/workspaces/default/views/all/runs"
    assert [
        r["id"] for r in member.api.get(url, {"experiment": "explore-runs"}).json()["runs"]
    ] == [ours.run_id]
    assert member.api.get(url, {"experiment": "nope"}).json()["runs"] == []


def test_view_runs_cost_the_same_queries_for_3_or_30_runs(
    member, workspace, experiment, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    saved_views.view_create(
        workspace=workspace, owner=member, name="v", state={"sort": "metric:last:loss"}
    )
    url = "/api/v1/workspaces/default/views/v/runs"
    for i in range(3):
        make_run(experiment, f"a{i}", loss=i, tags={"k": "v"}, props={"p": "1"})
    member.api.get(url)
    with CaptureQueriesContext(connection) as baseline:
        assert len(member.api.get(url).json()["runs"]) == 3
    for i in range(27):
        make_run(experiment, f"b{i}", loss=i, tags={"k": "v"}, props={"p": "1"})
    with django_assert_num_queries(len(baseline)):
        assert len(member.api.get(url).json()["runs"]) == 30
