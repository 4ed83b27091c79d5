"""``GET /api/v1/runs/<id>/metrics/history?name=``: every point of one series, as JSON
by default and as three ``.npy`` columns when ``Accept`` asks for
``application/x-npy``; both carry the same points, non-finite values and int steps
exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from studio.api.base import JSON
from studio.rules import jsoncodec, seriescodec
from studio.tracking import services
from tests.api.conftest import post

NPY = seriescodec.MEDIA_TYPE
T = 1_750_000_000.5
STEPS = [0, 1, 2**53 + 1, 2**62, 7]  # beyond float64's exact integers, out of order
VALUES = [0.1, math.nan, math.inf, -math.inf, -0.0]
TIMES = [1_750_000_000.125, 1_750_000_001.0, 1_750_000_002.5, 1_750_000_003.0, 1_750_000_004.0]


@pytest.fixture
def logged(owner, run):
    body = {
        "batch_id": "b1",
        "series": [
            {"name": "loss", "steps": STEPS, "values": VALUES, "times": TIMES},
            {"name": "epoch", "steps": [0, 1], "values": [3, 4], "times": TIMES[:2]},
            {"name": "phase", "steps": [0, 1], "values": ["warm", "hot"], "times": TIMES[:2]},
        ],
        "records": [{"name": "row", "kind": "row", "data": {"a": 1}}],
    }
    response = post(owner.api, f"/api/v1/runs/{run.run_id}/metrics", jsoncodec.dumps(body))
    assert response.status_code == 200, response.content
    return run


def history(owner, run, name, accept=None):
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    return owner.api.get(f"/api/v1/runs/{run.run_id}/metrics/history", {"name": name}, **headers)


def same_floats(got, want) -> bool:
    """Bit for bit: NaN is NaN, -0.0 is not 0.0."""
    return np.array_equal(
        np.asarray(got, np.float64).view(np.int64), np.asarray(want, np.float64).view(np.int64)
    )


def test_binary_and_json_answer_the_same_points_exactly(owner, logged):
    as_json = history(owner, logged, "loss")
    as_npy = history(owner, logged, "loss", accept=NPY)
    assert as_json["Content-Type"].startswith(JSON) and as_npy["Content-Type"] == NPY
    assert "Accept" in as_json["Vary"] and "Accept" in as_npy["Vary"]
    body = jsoncodec.loads(as_json.content)
    steps, values, times = seriescodec.decode(as_npy.content)
    assert body["name"] == "loss"
    assert body["steps"] == STEPS and steps.dtype == np.int64 and steps.tolist() == STEPS
    assert same_floats(body["values"], VALUES) and values.dtype == np.float64
    assert same_floats(values, VALUES)
    assert body["times"] == TIMES and times.tolist() == TIMES


def test_values_logged_as_ints_stay_ints_in_both(owner, logged):
    body = jsoncodec.loads(history(owner, logged, "epoch").content)
    _, values, _ = seriescodec.decode(history(owner, logged, "epoch", accept=NPY).content)
    assert body["values"] == [3, 4] and all(type(v) is int for v in body["values"])
    assert values.dtype == np.int64 and values.tolist() == [3, 4]


@pytest.mark.parametrize(
    "accept, wanted",
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("text/html", JSON),
        ("no such ;;; thing", JSON),
        (f"{NPY};q=bad", JSON),
        (f"{NPY};q=0", JSON),
        (f"{NPY};q=0.4, application/json;q=0.9", JSON),
        (f"{NPY}, application/json;q=0.5", NPY),
        (f"application/json;q=0.5, {NPY.upper()}", NPY),
        (f"text/html, {NPY};q=0.1", NPY),
    ],
)
def test_accept_is_negotiated_and_anything_else_gets_json(owner, logged, accept, wanted):
    response = history(owner, logged, "loss", accept=accept)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == wanted


def test_a_text_series_answers_json_even_when_binary_is_asked_for(owner, logged):
    response = history(owner, logged, "phase", accept=NPY)
    assert response["Content-Type"].startswith(JSON)
    assert jsoncodec.loads(response.content)["values"] == ["warm", "hot"]


def test_unknown_names_and_other_kinds_are_clear_errors(owner, logged):
    missing = history(owner, logged, "nope", accept=NPY)
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "name"
    row = history(owner, logged, "row")
    assert row.status_code == 400 and "get_metrics()" in row.json()["error"]["message"]
    no_name = owner.api.get(f"/api/v1/runs/{logged.run_id}/metrics/history")
    assert no_name.status_code == 400 and no_name.json()["error"]["field"] == "name"


def test_outsiders_read_nothing(outsider, logged):
    assert history(outsider, logged, "loss", accept=NPY).status_code == 404
    # without a name too: access is checked before the parameters
    assert outsider.api.get(f"/api/v1/runs/{logged.run_id}/metrics/history").status_code == 404


def test_a_long_series_crosses_in_binary_unchanged(owner, run):
    n = 250_000  # several chunks
    steps = np.arange(n, dtype=np.int64) * 3
    values = np.sin(np.arange(n, dtype=np.float64))
    values[::1000] = np.nan
    services.metric_log_batch(
        run=run,
        batch_id="long",
        series=[
            {"name": "s", "steps": steps.tolist(), "values": values.tolist(), "times": [T] * n}
        ],  # fmt: skip
        records=[],
    )
    got_steps, got_values, got_times = seriescodec.decode(history(owner, run, "s", NPY).content)
    assert np.array_equal(got_steps, steps) and same_floats(got_values, values)
    assert np.all(got_times == T)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not npy at all",
        seriescodec.encode(np.arange(3), np.zeros(3), np.zeros(3))[:-4],  # cut short
        seriescodec.encode(np.arange(3), np.zeros(3), np.zeros(3)) + b"x",  # trailing bytes
        seriescodec.encode(np.arange(3), np.zeros(2), np.zeros(3)),  # lengths differ
    ],
)
def test_a_bad_binary_body_is_refused_when_decoded(body):
    from studio.errors import ValidationError

    with pytest.raises(ValidationError):
        seriescodec.decode(body)
