"""Chart figures as data (studio/web/charts.py): pure functions, no database."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from django.http import QueryDict

from studio.web.charts import (
    ChartOptions,
    Series,
    color,
    metric_figure,
    overlay_figure,
    smooth,
)

RAW = {
    "reduced": False,
    "steps": np.array([0, 1, 2]),
    "values": np.array([3.0, float("nan"), 1.0]),
    "times": np.array([1_750_000_000.0, 1_750_000_001.0, 1_750_000_002.0]),
    "total": 3,
}
REDUCED = {
    "reduced": True,
    "step_lo": np.array([0.0, 100.0]),
    "step_hi": np.array([99.0, 199.0]),
    "min": np.array([0.5, -1.0]),
    "max": np.array([2.5, 100.0]),
    "total": 200,
}


def test_raw_points_are_drawn_as_they_are_with_gaps_for_nan():
    fig = metric_figure("loss", Series("run", color(0), RAW), ChartOptions())
    (line,) = fig["data"]
    assert line["x"] == [0.0, 1.0, 2.0] and line["y"] == [3.0, None, 1.0]
    assert line["customdata"][0] == [0, "2025-06-15 15:06:40 UTC"]
    assert fig["reduced"] is False
    json.dumps(fig, allow_nan=False)  # valid JSON for a browser


def test_a_reduced_series_keeps_every_peak_in_a_min_max_band():
    fig = metric_figure("loss", Series("run", color(0), REDUCED), ChartOptions())
    upper, lower, line = fig["data"]
    assert upper["y"] == [2.5, 100.0] and lower["y"] == [0.5, -1.0]
    assert lower["fill"] == "tonexty" and upper["line"]["width"] == 0
    assert upper["x"] == [49.5, 149.5]
    assert line["y"] == [1.5, 49.5]
    assert fig["reduced"] is True and fig["total"] == 200


def test_time_on_the_x_axis_is_a_date_axis_in_milliseconds():
    fig = metric_figure("loss", Series("run", color(0), RAW), ChartOptions(x="time"))
    assert fig["layout"]["xaxis"]["type"] == "date"
    assert fig["data"][0]["x"][0] == 1_750_000_000_000.0
    reduced = Series("run", color(0), REDUCED, times=np.array([10.0, 20.0]))
    assert metric_figure("l", reduced, ChartOptions(x="time"))["data"][0]["x"] == [
        10_000.0,
        20_000.0,
    ]


def test_log_scale_and_smoothing():
    fig = metric_figure(
        "loss", Series("run", color(0), RAW), ChartOptions(smoothing=0.5, log_y=True)
    )
    assert fig["layout"]["yaxis"]["type"] == "log"
    faint, smoothed = fig["data"]
    assert faint["opacity"] == 0.3 and faint["y"] == [3.0, None, 1.0]
    assert smoothed["y"][0] == pytest.approx(3.0)  # debiased: the first point is itself
    assert smoothed["y"][1] is None
    assert smoothed["y"][2] == pytest.approx((0.5 * 0.5 * 3 + 0.5 * 1) / (1 - 0.25))


def test_smoothing_of_a_constant_is_that_constant():
    assert smooth([2.0] * 5, 0.9) == pytest.approx([2.0] * 5)
    assert smooth([1.0, 2.0], 0) == [1.0, 2.0]


def test_overlay_gives_each_run_its_colour_and_legend_group():
    fig = overlay_figure(
        "loss",
        [Series("a", color(0), RAW), Series("b", color(1), REDUCED)],
        ChartOptions(),
    )
    groups = [t["legendgroup"] for t in fig["data"]]
    assert groups == ["run0", "run1", "run1", "run1"]
    assert fig["layout"]["showlegend"] is True
    assert fig["reduced"] is True and fig["total"] == 203
    assert [t["name"] for t in fig["data"] if t.get("showlegend", True)] == ["a", "b"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ChartOptions()),
        ("x=time&smooth=0.6&log=1", ChartOptions(x="time", smoothing=0.6, log_y=True)),
        ("x=evil&smooth=nan&log=yes", ChartOptions()),
        ("smooth=5", ChartOptions(smoothing=0.99)),
        ("smooth=-1", ChartOptions(smoothing=0.0)),
        ("smooth=inf", ChartOptions()),
    ],
)
def test_options_from_the_url_are_clamped_to_what_exists(query, expected):
    assert ChartOptions.from_query(QueryDict(query)) == expected


def test_colours_repeat_after_the_palette():
    assert color(0) == color(10) and color(0) != color(1)
    assert all(not math.isnan(int(color(i)[1:], 16)) for i in range(10))
