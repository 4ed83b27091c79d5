"""The metric buffer (``studio.sdk.buffer``): what it hands the store keeps each
series' points in the order they were logged, records in order, and a batch that
fails midway is sent again under the same ids, so the store keeps it once."""

import threading

import pytest

from studio.errors import RunTerminal
from studio.sdk import buffer as buffer_module
from studio.sdk.buffer import MetricBuffer


class Store:
    """Keeps what it is sent by part id, as the real stores do: an id sent again is
    not stored twice. ``fail`` lists call numbers that raise (a lost connection)."""

    def __init__(self, fail=(), refuse=()):
        self.calls = 0
        self.fail, self.refuse = set(fail), set(refuse)
        self.stored: dict[str, tuple[list, list]] = {}
        self.sent_ids: list[str] = []

    def log_batch(self, run_id, batch_id, series, records):
        self.calls += 1
        self.sent_ids.append(batch_id)
        if self.calls in self.refuse:
            raise RunTerminal("Run r is Completed; it no longer accepts metrics.")
        if self.calls in self.fail:
            raise ConnectionError("lost")
        if batch_id not in self.stored:
            self.stored[batch_id] = (series, records)
        return {"batch_id": batch_id}

    def series(self) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {}
        for series, _ in self.stored.values():
            for s in series:
                out.setdefault(s["name"], []).extend(
                    zip(s["steps"], s["values"], s["times"], strict=True)
                )
        return out

    def records(self) -> list[dict]:
        return [r for _, records in self.stored.values() for r in records]


def _point(name, i):
    return ("s", name, None if i % 3 else i, float(i), 1.8e9 + i)


def test_interleaved_series_keep_their_order_and_come_in_first_logged_order():
    buf = MetricBuffer(Store(), "r")
    for i in range(300):
        for name in ("zeta", "alpha", "mid"):
            buf.add(_point(name, i))
    batch_id, series, records = buf._take()
    assert [s["name"] for s in series] == ["zeta", "alpha", "mid"]
    for s in series:
        assert s["values"] == [float(i) for i in range(300)]
        assert s["steps"] == [None if i % 3 else i for i in range(300)]
        assert s["times"] == [1.8e9 + i for i in range(300)]
    assert records == [] and not buf.items and len(batch_id) == 32


def test_records_among_points_keep_their_order_and_the_points_theirs():
    buf = MetricBuffer(Store(), "r")
    buf.add(_point("loss", 0))
    buf.add(("r", "epochs", "row", {"epoch": [1]}, None))
    buf.add(_point("acc", 0))
    buf.add(_point("loss", 1))
    buf.add(("r", "epochs", "row", {"epoch": [2]}, None))
    buf.add(("r", "labels", "list", ["a"], None))
    _, series, records = buf._take()
    assert [(s["name"], s["values"]) for s in series] == [("loss", [0.0, 1.0]), ("acc", [0.0])]
    assert [r["data"] for r in records] == [{"epoch": [1]}, {"epoch": [2]}, ["a"]]


def test_a_batch_takes_at_most_max_batch_items_and_leaves_the_rest_in_order(monkeypatch):
    monkeypatch.setattr(buffer_module, "MAX_BATCH", 7)
    buf = MetricBuffer(Store(), "r")
    for i in range(10):
        buf.add(_point("loss", i))
    _, first, _ = buf._take()
    _, second, _ = buf._take()
    assert first[0]["values"] == [float(i) for i in range(7)]
    assert second[0]["values"] == [7.0, 8.0, 9.0]


def test_points_logged_while_batches_are_sent_are_all_sent_once_in_order():
    store = Store()
    buf = MetricBuffer(store, "r")
    done = threading.Event()

    def sender():
        while not done.is_set():
            buf.flush_some()

    thread = threading.Thread(target=sender)
    thread.start()
    try:
        for i in range(20_000):
            buf.add(("s", "loss", i, float(i), 1.8e9))
            buf.add(("s", "acc", i, -float(i), 1.8e9))
    finally:
        done.set()
        thread.join()
    buf.flush()
    got = store.series()
    assert [p[0] for p in got["loss"]] == list(range(20_000))
    assert [p[1] for p in got["acc"]] == [-float(i) for i in range(20_000)]


def test_a_part_that_fails_midway_is_resent_with_its_id_and_stored_once(monkeypatch):
    monkeypatch.setattr(buffer_module, "RETRY_DELAYS", (0.0,) * 6)
    store = Store(fail={2})  # the second part's first attempt is lost
    buf = MetricBuffer(store, "r")
    names = [f"m{i:04d}" for i in range(2500)]  # 2,500 series: three parts of <= 1,000
    for step in range(2):
        for name in names:
            buf.add(("s", name, step, float(step), 1.8e9))
    buf.flush()
    # Attempt 1 sent parts 0 and 1 (lost); attempt 2 sent all three again, same ids.
    batch = store.sent_ids[0].split("-")[0]
    assert store.sent_ids == [f"{batch}-{i}" for i in (0, 1, 0, 1, 2)]
    got = store.series()
    assert sorted(got) == names
    assert all([p[:2] for p in points] == [(0, 0.0), (1, 1.0)] for points in got.values())


def test_a_refused_batch_surfaces_at_flush_and_later_points_still_go():
    store = Store(refuse={1})
    buf = MetricBuffer(store, "r")
    buf.add(("s", "loss", 0, 0.0, 1.8e9))
    with pytest.raises(RunTerminal):
        buf.flush()
    buf.add(("s", "loss", 1, 1.0, 1.8e9))
    buf.flush()
    assert store.series() == {"loss": [(1, 1.0, 1.8e9)]}


def test_interleaved_series_and_records_read_back_in_order_on_every_store(ws, sdk):
    run = sdk.Experiment(workspace=ws, name="buffer").start_logging()
    for i in range(3000):
        run.log("b", i * 2.0)
        run.log("a", -float(i), step=10 * i)
        if i % 1000 == 0:
            run.log_row("marks", at=i)
    run.flush()
    b, a = run.get_metric_history("b"), run.get_metric_history("a")
    assert b["steps"].tolist() == list(range(3000))
    assert b["values"].tolist() == [i * 2.0 for i in range(3000)]
    assert a["steps"].tolist() == [10 * i for i in range(3000)]
    assert a["values"].tolist() == [-float(i) for i in range(3000)]
    assert run.get_metrics(name="marks") == {"marks": {"at": [0, 1000, 2000]}}
    run.complete()
