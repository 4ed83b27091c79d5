"""The REST store when the server is away (docs/requirements.md G5): logging goes on into a
spool on disk and is delivered when the server is back; nothing lost, nothing
duplicated, the training loop never raises."""

import httpx
import pytest

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


def test_a_spooled_batch_is_delivered_by_the_next_store_that_starts(
    rest_workspace, sdk, monkeypatch
):
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


# --- whose batches a process sends (attack review item 3) ---------------------------

LOG_WHILE_AWAY = """
import sys, httpx
from studio.sdk import Experiment, Workspace
ws = Workspace(name=sys.argv[2], tracking_uri=sys.argv[1])
run = Experiment(ws, "spooled").start_logging()
print(run.id, flush=True)
ws._store.client.base_url = httpx.URL("http://127.0.0.1:9/api/v1/")  # the studio is away
for i in range(200):
    run.log("loss", float(i))
run.flush()
"""
START = """
import sys
from studio.sdk import Workspace
Workspace(name=sys.argv[2], tracking_uri=sys.argv[1])  # a store drains the spool as it starts
"""


def _sdk_process(code, url, workspace, token, home):
    import subprocess

    from tests.conftest import PYTHON, ROOT

    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "STUDIO_HOME": str(home)}
    env["STUDIO_TOKEN"] = token
    return subprocess.run(
        [PYTHON, "-c", code, url, workspace],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _spooled(home):
    return sorted(p.name for p in (home / "spool").rglob("*.json"))


def _stored(run_id):
    return selectors.metric_series(run=selectors.run_get(run_id=run_id), name="loss")[1].tolist()


@pytest.fixture
def bob_secret(django_user_model, transactional_db):
    """bob, owner of his own workspace, with his own token."""
    from studio.accounts.models import Role
    from studio.accounts.services import membership_add, token_create
    from studio.tracking import services

    bob = django_user_model.objects.create_user(username="bob", password="pw-bob")
    workspace = services.workspace_get_or_create(name="bobs")
    membership_add(user=bob, workspace=workspace, role=Role.OWNER)
    return token_create(user=bob, name="tests")[1]


def test_a_process_with_another_token_leaves_spooled_batches_alone(
    live_server, api_user, bob_secret, tmp_path
):
    home = tmp_path / "home"
    alice = _sdk_process(LOG_WHILE_AWAY, live_server.url, "default", api_user.secret, home)
    run_id = alice.stdout.split()[0]
    spooled = _spooled(home)
    assert spooled, "alice's points went to the spool"

    bob = _sdk_process(START, live_server.url, "bobs", bob_secret, home)

    assert _spooled(home) == spooled  # neither sent with bob's token nor deleted
    assert "refused" not in bob.stderr
    assert _stored(run_id) == []
    _sdk_process(START, live_server.url, "default", api_user.secret, home)
    assert _stored(run_id) == [float(i) for i in range(200)]
    assert _spooled(home) == []


def test_a_spooled_batch_the_studio_refuses_is_kept_and_reported(live_server, api_user, tmp_path):
    from studio.tracking import services

    home = tmp_path / "home"
    alice = _sdk_process(LOG_WHILE_AWAY, live_server.url, "default", api_user.secret, home)
    run_id = alice.stdout.split()[0]
    services.run_complete(run=selectors.run_get(run_id=run_id))  # it takes no more metrics

    again = _sdk_process(START, live_server.url, "default", api_user.secret, home)

    assert f"refused 200 spooled points of run {run_id}" in again.stderr
    kept = list((home / "spool").glob("*/refused/*/*.json"))
    assert len(kept) == 1 and not list((home / "spool").glob("*/runs/*/*.json"))
    assert '"token_sha256"' in kept[0].read_text() and api_user.secret not in kept[0].read_text()
    assert _stored(run_id) == []
    _sdk_process(START, live_server.url, "default", api_user.secret, home)
    assert len(list((home / "spool").glob("*/refused/*/*.json"))) == 1  # not sent again
