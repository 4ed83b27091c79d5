"""Columns that know the data: the picker's catalog with counts, the columns a list
picks by itself, constant columns hidden, the first sort direction, pins, widths
and a baseline run in the list state, and Compare's "hide equal rows"."""

import html
import re

import pytest
from django.http import QueryDict

from studio.errors import ValidationError
from studio.rules.runquery import parse_column
from studio.tracking import saved_views, services
from studio.tracking.models import Run
from studio.tracking.runlist import catalog
from studio.tracking.runlist.state import ListState, clean_state
from tests.web.listing_helpers import get, listed, log_metric, make_run


@pytest.fixture
def sweep(experiment):
    runs = []
    for name, lr, loss, acc in [
        ("a", "0.1", 0.5, 0.7),
        ("b", "0.3", 0.2, 0.9),
        ("c", "1.0", 0.35, 0.8),
    ]:
        run = make_run(experiment, name, props={"lr": lr, "seed": "1"}, tags={"team": "x"})
        log_metric(run, "val_loss", loss + 0.5, loss)
        log_metric(run, "accuracy", acc)
        log_metric(run, "epochs", 10)
        runs.append(run)
    odd = make_run(
        experiment, "d", props={"lr": "0.1", "seed": "1", "note": "odd"}, tags={"team": "x"}
    )
    log_metric(odd, "epochs", 10)
    return runs


def _heads(body: str) -> list[str]:
    return re.findall(r'data-col-key="([^"]+)"', body)


def _delta(body: str, run_id: str) -> str:
    row = body.split(f'<tr data-run-id="{run_id}"')[1].split("</tr>")[0]
    found = re.search(r'<span class="delta delta-(\w+)">([^<]*)</span>', row)
    return f"{found.group(1)} {html.unescape(found.group(2))}" if found else ""


def test_lower_is_better_knows_loss_like_names():
    for name in ("val_loss", "loss", "eval/rmse", "top1-err", "trainLoss", "wer", "perplexity"):
        assert catalog.lower_is_better(name), name
    for name in ("accuracy", "f1", "bleu", "reward", "glossary_size"):
        assert not catalog.lower_is_better(name), name


def test_the_catalog_counts_runs_per_key_and_knows_constant_ones(sweep, workspace):
    found = catalog.catalog(Run.objects.filter(workspace=workspace))
    assert found.sampled == 4
    metrics = {k.name: k for k in found.metrics}
    assert {n: k.runs for n, k in metrics.items()} == {"val_loss": 3, "accuracy": 3, "epochs": 4}
    assert metrics["epochs"].constant_stats == ("last", "min", "max")
    assert metrics["val_loss"].constant_stats == ()
    props = {k.name: (k.runs, k.values, k.constant) for k in found.props}
    assert props == {"lr": (4, 3, False), "seed": (4, 1, True), "note": (1, 1, False)}
    assert [(k.name, k.runs) for k in found.tags] == [("team", 4)]
    assert found.uninformative(parse_column("prop:seed"))
    assert found.uninformative(parse_column("metric:max:epochs"))
    assert not found.uninformative(parse_column("prop:note"))  # 1 run of 4 has it
    assert found.uninformative(parse_column("prop:absent"))
    assert not found.uninformative(parse_column("prop:lr"))
    assert not found.uninformative(parse_column("name"))


def test_the_catalog_costs_two_queries_whatever_the_keys(
    sweep, workspace, django_assert_num_queries
):
    runs = Run.objects.filter(workspace=workspace)
    with django_assert_num_queries(2):
        catalog.catalog(runs, total=4)


def test_the_catalog_caps_the_keys_it_lists(experiment, workspace, monkeypatch):
    monkeypatch.setattr(catalog, "MAX_KEYS", 2)
    make_run(experiment, "a", props={"p1": "1", "p2": "2", "p3": "3"})
    found = catalog.catalog(Run.objects.filter(workspace=workspace))
    assert len(found.props) == 2 and found.capped
    assert not found.uninformative(parse_column("prop:p9"))  # beyond the cap: kept


def test_the_picker_lists_every_metric_property_and_tag_with_counts(client, member, sweep):
    client.force_login(member)
    body = get(client, "/runs/")
    picker = body.split('aria-label="Columns"')[1].split("</form>")[0]
    for stat in ("last", "min", "max"):
        assert f'value="metric:{stat}:val_loss"' in picker
    assert re.search(r'data-picker-item="val_loss".*?picker-count[^>]*>3<', picker, re.S)
    assert re.search(r'data-picker-item="lr".*?picker-count[^>]*>4<', picker, re.S)
    assert re.search(r'data-picker-item="team".*?picker-count[^>]*>4<', picker, re.S)


