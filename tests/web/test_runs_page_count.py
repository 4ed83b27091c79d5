"""The runs page's count: exact up to ``pages.COUNT_LIMIT`` runs from the page's
start, a visible lower bound ("1,000+") beyond, and the same rows either way."""

from __future__ import annotations

import re

from studio.tracking import services
from studio.tracking.runlist import pages
from tests.web.listing_helpers import get, listed
from tests.web.test_list_query_counts import _bulk_runs


def _total(body: str) -> str:
    return re.search(r'<p class="total">.*?<strong[^>]*>([^<]+)</strong> (runs?)', body).group(1)


def _pager(body: str) -> str:
    return re.search(r"<span class=\"muted\">([\d,]+–[\d,]+ of [^<]+)</span>", body).group(1)


def test_a_list_of_up_to_the_limit_is_counted_exactly(client, owner, workspace):
    experiment = services.experiment_get_or_create(workspace=workspace, name="many")
    _bulk_runs(experiment, 60)
    client.force_login(owner)
    body = get(client, "/runs/")
    assert _total(body) == "60" and _pager(body) == "1–50 of 60"
    assert "+" not in _total(body)


def test_a_longer_list_says_it_holds_more_than_the_limit(client, owner, workspace):
    experiment = services.experiment_get_or_create(workspace=workspace, name="many")
    _bulk_runs(experiment, pages.COUNT_LIMIT + 5)
    client.force_login(owner)
    body = get(client, "/runs/")
    assert pages.COUNT_LIMIT == 1_000
    assert _total(body) == "1,000+"
    assert 'title="More than 1,000 runs match: the count stops there"' in body
    assert _pager(body) == "1–50 of 1,000+"
    assert listed(body)[:2] == ["many_1005", "many_1004"]  # newest first, as always
    # The next page counts from its start: 955 runs left, so exact again.
    next_url = re.search(r'<a href="([^"]+)" rel="next">', body).group(1).replace("&amp;", "&")
    second = get(client, next_url)
    assert _pager(second) == "51–100 of 1,005"
    assert listed(second)[0] == "many_955"


def test_a_long_filtered_and_sorted_list_keeps_its_rows_and_order(client, owner, workspace):
    experiment = services.experiment_get_or_create(workspace=workspace, name="many")
    _bulk_runs(experiment, 3 * pages.COUNT_LIMIT)  # loss < 0.5: 4 in 9 of them
    client.force_login(owner)
    body = get(client, "/runs/?q=metrics.loss+%3C+0.5&sort=metric:last:loss")
    assert _total(body) == "1,000+"
    # loss 0.1 first (numbers 9, 18, ...), ties by creation: the smallest pk first.
    assert listed(body)[:3] == ["many_9", "many_18", "many_27"]
    body = get(client, "/runs/?tag=lr%3D0.3")
    assert _total(body) == "1,000+" and listed(body)[0] == "many_2999"
