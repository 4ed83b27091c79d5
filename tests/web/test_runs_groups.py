"""The runs list grouped by a property, a tag or the experiment (group rows with
count and mean ± std / min – max per metric column), and the sweep panels' data
(parallel coordinates and scatter), on /runs/, a saved view and an experiment."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.tracking import saved_views
from tests.web.listing_helpers import get, log_metric, make_run

XSS = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def sweep(experiment):
    runs = []
    for lr, losses in {"0.1": [0.5, 0.3], "0.01": [0.2, 0.1, 0.15], XSS: [0.9]}.items():
        for seed, loss in enumerate(losses):
            run = make_run(experiment, f"lr{lr}-{seed}", props={"lr": lr, "seed": str(seed)})
            log_metric(run, "val_loss", loss)
            runs.append(run)
    runs.append(make_run(experiment, "no-lr"))
    return runs


GROUPED = "/runs/?col=name&col=metric:last:val_loss&group=prop:lr"


def _group_rows(body: str) -> list[str]:
    return re.findall(r'<tr class="group-row".*?</tr>', body, re.S)


def _label(row: str) -> str:
    return re.search(r'class="group-name"[^>]*>([^<]*)<', row).group(1)


def test_grouping_by_a_property_shows_count_and_mean_per_group(client, member, sweep):
    client.force_login(member)
    body = get(client, GROUPED)
    rows = _group_rows(body)
    assert len(rows) == 4  # 0.01, 0.1, the XSS value, (none)
    assert [_label(r) for r in rows][1:] == ["0.01", "0.1", "(none)"]  # text order
    first = rows[1]
    assert "3 runs" in first
    assert "0.15" in first and "± 0.05" in first  # mean and sample std of 0.2, 0.1, 0.15
    assert "0.1 – 0.2" in first
    assert ">(none)</a>" in rows[-1] and "1 run<" in rows[-1]
    assert 'class="pager"' not in body  # groups are not paged
    assert "<img src=x" not in body  # a value is text, never markup


def test_a_group_links_to_its_own_list_through_the_filter_language(client, member, sweep):
    client.force_login(member)
    body = get(client, GROUPED + "&q=metrics.val_loss < 0.4")
    (row,) = [r for r in _group_rows(body) if _label(r) == "0.01"]
    url = re.search(r'data-group-rows="([^"]+)"', row).group(1)
    url = url.replace("&amp;", "&")
    assert "group=" not in url
    names = re.findall(r'class="name" href="[^"]+" title="[^"]*">([^<]+)<', get(client, url))
    assert sorted(names) == ["lr0.01-0", "lr0.01-1", "lr0.01-2"]  # both conditions hold


def test_sorting_by_a_metric_orders_groups_by_its_mean(client, member, sweep):
    client.force_login(member)
    body = get(client, GROUPED + "&sort=-metric:last:val_loss")
    labels = [_label(r) for r in _group_rows(body)]
    assert labels[:3] == ["&quot;&gt;&lt;img src=x onerror=alert(1)&gt;", "0.1", "0.01"]


def test_a_bad_group_key_in_the_url_is_a_note_and_the_list_still_shows(client, member, sweep):
    client.force_login(member)
    body = get(client, "/runs/?group=status")
    assert "Group by a property (prop:KEY), a tag (tag:KEY) or the experiment." in body
    assert not _group_rows(body) and 'class="pager"' in body


def test_grouped_page_costs_the_same_for_few_or_many_groups(client, member, experiment):
    client.force_login(member)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            get(client, GROUPED)
        return len(queries)

    log_metric(make_run(experiment, "one", props={"lr": "1"}), "val_loss", 1.0)
    count()  # the first request also reads the session
    baseline = count()
    for i in range(30):
        log_metric(make_run(experiment, f"r{i}", props={"lr": str(i + 2)}), "val_loss", i)
    assert count() == baseline


def test_a_saved_view_keeps_grouping_and_sweep_axes(client, member, workspace, sweep):
    client.force_login(member)
    state = "group=prop:lr&axis=prop:lr&axis=metric:last:val_loss&scatter=prop:lr&scatter=metric:last:val_loss"
    response = client.post("/views/", {"name": "sweep", "state": state})
    assert response.status_code == 302
    view = saved_views.SavedView.objects.get(name="sweep")
    assert view.state["group"] == "prop:lr"
    assert view.state["axes"] == ["prop:lr", "metric:last:val_loss"]
    body = get(client, f"/views/{view.pk}/")
    assert _group_rows(body) and 'id="sweep-data"' in body


def _sweep_data(body: str) -> dict:
    raw = re.search(r'<script id="sweep-data" type="application/json">(.*?)</script>', body, re.S)
    return json.loads(raw.group(1))


def test_sweep_panels_get_their_axes_as_json(client, member, sweep):
    client.force_login(member)
    body = get(
        client,
        "/runs/?axis=prop:lr&axis=prop:seed&axis=metric:last:val_loss"
        "&scatter=prop:seed&scatter=metric:last:val_loss&q=has properties.seed",
    )
    data = _sweep_data(body)
    assert len(data["ids"]) == 6 and not data["capped"]
    lr, seed, loss = data["dims"]
    assert lr["kind"] == "category" and lr["field"] == "properties.'lr'"
    assert XSS in lr["categories"]  # raw, for the filter string only
    assert all("<img" not in text for text in lr["ticktext"])  # shown escaped by plotly
    assert seed["kind"] == "number" and sorted(seed["values"]) == [0, 0, 0, 1, 1, 2]
    assert loss["field"] == "metrics.'val_loss'" and loss["kind"] == "number"
    assert data["parcoords"] == [0, 1, 2] and data["scatter"] == [1, 2]
    assert data["filter"] == "has properties.seed"
    assert ["q", "has properties.seed"] not in data["pairs"]
    assert "<img src=x" not in body.split('id="sweep-data"')[0]


def test_sweep_panels_are_capped_at_1000_runs_with_a_note(client, member, sweep, monkeypatch):
    from studio.tracking.runlist import sweep as sweep_values

    monkeypatch.setattr(sweep_values, "MAX_RUNS", 4)
    monkeypatch.setattr(sweep_values.sweep_values, "__kwdefaults__", {"limit": 4})
    client.force_login(member)
    body = get(client, "/runs/?axis=prop:seed")
    data = _sweep_data(body)
    assert data["capped"] and len(data["ids"]) == 4
    assert "The panels show the first 4 of 7 runs" in body
