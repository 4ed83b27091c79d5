"""A run is called by one rule on every page (``Run.label``): its display name, else
"Run <number>"."""

from __future__ import annotations

import json
import re

from studio.tracking import services
from studio.tracking.models import Run
from tests.web.run_page_helpers import log_series


def test_an_unnamed_run_is_run_n_in_titles_crumbs_lists_compare_and_charts(
    client, member, experiment
):
    parent = services.run_create(experiment=experiment, submitted_by="bob")
    child = services.run_create(experiment=experiment, submitted_by="bob", parent=parent)
    named = services.run_create(experiment=experiment, submitted_by="bob", display_name="tuned")
    for run in (child, named):
        log_series(run, "loss", [1.0, 0.5])
    client.force_login(member)

    page = client.get(f"/runs/{child.run_id}/", {"tab": "metrics"}).content.decode()
    assert f"<title>Run {child.number} · explore-runs" in page
    assert f'<h1 title="Run {child.number}">Run {child.number}</h1>' in page
    assert f">Run {parent.number}</a>" in page  # the crumb to its parent
    zoomed = client.get(f"/runs/{child.run_id}/chart/", {"name": "loss"}).json()
    assert {t["name"] for t in zoomed["data"]} == {f"Run {child.number}"}

    listed = client.get("/runs/").content.decode()
    assert f'aria-label="Select Run {parent.number}"' in listed
    assert 'aria-label="Select tuned"' in listed

    compare = client.get("/compare/", {"runs": f"{child.run_id},{named.run_id}"}).content.decode()
    assert f">Run {child.number}</a>" in compare and ">tuned</a>" in compare
    config = json.loads(re.search(r'id="panels-config" type="application/json">(.*?)<', compare)[1])
    assert [r["label"] for r in config["runs"]] == [f"Run {child.number}", "tuned"]


def test_a_run_read_as_values_gets_the_same_label():
    assert Run.label_of("", 7) == "Run 7" == Run(number=7).label
    assert Run.label_of("tuned", 7) == "tuned" == Run(number=7, display_name="tuned").label
