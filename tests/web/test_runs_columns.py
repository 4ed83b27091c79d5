"""Columns chosen by the user, sorting by any column, keyset pages with the total,
and what a page costs in queries."""

import html
import re

from studio.tracking import services
from tests.web.listing_helpers import get, listed, log_metric, make_run


def _cells(body: str, run_id: str) -> list[str]:
    """The text of each cell of a run's row."""
    row = body.split(f'<tr data-run-id="{run_id}"')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]


def test_default_columns_are_name_id_experiment_status_created_duration_tags(client, member, run):
    client.force_login(member)
    body = get(client, "/runs/")
    heads = re.findall(r'<th scope="col" class="w-(\w+)', body)
    assert heads == ["sel", "name", "id", "exp", "status", "time", "dur", "tags"]


def test_property_tag_and_metric_columns_show_their_values(client, member, experiment):
    run = make_run(experiment, "a", loss=0.25, tags={"lr": "0.1"}, props={"author": "ann"})
    log_metric(run, "acc", 0.5, 0.9, 0.7)
    client.force_login(member)

    body = get(
        client,
        "/runs/?col=name&col=prop:author&col=tag:lr&col=metric:last:loss"
        "&col=metric:min:acc&col=metric:max:acc&col=description&col=submitted_by",
    )

    assert _cells(body, run.run_id)[2:] == ["ann", "0.1", "0.25", "0.5", "0.9", "", "bob"]
    assert "acc (min)" in body and "acc (max)" in body


def test_unknown_columns_are_dropped_with_a_note(client, member, run):
    client.force_login(member)
    body = get(client, "/runs/?col=name&col=password&col=metric:avg:loss")
    assert "Unknown column &#x27;password&#x27;" in body
    assert "Unknown column &#x27;metric:avg:loss&#x27;" in body
    assert listed(body) == [run.run_id]


def test_adding_a_column_from_the_picker_redirects_to_the_canonical_link(client, member, run):
    client.force_login(member)
    response = client.get("/runs/?col=name&add_metric=loss&add_stat=min&add_prop=author&tag=x")
    assert response.status_code == 302
    assert response["Location"] == (
        "/runs/?ws=default&tag=x&col=name&col=metric%3Amin%3Aloss&col=prop%3Aauthor"
    )


def test_sort_by_a_metric_puts_runs_without_it_last_in_both_directions(client, member, experiment):
    low = make_run(experiment, "low", loss=0.1)
    high = make_run(experiment, "high", loss=0.9)
    none = make_run(experiment, "none")
    client.force_login(member)

    ascending = listed(get(client, "/runs/?sort=metric:last:loss"))
    descending = listed(get(client, "/runs/?sort=-metric:last:loss"))

    assert ascending == [low.run_id, high.run_id, none.run_id]
    assert descending == [high.run_id, low.run_id, none.run_id]


def test_sort_by_property_tag_name_experiment_and_duration(client, member, workspace, experiment):
    b_exp = services.experiment_get_or_create(workspace=workspace, name="b-exp")
    first = make_run(experiment, "zeta", props={"rank": "1"}, tags={"t": "b"})
    second = make_run(b_exp, "alpha", props={"rank": "2"}, tags={"t": "a"})
    client.force_login(member)

    assert listed(get(client, "/runs/?sort=prop:rank")) == [first.run_id, second.run_id]
    assert listed(get(client, "/runs/?sort=tag:t")) == [second.run_id, first.run_id]
    assert listed(get(client, "/runs/?sort=name")) == [second.run_id, first.run_id]
    assert listed(get(client, "/runs/?sort=experiment")) == [second.run_id, first.run_id]
    assert listed(get(client, "/runs/?sort=-experiment")) == [first.run_id, second.run_id]
    assert len(listed(get(client, "/runs/?sort=-duration"))) == 2


def test_headers_link_to_their_sort_and_mark_the_active_one(client, member, run):
    client.force_login(member)
    body = get(client, "/runs/?col=name&col=created&col=metric:last:loss&sort=metric:last:loss")
    assert 'aria-sort="ascending"' in body
    assert "sort=-metric%3Alast%3Aloss" in body  # clicking again flips it
    assert re.search(
        r'aria-sort="none"[^>]*>\s*<div class="th-inner"><a class="sort" '
        r'href="/runs/\?ws=default&amp;col=name',
        body,
    )


