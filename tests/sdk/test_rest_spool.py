"""The REST store when the server is away (docs/requirements.md G5): logging goes on into a
spool on disk and is delivered when the server is back; nothing lost, nothing
duplicated, the training loop never raises."""

import httpx

from studio.tracking import selectors


def _break(store):
    store.client.base_url = httpx.URL("http://127.0.0.1:9/api/v1/")  # nothing listens


def test_points_logged_while_the_server_is_away_arrive_once_it_is_back(rest_workspace, sdk):
    exp = sdk.Experiment(rest_workspace, "offline")
    run = exp.start_logging()
    store = rest_workspace._store
    good_url = store.client.base_url
    for i in range(100):
        run.log("loss", float(i))
    run.flush()

    _break(store)
    for i in range(100, 5000):
        run.log("loss", float(i))  # never raises, never waits on the network
    run.flush()
    spooled = list(store.spool_root.rglob("*.json"))
    assert spooled, "the batches went to the spool"

    store.client.base_url = good_url
    store.down_until = 0.0
    run.complete()  # delivers the spool first, then completes
    assert not list(store.spool_root.rglob("*.json"))
    stored = selectors.metric_series(run=selectors.run_get(run_id=run.id), name="loss")[1]
    assert stored.tolist() == [float(i) for i in range(5000)]
    assert run.get_status() == "Completed"


def test_a_spooled_batch_is_delivered_by_the_next_store_that_starts(rest_workspace, sdk, monkeypatch):
    exp = sdk.Experiment(rest_workspace, "offline")
    run = exp.start_logging()
    store = rest_workspace._store
    good_url = store.client.base_url
    _break(store)
    for i in range(10):
        run.log("acc", float(i))
    run.flush()
    assert list(store.spool_root.rglob("*.json"))

    from studio.sdk.stores.rest import RestStore

    fresh = RestStore(str(good_url).removesuffix("/api/v1/"))  # drains at start
    assert not list(fresh.spool_root.rglob("*.json"))
    stored = selectors.metric_series(run=selectors.run_get(run_id=run.id), name="acc")[1]
    assert stored.tolist() == [float(i) for i in range(10)]


def test_complete_while_the_server_is_away_says_so(rest_workspace, sdk):
    import pytest

    from studio.errors import Unavailable

    run = sdk.Experiment(rest_workspace, "offline").start_logging()
    run.log("x", 1.0)
    _break(rest_workspace._store)
    with pytest.raises(Unavailable):
        run.complete()
