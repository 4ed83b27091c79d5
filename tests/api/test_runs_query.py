"""GET /workspaces/{ws}/runs is the one runs query over HTTP: the studio's sort keys,
the list pages' cursor, a fixed number of queries per page; and crafted parameters
(attack review, item 8) answer a 400 naming what was wrong, never a 500."""

import base64
import json

import pytest
from django.db import connection

from studio.tracking import services
from studio.tracking.models import Run
from tests.web.listing_helpers import make_run

URL = "/api/v1/workspaces/default/runs"


@pytest.fixture
def runs(experiment):
    return [
        make_run(experiment, "a", loss=0.3, tags={"lr": "0.1"}),
        make_run(experiment, "b", loss=0.1, tags={"lr": "0.2"}),
        make_run(experiment, "c", loss=0.2, tags={"lr": "0.1"}),
    ]


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["display_name"] for r in response.json()["runs"]]


def test_the_run_list_sorts_by_a_studio_column_key(owner, runs):
    assert names(owner.api.get(URL, {"sort": "metric:last:loss"})) == ["b", "c", "a"]
    assert names(owner.api.get(URL, {"sort": "-metric:last:loss"})) == ["a", "c", "b"]
    assert names(owner.api.get(URL, {"sort": "name"})) == ["a", "b", "c"]


def test_the_run_list_filters_with_the_studios_parameters_and_the_older_ones(owner, runs):
    assert names(owner.api.get(URL, {"tag": "lr=0.1", "sort": "name"})) == ["a", "c"]
    assert names(owner.api.get(URL, {"tags": '{"lr": "0.1"}', "sort": "name"})) == ["a", "c"]
    assert names(owner.api.get(URL, {"q": "metrics.loss < 0.25", "sort": "name"})) == [
        "b",
        "c",
    ]
    assert names(owner.api.get(URL, {"filter": "metrics.loss < 0.25", "sort": "name"})) == [
        "b",
        "c",
    ]


def test_pages_of_a_sorted_list_follow_each_other_with_the_lists_cursor(owner, runs):
    first = owner.api.get(URL, {"sort": "metric:last:loss", "limit": 2}).json()
    rest = owner.api.get(
        URL, {"sort": "metric:last:loss", "limit": 2, "cursor": first["next"]}
    ).json()
    assert [r["display_name"] for r in first["runs"] + rest["runs"]] == ["b", "c", "a"]
    assert rest["next"] is None
    # The cursor is the studio's: it names its sort, so it is refused for another.
    other = owner.api.get(URL, {"sort": "name", "cursor": first["next"]})
    assert other.status_code == 400 and other.json()["error"]["field"] == "cursor"


def test_a_page_costs_the_same_queries_whatever_its_size(
    owner, experiment, django_assert_num_queries
):
    for i in range(30):
        make_run(experiment, f"r{i}", loss=i / 10, tags={"lr": "0.1"}, props={"p": "x"})
    owner.api.get(URL)  # warm: token, membership
    # the token, the workspace (membership joined), the page's rows that have the sort
    # value (filters in the same query), what they refer to (tags, properties, names:
    # one query), the rows without the value (the page is not full), the lost-run check;
    # on SQLite one more: the tag chip's probe (language.having)
    probe = connection.vendor == "sqlite"
    with django_assert_num_queries(6 + probe):
        body = owner.api.get(URL, {"sort": "-metric:last:loss", "tag": "lr=0.1"}).json()
    assert len(body["runs"]) == 30
    # a full page stops at the rows that have the value: one query less
    with django_assert_num_queries(5 + probe):
        body = owner.api.get(
            URL, {"sort": "-metric:last:loss", "tag": "lr=0.1", "limit": 10}
        ).json()
    assert len(body["runs"]) == 10


def _cursor(**body) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


CRAFTED = [
    ({"q": "duration > 1e20"}, "filter"),
    ({"filter": "not " * 490 + "status = Running"}, "filter"),
    ({"q": "created > 9999-12-31"}, "filter"),
    ({"q": "created < 0001-01-01"}, "filter"),
    ({"q": "metrics.loss < 1e400"}, "filter"),
    ({"created_after": "9999-12-31"}, "created_after"),
    ({"created_before": "9999-12-31"}, "created_before"),
    ({"created_before": "0001-01-01"}, "created_before"),
    ({"limit": str(10**30)}, "limit"),
    (
        {"cursor": _cursor(s="-created", v={"t": "2026-01-01T00:00:00+00:00"}, k=1, n=10**30)},
        "cursor",
    ),
    (
        {"cursor": _cursor(s="-created", v={"t": "2026-01-01T00:00:00+00:00"}, k=10**30, n=1)},
        "cursor",
    ),
    ({"cursor": _cursor(s="-created", v="not a date", k=1, n=1)}, "cursor"),
    ({"sort": "duration", "cursor": _cursor(s="duration", v={"d": 1e300}, k=1, n=1)}, "cursor"),
    (
        {"sort": "metric:last:loss", "cursor": _cursor(s="metric:last:loss", v=10**30, k=1, n=1)},
        "cursor",
    ),
    ({"sort": "password"}, "sort"),
    ({"status": "Done"}, "status"),
]


@pytest.mark.parametrize("params, field", CRAFTED)
def test_attack_8_crafted_list_parameters_answer_400_naming_the_parameter(
    owner, runs, params, field
):
    response = owner.api.get(URL, params)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert Run.objects.count() == 3


def test_attack_8_a_filter_error_points_at_the_value_with_a_caret(owner, runs):
    message = owner.api.get(URL, {"q": "duration > 1e20"}).json()["error"]["message"]
    assert "(at column 12)" in message
    assert message.splitlines()[-1].index("^") - 2 == 11


def test_children_of_a_run_are_listed_through_the_same_query(owner, experiment):
    parent = services.run_create(experiment=experiment, submitted_by="alice")
    kids = services.run_create_children(
        parent=parent, submitted_by="alice", tag_key="lr", tag_values=["0.1", "0.2"]
    )
    grandchild = services.run_create(experiment=experiment, submitted_by="a", parent=kids[0])
    body = owner.api.get(URL, {"parent": parent.run_id, "tag": "lr=0.2"}).json()
    assert [r["id"] for r in body["runs"]] == [kids[1].run_id]
    body = owner.api.get(URL, {"parent": parent.run_id, "recursive": "1"}).json()
    assert {r["id"] for r in body["runs"]} == {k.run_id for k in kids} | {grandchild.run_id}
    below = owner.api.get(URL, {"parent": kids[0].run_id, "recursive": "true"}).json()
    assert [r["id"] for r in below["runs"]] == [grandchild.run_id]
