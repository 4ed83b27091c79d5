"""The chart series endpoint (/charts/series/): many runs' series in one compact JSON
response, bounded, access-checked as a whole, with every peak kept."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from studio.tracking import services
from studio.web import series
from tests.factories import ExperimentFactory, RunFactory
from tests.web.run_page_helpers import T0, log_series

URL = "/charts/series/"


def _log(run, name, values, *, start=0):
    log_series(run, name, values, start=start)


def _get(client, **params):
    response = client.get(URL, params)
    return response, json.loads(response.content)


def test_code_round_trips_on_a_fine_grid_and_keeps_gaps():
    values = [0.5, 0.25, None, float("nan"), 0.125, 1e-9, 2.0]
    coded = series.code(values)
    back = series.decode(coded)
    span = 2.0 - 1e-9
    for a, b in zip(values, back, strict=True):
        if a is None or (isinstance(a, float) and math.isnan(a)):
            assert b is None
        else:
            assert abs(a - b) <= span / 400
    regular = series.code([10, 20, 30, 40])
    assert set(regular) == {"s", "a", "d", "n"} and series.decode(regular) == [10, 20, 30, 40]


def test_two_runs_two_metrics_come_back_in_the_order_asked(client, member, experiment):
    a = RunFactory(experiment=experiment, display_name="first")
    b = RunFactory(experiment=experiment, display_name="second")
    for run, base in ((a, 1.0), (b, 2.0)):
        _log(run, "loss", [base, base / 2, base / 4])
        _log(run, "acc", [0.1, 0.2])
    client.force_login(member)
    response, body = _get(client, runs=f"{b.run_id},{a.run_id}", metric=["loss", "acc"])
    assert response.status_code == 200
    assert [r["label"] for r in body["runs"]] == ["second", "first"]
    assert body["metrics"] == ["loss", "acc"]
    by_key = {(s["r"], s["m"]): s for s in body["series"]}
    assert series.decode(by_key[(0, 0)]["lo"]) == [2.0, 1.0, 0.5]
    assert series.decode(by_key[(1, 1)]["x"]) == [0, 1]
    assert "w" not in by_key[(0, 0)]  # raw points: one value each
    assert "NaN" not in response.content.decode()


def test_a_long_series_is_reduced_and_keeps_every_peak(client, member, experiment):
    run = RunFactory(experiment=experiment)
    values = np.sin(np.arange(20_000) / 500.0)
    values[12_345] = 50.0  # one spike
    values[777] = -40.0  # one dip
    _log(run, "loss", values.tolist())
    client.force_login(member)
    _, body = _get(client, runs=run.run_id, metric="loss")
    (s,) = body["series"]
    assert s["n"] == 20_000 and "w" in s
    highs, lows = series.highs(s), series.decode(s["lo"])
    assert len(highs) <= series.MAX_POINTS
    assert max(highs) == pytest.approx(50.0, rel=1e-3)
    assert min(lows) == pytest.approx(-40.0, rel=1e-3)


def test_a_zoomed_range_reads_only_that_range(client, member, experiment):
    run = RunFactory(experiment=experiment)
    _log(run, "loss", [float(i) for i in range(10_000)])
    client.force_login(member)
    _, body = _get(client, runs=run.run_id, metric="loss", range="2000,2100")
    xs = series.decode(body["series"][0]["x"])
    assert min(xs) >= 2000 and max(xs) <= 2100 and len(xs) == 101


def test_the_budget_shrinks_per_series_as_series_are_added():
    assert series.points_per_series(1) == series.MAX_POINTS
    assert series.points_per_series(500) < series.points_per_series(50)
    assert series.points_per_series(2000) == series.MIN_POINTS


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"metric": "loss"}, "runs"),
        ({"runs": ",".join(f"r{i}" for i in range(10_000)), "metric": "loss"}, "runs"),
        ({"runs": "RUN"}, "metric"),
        ({"runs": "RUN", "metric": [f"m{i}" for i in range(11)]}, "metric"),
        ({"runs": "RUN", "metric": "loss", "x": "sideways"}, "x"),
        ({"runs": "RUN", "metric": "loss", "range": "9,1"}, "range"),
        ({"runs": "RUN", "metric": "loss", "group": "status"}, "group"),
        ({"runs": "RUN", "metric": "nope"}, "metric"),
        ({"runs": "RUN", "metric": "loss", "x": "metric:nope"}, "metric"),
    ],
)
def test_bad_requests_are_a_400_naming_the_field(client, member, run, params, field):
    _log(run, "loss", [1.0, 2.0])
    params = {
        k: (v.replace("RUN", run.run_id) if isinstance(v, str) else v) for k, v in params.items()
    }
    client.force_login(member)
    response, body = _get(client, **params)
    assert response.status_code == 400
    assert body["field"] == field and body["error"]


def test_ten_thousand_runs_are_refused_before_any_query(
    client, member, run, django_assert_max_num_queries
):
    client.force_login(member)
    ids = ",".join(f"run-{i}" for i in range(10_000))
    with django_assert_max_num_queries(3):  # the session and the user, nothing of runs
        response = client.post(URL, {"runs": ids, "metric": "loss"})
    assert response.status_code == 400


def test_a_run_of_another_workspace_makes_the_whole_request_a_404(
    client, member, experiment, other_workspace
):
    mine = RunFactory(experiment=experiment)
    theirs = RunFactory(experiment=ExperimentFactory(workspace=other_workspace))
    for run in (mine, theirs):
        _log(run, "loss", [1.0, 0.5])
    client.force_login(member)
    response = client.get(URL, {"runs": f"{mine.run_id},{theirs.run_id}", "metric": "loss"})
    assert response.status_code == 404
    assert b"0.5" not in response.content
    missing = client.get(URL, {"runs": f"{mine.run_id},no-such-run", "metric": "loss"})
    assert missing.status_code == 404


def test_an_outsider_gets_404(client, outsider, run):
    _log(run, "loss", [1.0])
    client.force_login(outsider)
    assert client.get(URL, {"runs": run.run_id, "metric": "loss"}).status_code == 404


def test_access_and_reads_cost_a_fixed_number_of_queries(
    client, member, experiment, django_assert_max_num_queries
):
    runs = [RunFactory(experiment=experiment) for _ in range(30)]
    for run in runs:
        _log(run, "loss", [1.0, 0.5, 0.25])
        _log(run, "acc", [0.5, 0.75])
    client.force_login(member)
    ids = ",".join(r.run_id for r in runs)
    with django_assert_max_num_queries(10):
        response = client.post(URL, {"runs": ids, "metric": ["loss", "acc"]})
    assert response.status_code == 200
    assert len(json.loads(response.content)["series"]) == 60


def test_post_takes_the_same_fields_as_get(client, member, run):
    _log(run, "loss", [3.0, 2.0])
    client.force_login(member)
    got = client.get(URL, {"runs": run.run_id, "metric": "loss"}).content
    posted = client.post(URL, {"runs": run.run_id, "metric": "loss"}).content
    assert got == posted


def test_time_axes_are_seconds_since_the_first_point_or_wall_clock(client, member, run):
    _log(run, "loss", [3.0, 2.0, 1.0])
    client.force_login(member)
    _, rel = _get(client, runs=run.run_id, metric="loss", x="rel")
    _, wall = _get(client, runs=run.run_id, metric="loss", x="wall")
    assert rel["x"] == "rel" and series.decode(rel["series"][0]["x"]) == [0, 1, 2]
    assert series.decode(wall["series"][0]["x"]) == [T0, T0 + 1, T0 + 2]


def test_another_metric_on_the_x_axis(client, member, run):
    _log(run, "loss", [3.0, 2.0, 1.0])
    _log(run, "epoch", [0.0, 0.5, 1.0])
    client.force_login(member)
    _, body = _get(client, runs=run.run_id, metric="loss", x="metric:epoch")
    assert body["x"] == "metric:epoch"
    assert series.decode(body["series"][0]["x"]) == [0.0, 0.5, 1.0]


def test_grouped_by_a_property_gives_mean_std_min_max_per_group(client, member, experiment):
    for lr, seed, offset in (("0.1", "1", 0.0), ("0.1", "2", 2.0), ("0.01", "1", 10.0)):
        run = RunFactory(experiment=experiment)
        services.run_add_properties(run=run, properties={"lr": lr, "seed": seed})
        _log(run, "loss", [offset + 1.0, offset + 2.0, offset + 3.0])
    client.force_login(member)
    runs = ",".join(r.run_id for r in experiment.runs.order_by("pk"))
    _, body = _get(client, runs=runs, metric="loss", group="prop:lr")
    assert "series" not in body
    assert [(g["value"], len(g["runs"])) for g in body["groups"]] == [("0.01", 1), ("0.1", 2)]
    band = next(b for b in body["bands"] if b["g"] == 1)
    assert series.decode(band["mean"]) == pytest.approx([2.0, 3.0, 4.0])
    assert series.decode(band["std"]) == pytest.approx([1.0, 1.0, 1.0])
    assert series.decode(band["min"]) == pytest.approx([1.0, 2.0, 3.0])
    assert series.decode(band["max"]) == pytest.approx([3.0, 4.0, 5.0])
    assert band["count"] == [2, 2, 2]


def test_a_hundred_runs_of_ten_thousand_steps_fit_in_200_kb(client, member, experiment):
    rng = np.random.default_rng(0)
    runs = [RunFactory(experiment=experiment) for _ in range(100)]
    steps = list(range(10_000))
    for run in runs:
        batch = []
        for k, name in enumerate(("loss", "val_loss", "acc", "val_acc", "lr")):
            curve = np.exp(-np.arange(10_000) / (2000 + 100 * k)) + rng.normal(0, 0.02, 10_000)
            batch.append(
                {
                    "name": name,
                    "steps": steps,
                    "values": curve.tolist(),
                    "times": [T0 + s for s in steps],
                }
            )
        services.metric_log_batch(run=run, batch_id="b", series=batch)
    client.force_login(member)
    response = client.post(
        URL,
        {
            "runs": ",".join(r.run_id for r in runs),
            "metric": ["loss", "val_loss", "acc", "val_acc", "lr"],
        },
    )
    assert response.status_code == 200
    assert len(response.content) <= 200_000, len(response.content)
    body = json.loads(response.content)
    assert len(body["series"]) == 500


def test_the_browser_draws_with_the_palette_the_server_names():
    source = (Path(__file__).resolve().parents[2] / "static/studio/js/charts.js").read_text()
    block = re.search(r"const PALETTE = \[(.*?)\];", source, re.S).group(1)
    assert tuple(re.findall(r'"(#[0-9a-f]{6})"', block)) == series.PALETTE


def test_same_labels_are_told_apart_by_the_end_of_their_ids():
    labels = series.legend_labels(["a", "b", "a"], ["x_11111111", "x_22222222", "x_33333333"])
    assert labels == ["a (11111111)", "b", "a (33333333)"]


def test_a_run_keeps_its_colour_whatever_its_place(client, member, experiment):
    a, b = RunFactory(experiment=experiment), RunFactory(experiment=experiment)
    for run in (a, b):
        _log(run, "loss", [1.0])
    client.force_login(member)
    _, ab = _get(client, runs=f"{a.run_id},{b.run_id}", metric="loss")
    _, ba = _get(client, runs=f"{b.run_id},{a.run_id}", metric="loss")
    assert ab["runs"][0]["c"] == ba["runs"][1]["c"] != ba["runs"][0]["c"]


def _panels_config(body: str) -> dict:
    return json.loads(
        re.search(r'id="panels-config" type="application/json">(.*?)</script>', body, re.S)[1]
    )


def test_the_list_charts_the_top_runs_by_its_sort_with_the_most_logged_metrics(
    client, member, experiment
):
    runs = [RunFactory(experiment=experiment, display_name=f"r{i}") for i in range(5)]
    for i, run in enumerate(runs):
        _log(run, "loss", [float(i)])
        if i < 2:
            _log(run, "rare", [1.0])
    client.force_login(member)
    body = client.get("/runs/", {"sort": "metric:last:loss", "top": "3"}).content.decode()
    config = _panels_config(body)
    assert [r["label"] for r in config["runs"]] == ["r0", "r1", "r2"]
    assert config["panels"] == ["loss", "rare"] and config["endpoint"] == URL
    old_link = client.get("/runs/", {"chart": "metric:max:rare"}).content.decode()
    assert _panels_config(old_link)["panels"] == ["rare"]
    experiment_page = client.get(
        f"/experiments/{experiment.name}/", {"chart": "metric:max:rare"}
    ).content.decode()
    assert _panels_config(experiment_page)["panels"] == ["loss", "rare"]
