"""Packed columns in a metric batch (``{"$f8": base64}``, ``{"$i8": base64}``): what the
SDK sends for long columns of numbers, stored exactly as the same points sent as JSON
lists; anything malformed is a 400 naming the column, and nothing is stored."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from studio.rules import seriescodec
from studio.tracking import selectors
from tests.api.conftest import post
from tests.api.test_reliability import T0, assert_error, metrics_url, nothing_logged


def b64(array: np.ndarray) -> str:
    return base64.b64encode(array.tobytes()).decode()


def packed_batch(steps, values, times, batch_id="p1"):
    return {"batch_id": batch_id, "series": [
        {"name": "loss", "steps": steps, "values": values, "times": times}]}  # fmt: skip


def test_packed_columns_round_trip_nan_infinities_and_int_steps(owner, run):
    values = np.array([0.5, np.nan, np.inf, -np.inf, 1e-300, -0.0] * 10)
    steps = np.arange(60, dtype=np.int64) * 3
    times = T0 + np.arange(60) / 7
    body = packed_batch({"$i8": b64(steps)}, {"$f8": b64(values)}, {"$f8": b64(times)})
    answer = post(owner.api, metrics_url(run), body)
    assert answer.status_code == 200, answer.content
    assert answer.json()["stored"] == 60
    got_steps, got_values, got_times = selectors.metric_series(run=run, name="loss")
    assert got_steps.tolist() == steps.tolist()
    np.testing.assert_array_equal(got_values, values)  # NaN where NaN, the infinities kept
    assert np.signbit(got_values[5]) and got_times.tolist() == times.tolist()


def test_packed_int_values_read_back_as_ints(owner, run):
    values = np.arange(40, dtype=np.int64) - 7
    body = packed_batch(list(range(40)), {"$i8": b64(values)}, [T0] * 40)
    assert post(owner.api, metrics_url(run), body).status_code == 200
    history = owner.api.get(f"{metrics_url(run)}?name=loss").json()["metrics"]["loss"]
    assert history == values.tolist() and all(type(v) is int for v in history)


def test_packed_and_listed_columns_mix_in_one_series(owner, run):
    body = packed_batch({"$i8": b64(np.arange(3, dtype=np.int64))}, [1.0, 2.0, 3.0], [T0] * 3)
    assert post(owner.api, metrics_url(run), body).status_code == 200
    assert selectors.metric_series(run=run, name="loss")[1].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("column", "packed", "words"),
    [
        ("values", {"$f4": b64(np.zeros(3, np.float32))}, "must be a list or one of"),
        ("values", {"$f8": "not base64!"}, "not valid base64"),
        ("values", {"$f8": base64.b64encode(b"12345").decode()}, "8-byte items"),
        ("values", {"$f8": b64(np.zeros(3)), "$i8": b64(np.zeros(3, np.int64))}, "one of"),
        ("steps", {"$i8": b64(np.array([0, -5, 1], np.int64))}, "must not be negative"),
        ("steps", {"$f8": b64(np.zeros(3))}, "must be an integer"),
        ("times", {"$f8": b64(np.array([T0, np.nan, T0]))}, "between 2000 and 2100"),
        ("values", {"$f8": b64(np.zeros(2))}, "same length"),
    ],
)
def test_malformed_packed_columns_are_400_and_store_nothing(owner, run, column, packed, words):
    body = packed_batch([0, 1, 2], [0.5, 0.5, 0.5], [T0] * 3)
    body["series"][0][column] = packed
    error = assert_error(post(owner.api, metrics_url(run), body), 400)
    assert words in error["message"], error
    assert nothing_logged(run)


def test_a_packed_column_longer_than_a_batch_may_be_is_refused_before_decoding(monkeypatch):
    from studio.errors import ValidationError

    text = b64(np.zeros(11))
    with pytest.raises(ValidationError, match="more than 10 items"):
        seriescodec.unpack({"$f8": text}, "values", 10)
    assert seriescodec.unpack({"$f8": b64(np.zeros(10))}, "values", 10).shape == (10,)


def test_pack_list_packs_long_number_columns_only():
    assert seriescodec.pack_list([1.0] * 5) == [1.0] * 5  # short: a list
    assert set(seriescodec.pack_list(list(range(40)))) == {"$i8"}
    assert set(seriescodec.pack_list([1, 2.5] * 20)) == {"$f8"}
    for unchanged in (["a"] * 40, [None, 1] * 20, [True] * 40, [2**70] * 40):
        assert seriescodec.pack_list(unchanged) == unchanged
    assert (
        seriescodec.unpack(seriescodec.pack_list([0.5] * 1001), "v", 1001).tolist() == [0.5] * 1001
    )


def test_the_rest_store_sends_long_columns_packed_and_they_read_back_exactly(
    rest_workspace, sdk, monkeypatch
):
    store = rest_workspace._store
    sent: list[dict] = []
    call = store._call

    def recording(method, path, **kwargs):
        if path.endswith("/metrics") and method == "POST":
            sent.append(kwargs["json_body"])
        return call(method, path, **kwargs)

    monkeypatch.setattr(store, "_call", recording)
    run = sdk.Experiment(rest_workspace, "packed").start_logging(outputs=False)
    values = [float(i) / 3 for i in range(500)] + [float("nan")]
    for v in values:
        run.log("loss", v)
    for i in range(100):
        run.log("count", i)
    run.flush()
    history = store.get_metric_history(run.id, "loss")
    assert history["steps"].tolist() == list(range(501))
    np.testing.assert_array_equal(history["values"], np.array(values))
    assert run.get_metrics(name="count")["count"] == list(range(100))  # ints stay ints
    columns = [s["values"] for body in sent for s in body["series"]]
    assert columns and all(isinstance(c, dict) for c in columns)
    run.complete()


# --- the body parser's overflow check ----------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16", "utf-32", "utf-8-sig"])
def test_an_overflowing_number_is_refused_in_every_encoding_json_allows(encoding):
    from studio.errors import ValidationError
    from studio.rules import jsoncodec

    with pytest.raises(ValidationError, match="too large for a float"):
        jsoncodec.loads('{"values": [0.5, 1e999]}'.encode(encoding))
    assert jsoncodec.loads('{"values": [0.5, 2e10]}'.encode(encoding)) == {"values": [0.5, 2e10]}


# --- clients talking to a studio older than packed columns ---------------------------------


def test_the_rest_store_falls_back_to_lists_for_a_server_that_refuses_packed_columns(
    rest_workspace, sdk, monkeypatch
):
    from studio.errors import ValidationError

    store = rest_workspace._store
    call = store._call
    sent: list[str] = []

    def older_server(method, path, **kwargs):
        body = kwargs.get("json_body")
        if path.endswith("/metrics") and method == "POST":
            packed = any(isinstance(s["values"], dict) for s in body["series"])
            sent.append("packed" if packed else "lists")
            if packed:
                raise ValidationError("series.0.values: Input should be a valid list")
        return call(method, path, **kwargs)

    monkeypatch.setattr(store, "_call", older_server)
    run = sdk.Experiment(rest_workspace, "older").start_logging(outputs=False)
    for batch in range(2):
        for i in range(100):
            run.log("loss", batch * 100 + i + 0.5)
        run.flush()
    assert sent == ["packed", "lists", "lists"]  # it learned once, then sent lists
    assert store.get_metric_history(run.id, "loss")["values"].tolist() == [
        i + 0.5 for i in range(200)
    ]
    run.complete()


def test_a_batch_refused_packed_and_as_lists_raises_the_first_refusal(rest_workspace, sdk):
    from studio.errors import ValidationError

    store = rest_workspace._store
    run = store.create_run(rest_workspace.name, "bad")
    series = [
        {"name": "loss", "steps": list(range(40)), "values": [0.5] * 40, "times": [1.0] * 40}
    ]  # fmt: skip  (times before 2000: refused)
    with pytest.raises(ValidationError, match="between 2000 and 2100"):
        store.log_batch(run["id"], "b1", series, [])
    assert store.pack_columns is True  # a bad batch says nothing about the server