def test_a_list_without_columns_shows_its_logged_metrics_and_varying_properties(
    client, member, sweep
):
    client.force_login(member)
    heads = _heads(get(client, "/runs/"))
    assert heads[:7] == ["name", "id", "experiment", "status", "created", "duration", "tags"]
    assert set(heads[7:]) == {"metric:last:val_loss", "metric:last:accuracy", "prop:lr"}
    # The metric constant for every run that has it and the constant seed are left out.
    assert "metric:last:epochs" not in heads and "prop:seed" not in heads


def test_chosen_columns_stay_in_links_and_chosen_by_the_list_do_not(client, member, sweep):
    client.force_login(member)
    body = get(client, "/runs/")
    sort = re.search(
        r'data-col-key="name"[^>]*>\s*<div class="th-inner"><a class="sort" href="([^"]+)"', body
    )
    assert "col=" not in sort.group(1)
    state = ListState.from_query(QueryDict("col=name&col=status"))
    assert state.to_query() == [("col", "name"), ("col", "status")]
    assert state.to_stored()["columns"] == ["name", "status"]
    assert "columns" not in ListState().to_stored()


def test_constant_columns_are_hidden_with_a_link_to_show_them(client, member, sweep):
    client.force_login(member)
    url = "/runs/?col=name&col=prop:seed&col=tag:team&col=prop:lr&col=metric:last:epochs"
    body = get(client, url)
    assert _heads(body) == ["name", "prop:lr"]
    note = re.search(r"data-constant-note>(.*?)</span>\s*</p>", body, re.S).group(1)
    assert note.startswith("3 constant columns hidden")
    link = html.unescape(re.search(r'— <a href="([^"]+)">show</a>', note).group(1))
    assert "constant=show" in link
    assert _heads(get(client, link)) == [
        "name",
        "prop:seed",
        "tag:team",
        "prop:lr",
        "metric:last:epochs",
    ]


def test_the_sort_column_and_pinned_ones_are_never_hidden(client, member, sweep):
    client.force_login(member)
    body = get(client, "/runs/?col=name&col=prop:seed&col=tag:team&sort=prop:seed&pin=tag:team")
    assert _heads(body) == ["tag:team", "name", "prop:seed"]


def test_a_list_of_one_run_hides_nothing(client, member, experiment):
    make_run(experiment, "only", props={"seed": "1"})
    client.force_login(member)
    assert _heads(get(client, "/runs/?col=name&col=prop:seed")) == ["name", "prop:seed"]


@pytest.mark.parametrize(
    "column, first",
    [
        ("metric:last:val_loss", "sort=metric%3Alast%3Aval_loss"),
        ("metric:min:accuracy", "sort=metric%3Amin%3Aaccuracy"),
        ("metric:last:accuracy", "sort=-metric%3Alast%3Aaccuracy"),
        ("metric:max:val_loss", "sort=metric%3Amax%3Aval_loss"),
    ],
)
def test_a_metric_header_sorts_the_useful_way_first(client, member, sweep, column, first):
    client.force_login(member)
    body = get(client, f"/runs/?col=name&col={column}")
    header = body.split(f'data-col-key="{column}"')[1].split("</th>")[0]
    assert first in re.search(r'class="sort" href="([^"]+)"', header).group(1)


def test_sorting_by_val_loss_min_lists_the_lowest_first(client, member, sweep):
    client.force_login(member)
    body = get(client, "/runs/?col=name&col=metric:min:val_loss&sort=metric:min:val_loss")
    a, b, c = sweep
    assert listed(body)[:3] == [b.run_id, c.run_id, a.run_id]


def test_pins_come_first_and_pin_links_write_the_columns_out(client, member, sweep):
    client.force_login(member)
    body = get(client, "/runs/?col=name&col=status&col=prop:lr&pin=prop:lr")
    assert _heads(body) == ["prop:lr", "name", "status"]
    head = body.split('data-col-key="status"')[1].split("</th>")[0]
    pin = html.unescape(re.search(r'class="pin" href="([^"]+)"', head).group(1))
    assert pin.endswith("col=prop%3Alr&col=name&col=status&pin=prop%3Alr&pin=status")
    unpin = body.split('data-col-key="prop:lr"')[1].split("</th>")[0]
    assert "Unpin" in unpin and "pin=" not in html.unescape(
        re.search(r'class="pin" href="([^"]+)"', unpin).group(1)
    )


def test_widths_come_from_the_url_and_bad_ones_are_dropped_with_a_note(client, member, sweep):
    client.force_login(member)
    body = get(client, "/runs/?col=name&col=prop:lr&width=240:prop:lr&width=9999:name")
    assert re.search(r'data-col-key="prop:lr" data-width="240"', body)
    assert 'data-col-key="name" data-width' not in body
    assert "A column width is 40 to 800 pixels" in body


