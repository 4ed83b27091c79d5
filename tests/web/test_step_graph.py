"""A pipeline's steps as a graph: the layers (``studio.rules.graph.layers``), the
boxes and arrows laid out from them (``studio.web.step_graph``), and the pipeline
run page drawing them as links to the steps."""

from __future__ import annotations

import re

import pytest

from studio.errors import ValidationError
from studio.rules.graph import layers
from studio.web import step_graph


def test_a_diamond_makes_three_layers():
    steps = [("prep", []), ("a", ["prep"]), ("b", ["prep"]), ("eval", ["a", "b"])]
    assert layers(steps) == [["prep"], ["a", "b"], ["eval"]]


def test_a_chain_makes_one_step_per_layer_even_when_listed_backwards():
    steps = [("c", ["b"]), ("b", ["a"]), ("a", [])]
    assert layers(steps) == [["a"], ["b"], ["c"]]


def test_parallel_steps_share_the_first_layer_in_the_definition_order():
    assert layers([("x", []), ("y", []), ("z", [])]) == [["x", "y", "z"]]


def test_a_step_sits_right_of_its_deepest_dependency():
    steps = [("a", []), ("b", ["a"]), ("c", ["b"]), ("d", ["a", "c"])]
    assert layers(steps) == [["a"], ["b"], ["c"], ["d"]]


def test_a_layer_is_ordered_by_where_its_dependencies_are():
    # "late" is defined first but waits for the second root: it goes below "early".
    steps = [("r1", []), ("r2", []), ("late", ["r2"]), ("early", ["r1"])]
    assert layers(steps) == [["r1", "r2"], ["early", "late"]]


def test_a_long_chain_does_not_hit_the_recursion_limit():
    steps = [("s0", [])] + [(f"s{i}", [f"s{i - 1}"]) for i in range(1, 3000)]
    assert len(layers(steps)) == 3000


@pytest.mark.parametrize(
    "steps, message",
    [
        ([("a", ["b"]), ("b", ["a"])], "cycle"),
        ([("a", ["ghost"])], "unknown step"),
        ([("a", []), ("a", [])], "unique"),
    ],
)
def test_steps_that_do_not_make_a_graph_are_refused(steps, message):
    with pytest.raises(ValidationError, match=message):
        layers(steps)
    rows = [{"name": n, "after": a, "run": None} for n, a in steps]
    assert step_graph.layout(rows) is None  # the page then shows the table only


def test_no_steps_no_layers_no_drawing():
    assert layers([]) == []
    assert step_graph.layout([]) is None


def _rows(*steps):
    return [{"name": n, "after": a, "run": n.upper()} for n, a in steps]


def test_the_layout_places_layers_left_to_right_and_centres_them():
    drawing = step_graph.layout(
        _rows(("prep", []), ("a", ["prep"]), ("b", ["prep"]), ("eval", ["a", "b"]))
    )
    at = {n["name"]: (n["x"], n["y"]) for n in drawing["nodes"]}
    assert at["prep"][0] < at["a"][0] == at["b"][0] < at["eval"][0]
    assert at["a"][1] < at["b"][1]
    # the one-step layers sit midway between the two boxes of the middle layer
    assert at["prep"][1] == at["eval"][1] == (at["a"][1] + at["b"][1]) // 2
    assert drawing["width"] > at["eval"][0] + drawing["node_w"] - 1
    assert drawing["height"] > at["b"][1] + drawing["node_h"] - 1
    assert {n["name"]: n["run"] for n in drawing["nodes"]} == {
        "prep": "PREP", "a": "A", "b": "B", "eval": "EVAL"
    }  # fmt: skip


