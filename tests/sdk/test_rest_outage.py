"""A server outage longer than the lease (attack-review item 6, RELIABILITY G5):
while the server is down nobody can heartbeat through it, so when it is back every
live run looks lost. The reaper judges heartbeats only over a time it was itself
watching (``tracking.services.liveness``): live runs keep running and every point
they log is stored; a run whose process really died is still marked lost."""

import os
import signal
import subprocess
import sys
import time

import httpx

from studio.sdk import buffer
from tests.figures import report

LEASE = 2  # seconds: the outage below lasts 2.5 leases

DIES = """
import sys, time
import studio.sdk as sdk
ws = sdk.Workspace(name="default", tracking_uri=sys.argv[1])
run = sdk.Experiment(ws, "outage").start_logging()
print(run.id, flush=True)
time.sleep(600)
"""


def _log_for(run, seconds: float, start: int) -> int:
    """Log one point every 20 ms for ``seconds``, as a training loop would; return
    the next step."""
    step, deadline = start, time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.log("loss", float(step))
        step += 1
        time.sleep(0.02)
    return step


def _status(run, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while (status := run.get_status()) not in ("Failed", "Completed") and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    return status


def test_after_a_server_outage_longer_than_the_lease_live_runs_keep_every_point(
    rest_workspace, sdk, live_server, api_user, client, settings, monkeypatch
):
    settings.STUDIO_RUN_LEASE_SECONDS = LEASE
    monkeypatch.setattr(buffer, "HEARTBEAT_INTERVAL", LEASE / 4)
    store = rest_workspace._store
    exp = sdk.Experiment(rest_workspace, "outage")
    live = exp.start_logging()
    # A run whose process really dies: another process over HTTP, killed -9.
    env = {**os.environ, "STUDIO_TOKEN": api_user.secret}
    doomed = subprocess.Popen(
        [sys.executable, "-c", DIES, live_server.url], env=env, stdout=subprocess.PIPE, text=True
    )
    dead = sdk.Run(exp, doomed.stdout.readline().strip())
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    step = _log_for(live, LEASE, 0)
    live.flush()

    # The server goes away for 2.5 leases: nothing reaches it, not even heartbeats.
    good_url = store.client.base_url
    store.client.base_url = httpx.URL("http://127.0.0.1:9/api/v1/")  # nothing listens
    step = _log_for(live, 2.5 * LEASE, step)
    store.client.base_url = good_url

    # Back: the first page view does not take the live run for lost.
    client.force_login(api_user)
    page = client.get(f"/runs/{live.id}/").content.decode()
    assert '<span class="status status-running">Running</span>' in page
    step = _log_for(live, 2 * LEASE, step)  # the reaper is judging again by now
    assert live.get_status() == "Running"
    live.complete()

    stored = live.get_metrics("loss")["loss"]
    assert stored == [float(i) for i in range(step)]
    assert live.get_status() == "Completed"
    assert _status(dead, timeout=3 * LEASE) == "Failed"
    assert dead.get_details()["error"]["code"] == "lost"
    report(
        f"outage {2.5 * LEASE:g} s > lease {LEASE} s | sent={step} stored={len(stored)} "
        f"lost=0 | live run Completed, killed run Failed (lost)",
    )
