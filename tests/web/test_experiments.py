"""Experiments: the list with run counts and last activity, and an experiment's page
with the same runs table and a chart of a metric across its runs."""

import json
import re

from studio.tracking import services
from tests.web.listing_helpers import get, listed, make_run

XSS = "</script><script>alert(1)</script>"


def test_experiments_list_counts_runs_going_and_failed(client, member, workspace, experiment):
    parent = make_run(experiment, "sweep")
    services.run_create_children(parent=parent, submitted_by="bob", count=3)
    services.run_fail(run=make_run(experiment, "bad"))
    services.run_complete(run=parent)
    quiet = services.experiment_get_or_create(workspace=workspace, name="quiet")
    client.force_login(member)

    body = get(client, "/experiments/")

    row = body.split('href="/experiments/explore-runs/"')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">(.*?)</td>', row)[0] == "5"
    assert "3 going" in row and "1 failed" in row
    assert 'href="/experiments/quiet/"' in body
    assert quiet.name in body


def test_experiments_of_another_workspace_are_neither_listed_nor_found(
    client, member, other_workspace
):
    services.experiment_get_or_create(workspace=other_workspace, name="secret-exp")
    client.force_login(member)
    assert "secret-exp" not in get(client, "/experiments/")
    assert client.get("/experiments/secret-exp/").status_code == 404


def test_experiment_page_lists_only_its_runs_with_the_same_table(
    client, member, workspace, experiment
):
    ours = make_run(experiment, "ours", loss=0.3)
    other = services.experiment_get_or_create(workspace=workspace, name="other")
    make_run(other, "theirs", loss=0.1)
    client.force_login(member)

    body = get(client, "/experiments/explore-runs/?sort=metric:last:loss&col=name")

    assert listed(body) == [ours.run_id]
    assert 'id="runs-filter"' in body and 'name="experiment"' not in body


def test_experiment_chart_plots_a_metric_of_every_run_children_included(client, member, experiment):
    parent = make_run(experiment, XSS, loss=0.5)
    children = services.run_create_children(parent=parent, submitted_by="bob", count=2)
    from tests.web.listing_helpers import log_metric

    log_metric(children[0], "loss", 0.4)
    services.run_fail(run=children[1])
    client.force_login(member)

    body = get(client, "/experiments/explore-runs/")

    figure = json.loads(
        re.search(
            r'<script id="experiment-chart" type="application/json">(.*?)</script>', body, re.S
        ).group(1)
    )
    points = {x: y for trace in figure["data"] for x, y in zip(trace["x"], trace["y"], strict=True)}
    assert points == {parent.number: 0.5, children[0].number: 0.4}
    assert [t["name"] for t in figure["data"]] == ["Running"]
    assert XSS not in body  # the run's name travels as JSON data, escaped
    assert 'src="/static/vendor/plotly.min.js"' in body


def test_experiment_chart_takes_the_chosen_metric_and_stat(client, member, experiment):
    run = make_run(experiment, "a", loss=0.5)
    from tests.web.listing_helpers import log_metric

    log_metric(run, "acc", 0.2, 0.9, 0.4)
    client.force_login(member)
    response = client.get("/experiments/explore-runs/?add_chart=acc&add_chart_stat=max")
    assert response.status_code == 302
    body = get(client, response["Location"])
    assert "acc (max) by run" in body
    assert '<option value="acc" selected>' in body and '<option value="max" selected>' in body


def test_chart_labels_are_entity_escaped_so_plotly_shows_them_as_typed():
    from studio.web.runlist.charts import Point, metric_across_runs

    figure = metric_across_runs([Point(1, "<b>bold</b> & co", "Completed", 0.5)], "<i>m</i>", "min")
    assert figure["data"][0]["text"] == ["&lt;b&gt;bold&lt;/b&gt; &amp; co"]
    assert figure["layout"]["title"]["text"] == "&lt;i&gt;m&lt;/i&gt; (min) by run"
