"""Compare (/compare/?runs=ID,ID): properties, tags and metrics side by side with the
differences marked, and each metric's charts overlaid, one colour per run."""

from __future__ import annotations

import json
import re

from studio.tracking import services
from tests.web.run_page_helpers import log_series


def _runs(experiment, count=2):
    runs = []
    for i in range(count):
        run = services.run_create(experiment=experiment, submitted_by="bob", display_name=f"lr {i}")
        services.run_add_properties(run=run, properties={"author": "bob", "seed": str(i)})
        services.run_set_tags(run=run, tags={"model": "logreg", "lr": str(0.1 * (i + 1))})
        log_series(run, "loss", [1.0, 0.5, 0.25 + i])
        log_series(run, "epochs", [10.0])
        runs.append(run)
    return runs


def _row(html: str, key: str) -> str:
    return re.search(
        rf"<tr[^>]*>\s*<th scope=\"row\">(?:<span class=\"diff-mark\"[^>]*>≠</span> )?{key}</th>.*?</tr>",
        html,
        re.S,
    ).group(0)


def test_two_runs_side_by_side_with_differences_marked(client, member, experiment):
    a, b = _runs(experiment)
    client.force_login(member)
    response = client.get("/compare/", {"runs": f"{a.run_id},{b.run_id}"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("lr 0") < html.index("lr 1")
    assert 'class="differs"' in _row(html, "seed") and "differs" not in _row(html, "author")
    assert 'class="differs"' in _row(html, "lr") and "differs" not in _row(html, "model")
    loss = _row(html, "loss")
    assert (
        'class="differs"' in loss
        and "<strong>0.25</strong>" in loss
        and "<strong>1.25</strong>" in loss
    )
    assert "(0.25 … 1)" in loss
    assert "differs" not in _row(html, "epochs")


def _config(html: str) -> dict:
    block = re.search(
        r'<script id="panels-config" type="application/json">(.*?)</script>', html, re.S
    )
    return json.loads(block.group(1))


def test_charts_are_panels_fetched_as_json_with_a_colour_per_run(client, member, experiment):
    a, b = _runs(experiment)
    client.force_login(member)
    html = client.get("/compare/", {"runs": f"{a.run_id},{b.run_id}"}).content.decode()
    config = _config(html)
    assert config["panels"] == ["epochs", "loss"] and config["compare"] is True
    assert [r["id"] for r in config["runs"]] == [a.run_id, b.run_id]
    assert config["runs"][0]["c"] != config["runs"][1]["c"]  # made one after the other
    assert config["differs"] == ["loss"]
    assert "0.25" not in re.sub(r"<table.*?</table>", "", html, flags=re.S)  # no series inlined
    series = client.get(
        config["endpoint"], {"runs": f"{a.run_id},{b.run_id}", "metric": config["panels"]}
    )
    assert series.status_code == 200 and len(series.json()["series"]) == 4


def test_only_differing_metrics_are_charted_with_diff(client, member, experiment):
    a, b = _runs(experiment)
    client.force_login(member)
    html = client.get("/compare/", {"runs": f"{a.run_id},{b.run_id}", "diff": "1"}).content.decode()
    assert _config(html)["panels"] == ["loss"]


def test_transposed_compare_puts_each_run_in_a_row(client, member, experiment):
    a, b = _runs(experiment)
    client.force_login(member)
    html = client.get("/compare/", {"runs": f"{a.run_id},{b.run_id}", "t": "1"}).content.decode()
    table = re.search(r'<table class="grid compare compare-transposed">.*?</table>', html, re.S)
    rows = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", table.group(0), re.S)
    assert len(rows) == 2 and "lr 0" in rows[0] and "lr 1" in rows[1]
    assert "<strong>1.25</strong>" not in rows[1] and "1.25" in rows[1]


def test_fewer_than_two_runs_asks_for_more(client, member, experiment):
    (a,) = _runs(experiment, 1)
    client.force_login(member)
    response = client.get("/compare/", {"runs": a.run_id})
    assert response.status_code == 400
    assert "Pick at least two runs" in response.content.decode()


def test_a_run_the_user_cannot_see_makes_the_whole_comparison_404(
    client, outsider, member, experiment
):
    a, b = _runs(experiment)
    client.force_login(outsider)
    assert client.get("/compare/", {"runs": f"{a.run_id},{b.run_id}"}).status_code == 404
    client.force_login(member)
    assert client.get("/compare/", {"runs": f"{a.run_id},nope_1_00000000"}).status_code == 404


def test_duplicates_are_dropped_and_at_most_200_runs_are_compared(client, member, experiment):
    runs = _runs(experiment, 3)
    client.force_login(member)
    ids = ",".join([runs[0].run_id] + [r.run_id for r in runs])
    html = client.get("/compare/", {"runs": ids}).content.decode()
    assert "Only the first" not in html
    assert html.count('<th scope="col"><span class="swatch') == 3
    many = ",".join([r.run_id for r in runs] + [f"more_{i}" for i in range(300)])
    # The first 200 are compared (one of them unknown: a 404, as for any unknown run).
    assert client.get("/compare/", {"runs": many}).status_code == 404


def test_compare_costs_a_bounded_number_of_queries_per_run(
    client, member, experiment, django_assert_max_num_queries
):
    runs = _runs(experiment, 4)
    client.force_login(member)
    url = "/compare/?runs=" + ",".join(r.run_id for r in runs)
    client.get(url)
    # One access query (with tags and properties), the metric summaries, the page's own:
    # the same for 4 runs as for 40 (the charts' series come from /charts/series/).
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200


def test_compare_charts_can_use_time_on_the_x_axis(client, member, experiment):
    a, b = _runs(experiment)
    client.force_login(member)
    html = client.get(
        "/compare/", {"runs": f"{a.run_id},{b.run_id}", "cx": "wall"}
    ).content.decode()
    assert '<option value="wall" selected>' in html and _config(html)["options"]["x"] == "wall"