def test_a_sort_on_the_tags_column_is_refused_and_the_default_kept(client, member, run):
    client.force_login(member)
    body = get(client, "/runs/?sort=tags")
    assert "The Tags column cannot be sorted." in body
    assert listed(body) == [run.run_id]


def _walk(client, url: str) -> tuple[list[str], list[str]]:
    """Follow "Next" links from ``url``; the run ids seen and the ranges shown."""
    seen, ranges = [], []
    while url:
        body = get(client, url)
        seen += listed(body)
        ranges.append(re.search(r"(\d[\d,]*)–(\d[\d,]*) of (\d[\d,]*)", body).group(0))
        found = re.search(r'<a href="([^"]+)" rel="next">', body)
        url = html.unescape(found.group(1)) if found else None
    return seen, ranges


def test_keyset_pages_walk_every_run_once_in_order_with_the_total(client, member, experiment):
    runs = [make_run(experiment, f"r{i}", loss=[0.5, 0.2, 0.9][i % 3]) for i in range(110)]
    runs += [make_run(experiment, f"none{i}") for i in range(5)]
    client.force_login(member)

    seen, ranges = _walk(client, "/runs/?sort=metric:last:loss")

    assert sorted(seen) == sorted(r.run_id for r in runs)
    assert len(seen) == len(set(seen)) == 115
    assert ranges == ["1–50 of 115", "51–100 of 115", "101–115 of 115"]
    assert seen[-5:] == [r.run_id for r in runs[-5:]]  # no loss: last, oldest first


def test_previous_page_returns_the_rows_before(client, member, experiment):
    for i in range(60):
        make_run(experiment, f"r{i}")
    client.force_login(member)
    first = get(client, "/runs/")
    second = get(client, html.unescape(re.search(r'<a href="([^"]+)" rel="next">', first).group(1)))
    back = get(client, html.unescape(re.search(r'<a href="([^"]+)" rel="prev">', second).group(1)))
    assert listed(back) == listed(first)
    assert "1–50 of 60" in back


def test_an_edited_page_link_falls_back_to_the_first_page(client, member, run):
    client.force_login(member)
    body = get(client, "/runs/?after=bm90LWEtY3Vyc29y")
    assert "The page link is not valid any more." in body
    assert listed(body) == [run.run_id]


def _queries(client, django_assert_max_num_queries, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_a_filtered_page_sorted_by_a_metric_costs_the_same_queries_for_3_or_30_runs(
    client, member, experiment, django_assert_num_queries, django_assert_max_num_queries
):
    url = (
        "/runs/?tag=lr&sort=-metric:last:loss&col=name&col=tags&col=prop:author"
        "&col=metric:min:loss&col=tag:lr&chart=metric:last:loss&q=metrics.loss > 0"
    )
    for i in range(3):
        parent = make_run(
            experiment, f"r{i}", loss=i + 0.5, tags={"lr": str(i)}, props={"author": "a"}
        )
    services.run_create_children(parent=parent, submitted_by="bob", count=2)
    client.force_login(member)
    _queries(client, django_assert_max_num_queries, url)  # the session settles
    baseline = _queries(client, django_assert_max_num_queries, url)
    for i in range(27):
        make_run(experiment, f"s{i}", loss=i + 0.5, tags={"lr": str(i)}, props={"author": "a"})

    with django_assert_num_queries(baseline):
        body = client.get(url).content.decode()

    assert len(listed(body)) == 30
    # 19 for the page, plus on SQLite one probe for each of the two terms on tag and
    # metric rows (language.having: the list of matches or a probe per run).
    assert baseline <= 21


def test_children_fragment_costs_the_same_for_3_or_30_children(
    client, member, experiment, django_assert_num_queries, django_assert_max_num_queries
):
    small = make_run(experiment, "small")
    big = make_run(experiment, "big")
    services.run_create_children(parent=small, submitted_by="bob", count=3)
    services.run_create_children(parent=big, submitted_by="bob", count=30)
    client.force_login(member)
    few = f"/fragments/runs/{small.run_id}/children/?col=name&col=metric:last:loss&col=prop:x"
    many = few.replace(small.run_id, big.run_id)
    _queries(client, django_assert_max_num_queries, few)
    baseline = _queries(client, django_assert_max_num_queries, few)
    with django_assert_num_queries(baseline):
        assert client.get(many).status_code == 200