def test_a_saved_view_keeps_columns_pins_widths_and_baseline(client, member, sweep, workspace):
    a, b, _ = sweep
    client.force_login(member)
    state = f"col=prop:lr&col=name&pin=prop:lr&width=200:name&baseline={a.run_id}&constant=show"
    response = client.post("/views/", {"name": "layout", "state": state, "shared": "1"})
    assert response.status_code == 302
    view = saved_views.view_find(workspace=workspace, name="layout")
    assert view.state["columns"] == ["prop:lr", "name"]
    assert view.state["pins"] == ["prop:lr"]
    assert view.state["widths"] == {"name": 200}
    assert view.state["baseline"] == a.run_id and view.state["show_constant"] is True
    body = get(client, f"/views/{view.pk}/")
    assert _heads(body) == ["prop:lr", "name"]
    assert 'data-col-key="name" data-width="200"' in body


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"pins": "name"}, "pins"),
        ({"pins": ["password"]}, "columns"),
        ({"widths": {"name": 5}}, "widths"),
        ({"widths": {"name": "wide"}}, "widths"),
        ({"widths": ["name"]}, "widths"),
        ({"baseline": 7}, "baseline"),
        ({"show_constant": "yes"}, "show_constant"),
    ],
)
def test_clean_state_refuses_bad_layouts(workspace, bad, field):
    with pytest.raises(ValidationError) as caught:
        clean_state({"filters": {}, **bad}, workspace=workspace)
    assert caught.value.field == field


def test_metric_columns_show_the_difference_to_the_baseline_by_direction(client, member, sweep):
    a, b, c = sweep
    client.force_login(member)
    body = get(
        client,
        f"/runs/?col=name&col=metric:last:val_loss&col=metric:last:accuracy&baseline={a.run_id}",
    )
    assert "Baseline:" in body and "baseline</span>" in body
    row_b = body.split(f'<tr data-run-id="{b.run_id}"')[1].split("</tr>")[0]
    deltas = re.findall(r'<span class="delta delta-(\w+)">([^<]*)</span>', row_b)
    # val_loss 0.2 vs 0.5: lower is better; accuracy 0.9 vs 0.7: higher is better
    assert [(v, html.unescape(t)) for v, t in deltas] == [("better", "−0.3"), ("better", "+0.2")]
    assert "better than the baseline" in row_b
    assert _delta(body, a.run_id) == ""  # the baseline itself


def test_a_baseline_outside_the_workspace_is_ignored_with_a_note(
    client, member, sweep, other_workspace
):
    theirs = make_run(
        services.experiment_get_or_create(workspace=other_workspace, name="x"), "t", loss=0.1
    )
    client.force_login(member)
    body = get(client, f"/runs/?col=name&col=metric:last:loss&baseline={theirs.run_id}")
    assert "is not in this workspace" in body and "delta" not in body.split("</thead>")[1]


def test_set_baseline_takes_one_selected_run_back_to_the_list(client, reader, sweep):
    a, b, _ = sweep
    client.force_login(reader)
    response = client.post(
        "/actions/runs/",
        {"action": "baseline", "run": [b.run_id], "next": "/runs/?ws=default&col=name&after=x"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/runs/?ws=default&col=name&baseline={b.run_id}"
    response = client.post(
        "/actions/runs/", {"action": "baseline", "run": [a.run_id, b.run_id], "next": "/runs/"}
    )
    assert response["Location"] == "/runs/"
    assert "baseline" not in response["Location"]


def test_compare_hides_equal_rows_on_request(client, member, sweep):
    a, b, _ = sweep
    client.force_login(member)
    url = f"/compare/?runs={a.run_id},{b.run_id}"
    body = get(client, url)
    assert "Hide equal rows" in body and ">seed<" in body.replace("</span> ", "")
    hidden = get(client, url + "&equal=hide")
    table = hidden.split('<table class="grid compare">')[1].split("</table>")[0]
    assert "seed" not in table and "team" not in table and "epochs" not in table
    assert ">lr<" in table.replace('<span class="diff-mark" title="Values differ">≠</span> ', "")
    assert "val_loss" in table
    assert "3 equal rows hidden" in hidden and "Show equal rows" in hidden


def test_the_csv_link_has_the_columns_the_list_chose(client, member, sweep):
    client.force_login(member)
    body = get(client, "/runs/")
    export = html.unescape(re.search(r'href="(/runs\.csv[^"]*)"', body).group(1))
    assert "col=metric%3Alast%3Aval_loss" in export and "col=prop%3Alr" in export
    csv = b"".join(client.get(export).streaming_content).decode()
    assert "val_loss" in csv.splitlines()[0]