def test_an_arrow_goes_from_each_dependency_to_its_step():
    drawing = step_graph.layout(
        _rows(("prep", []), ("a", ["prep"]), ("b", ["prep"]), ("eval", ["a", "b"]))
    )
    edges = {(e["source"], e["target"]): e["d"] for e in drawing["edges"]}
    assert set(edges) == {("prep", "a"), ("prep", "b"), ("a", "eval"), ("b", "eval")}
    at = {n["name"]: n for n in drawing["nodes"]}
    start, end = re.findall(r"-?\d+ -?\d+", edges[("prep", "b")])[0::3]
    sx, sy = map(int, start.split())
    ex, ey = map(int, end.split())
    # from the middle of prep's right side to (just before) the middle of b's left side
    assert (sx, sy) == (
        at["prep"]["x"] + drawing["node_w"],
        at["prep"]["y"] + drawing["node_h"] // 2,
    )
    assert ex < at["b"]["x"] and ey == at["b"]["y"] + drawing["node_h"] // 2


def test_a_long_name_is_shortened_in_its_box_and_kept_whole_for_its_label():
    name = "a-step-with-a-very-long-descriptive-name"
    node = step_graph.layout(_rows((name, [])))["nodes"][0]
    assert node["name"] == name
    assert node["short"].endswith("…") and len(node["short"]) == step_graph.NAME_CHARS


# --- the pipeline run page -------------------------------------------------------------


def _pipeline(experiment, steps):
    from studio.execution import services as execution

    pipeline = execution.run_submit(
        experiment=experiment, submitted_by="bob", script="", type="pipeline"
    )
    made = {}
    for name, after in steps:
        made[name] = execution.run_submit(
            experiment=experiment, submitted_by="bob", script="s.py", parent=pipeline,
            type="step", display_name=f"run of {name}", step_name=name, after=after,
        )  # fmt: skip
    return pipeline, made


DIAMOND = [("prep", []), ("left", ["prep"]), ("right", ["prep"]), ("merge", ["left", "right"])]


def test_the_pipeline_page_draws_its_steps_as_linked_boxes_with_arrows(client, member, experiment):
    from studio.tracking import services

    pipeline, steps = _pipeline(experiment, DIAMOND)
    services.run_fail(run=steps["left"], error_details="boom")
    client.force_login(member)
    body = client.get(f"/runs/{pipeline.run_id}/").content.decode()
    section = body.split('data-section="steps"', 1)[1].split("</section>", 1)[0]
    graph = section.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'role="group"' in graph and "aria-label=" in graph.split(">", 1)[0]
    nodes = re.findall(r'<a class="dag-node ([^"]+)" href="([^"]+)"[^>]*data-step="([^"]+)"', graph)
    # the definition's step names (not the runs' display names), each a link to its run
    assert {(name, href) for _, href, name in nodes} == {
        (name, f"/runs/{run.run_id}/") for name, run in steps.items()
    }
    classes = {name: css for css, _, name in nodes}
    assert classes["left"] == "status-failed" and classes["prep"] == "status-notstarted"
    assert 'aria-label="Step left: Failed"' in graph
    assert graph.count('class="dag-edge"') == 4
    assert 'data-edge="prep→right"' in graph and 'data-edge="right→merge"' in graph
    assert "run of prep" not in graph
    # the table stays below the graph, for screen readers and without SVG
    assert section.index("</svg>") < section.index("<table")
    assert 'style="' not in section  # the CSP allows no style attributes


def test_a_run_that_is_not_a_pipeline_has_no_step_graph(client, member, experiment):
    from tests.web.listing_helpers import make_run

    run = make_run(experiment, "plain")
    client.force_login(member)
    assert "data-step-graph" not in client.get(f"/runs/{run.run_id}/").content.decode()


def test_the_pipeline_page_stream_carries_its_steps_statuses(client, member, experiment, settings):
    from studio.tracking import services
    from tests.web.listing_helpers import make_run
    from tests.web.test_live import _events, _read

    settings.STUDIO_LIVE_LIFETIME_SECONDS = 0.3
    pipeline, steps = _pipeline(experiment, DIAMOND)
    other = make_run(experiment, "elsewhere")
    services.run_fail(run=steps["right"], error_details="boom")
    services.run_fail(run=other, error_details="not this page's")
    client.force_login(member)

    events = _events(_read(client.get(f"/runs/{pipeline.run_id}/live/?since=0")))

    statuses = [(e[2]["run_id"], e[2]["status"]) for e in events if e[1] == "run"]
    assert statuses == [(steps["right"].run_id, "Failed")]
