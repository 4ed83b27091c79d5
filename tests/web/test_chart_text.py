"""Run and metric names in charts (docs/requirements.md A7): plotly.js reads a few tags in
the text it draws (``<a href>``, ``<b>``, ``<br>``), so every figure a page builds carries
user text entity-escaped, in titles, legends, hover text and axis titles alike."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote

import pytest

from studio.tracking import services
from studio.web.charts import plotly_text
from tests.web.run_page_helpers import log_series

RUN_NAME = '<a href="https://evil.example">x</a>'
METRIC = "<b>loss</b><a href='https://evil.example'>m</a>"
# The markup plotly.js is meant to read: ours, in hover templates only.
OURS = re.compile(r"<br>|<extra>|</extra>")


def _figures(body: str) -> list[dict]:
    blocks = re.findall(r'<script id="[^"]+" type="application/json">(.*?)</script>', body, re.S)
    found = [json.loads(block) for block in blocks]
    return [f for f in found if isinstance(f, dict) and "data" in f and "layout" in f]


def _texts(figure: dict) -> dict[str, list[str]]:
    """Every text plotly.js draws from a figure, by where it is drawn."""
    layout = figure["layout"]
    traces = figure["data"]
    return {
        "title": [layout["title"]["text"]],
        "axis": [layout[a]["title"]["text"] for a in ("xaxis", "yaxis") if "title" in layout[a]],
        "legend": [t["name"] for t in traces],
        "hover": [t.get("hovertemplate", "") for t in traces]
        + [text for t in traces for text in t.get("text", [])],
    }


def _assert_escaped(figure: dict, *, legend_or_hover: str) -> None:
    texts = _texts(figure)
    for where, values in texts.items():
        for value in values:
            assert "<" not in OURS.sub("", value), (where, value)
    assert plotly_text(METRIC) in texts["title"][0]
    shown = " ".join(texts["legend"] + texts["hover"])
    assert plotly_text(legend_or_hover) in shown


@pytest.fixture
def hostile(experiment):
    """Two runs with a markup name, both logging a metric named with markup."""
    runs = []
    for _ in range(2):
        run = services.run_create(experiment=experiment, submitted_by="bob", display_name=RUN_NAME)
        log_series(run, METRIC, [1.0, 2.0, 0.5])
        runs.append(run)
    return runs


def test_A7_markup_in_run_and_metric_names_reaches_every_chart_entity_escaped(
    client, member, hostile, experiment
):
    client.force_login(member)
    first, second = hostile
    chart = quote(f"metric:last:{METRIC}")

    run_page = client.get(f"/runs/{first.run_id}/", {"tab": "metrics"}).content.decode()
    zoomed = client.get(f"/runs/{first.run_id}/chart/", {"name": METRIC}).json()
    experiment_page = client.get(f"/experiments/{experiment.name}/?chart={chart}")
    pages = {
        "run page": [*_figures(run_page), zoomed],
        "experiment": _figures(experiment_page.content.decode()),
        # The panel grids of the runs list and Compare are drawn by charts.js from JSON
        # data, which escapes names the same way (tests/e2e/test_panels.py checks it).
    }

    for page, figures in pages.items():
        assert figures, page
        for figure in figures:
            _assert_escaped(figure, legend_or_hover=RUN_NAME)


def test_plotly_text_escapes_every_character_plotly_or_html_reads():
    assert plotly_text("""<a href="x">'&'</a>""") == (
        "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
    )
    assert html.unescape(plotly_text(RUN_NAME)) == RUN_NAME
