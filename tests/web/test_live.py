"""The live event streams of the list and run pages (Server-Sent Events): resuming
with Last-Event-ID, the per-user bound, access, and delivery through the ASGI app."""

from __future__ import annotations

import json
import threading
import time

import pytest
from asgiref.sync import async_to_sync

from studio.tracking import live as feed
from studio.tracking import services
from studio.web import live
from tests.web.listing_helpers import log_metric, make_run


@pytest.fixture(autouse=True)
def _short_streams(settings):
    settings.STUDIO_LIVE_LIFETIME_SECONDS = 0.3


def _events(body: str) -> list[tuple[str | None, str, dict]]:
    """(id, event, data) of each event in an SSE body (comments left out)."""
    out, last_id = [], None
    for block in body.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        last_id = fields.get("id", last_id)
        if "data" in fields:
            out.append((last_id, fields["event"], json.loads(fields["data"])))
    return out


def _read(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/event-stream"
    return b"".join(response.streaming_content).decode()


def test_a_list_stream_resumes_after_the_last_event_id(client, member, experiment):
    run = make_run(experiment, "going")
    log_metric(run, "loss", 0.9)
    seen = feed.cursor()
    log_metric(run, "loss", 0.5, 0.4)
    services.run_complete(run=run)
    client.force_login(member)

    body = _read(client.get(f"/live/runs/?run={run.run_id}", headers={"last-event-id": str(seen)}))

    events = _events(body)
    assert [e[1] for e in events] == ["points", "run"]
    points, status = events[0][2], events[1][2]
    assert (points["run_id"], points["name"], points["values"]) == (run.run_id, "loss", [0.5, 0.4])
    assert points["last"] == 0.4 and points["min"] == 0.4
    assert status["status"] == "Completed" and not status["active"]
    assert 'class="status status-completed"' in status["status_html"]
    assert int(events[-1][0]) == feed.cursor()  # the id: where the page resumes next


def test_the_since_of_the_page_is_where_a_first_connection_starts(client, member, experiment):
    run = make_run(experiment, "going")
    client.force_login(member)
    page = client.get("/runs/").content.decode()
    since = page.split("since=")[1].split('"')[0]
    log_metric(run, "acc", 0.7)
    make_run(experiment, "new one")

    events = _events(_read(client.get(f"/live/runs/?since={since}&run={run.run_id}")))

    assert [(e[1], e[2]["run_id"]) for e in events][0] == ("points", run.run_id)
    assert [e[1] for e in events][1:] == ["new-run"]


def test_the_run_page_stream_sends_that_run_only(client, member, experiment):
    run, other = make_run(experiment, "a"), make_run(experiment, "b")
    client.force_login(member)
    assert (
        f'data-live-url="/runs/{run.run_id}/live/?since='
        in client.get(f"/runs/{run.run_id}/").content.decode()
    )
    log_metric(other, "loss", 1.0)
    log_metric(run, "loss", 2.0)
    services.run_live_log_append(run=run, offset=0, data=b"hello\n")

    events = _events(_read(client.get(f"/runs/{run.run_id}/live/?since=0")))

    assert {e[2]["run_id"] for e in events} == {run.run_id}
    assert [e[1] for e in events] == ["points", "log"]
    assert events[1][2]["size"] == 6


def test_another_workspaces_runs_are_never_sent(client, outsider, member, experiment):
    ours = make_run(experiment, "ours")
    log_metric(ours, "loss", 1.0)
    make_run(experiment, "new in default")
    client.force_login(outsider)

    assert client.get(f"/runs/{ours.run_id}/live/").status_code == 404
    assert client.get("/live/runs/?ws=default").status_code == 404
    # Naming a run of "default" from their own workspace's list: it is left out.
    events = _events(_read(client.get(f"/live/runs/?since=0&run={ours.run_id}")))
    assert events == []


def test_a_user_holds_at_most_max_streams_open(client, member, experiment, settings):
    settings.STUDIO_LIVE_MAX_STREAMS = 2
    client.force_login(member)
    first, second = client.get("/live/runs/"), client.get("/live/runs/")
    assert (first.status_code, second.status_code) == (200, 200)

    refused = client.get("/live/runs/")
    assert refused.status_code == 429
    assert "At most 2" in refused.content.decode()

    _read(first)  # a stream that ended (its lifetime) is let go
    third = client.get("/live/runs/")
    assert third.status_code == 200
    _read(second), _read(third)


@pytest.mark.parametrize(
    ("url", "header"),
    [
        ("/live/runs/?since=abc", {}),
        ("/live/runs/?since=-1", {}),
        ("/live/runs/", {"last-event-id": "1e9"}),
        ("/live/runs/?" + "&".join(f"run=r{i}" for i in range(live.MAX_RUNS + 1)), {}),
    ],
)
def test_bad_cursors_and_too_many_runs_are_a_400(client, member, url, header):
    client.force_login(member)
    response = client.get(url, headers=header)
    assert response.status_code == 400
    assert response.content


def test_a_long_series_is_cut_to_the_event_size_and_says_so(experiment):
    run = make_run(experiment, "a")
    log_metric(run, "loss", *[i / 7 for i in range(1000)])
    change = feed.backfill(
        feed.Subscription(
            owner=1,
            workspace_ids=frozenset({run.workspace_id}),
            runs=frozenset({run.pk}),
            scope=None,
            since=0,
            sink=feed.ThreadSink(),
        ),
        0,
    )[-1]
    original = live.MAX_EVENT_BYTES
    try:
        live.MAX_EVENT_BYTES = 4096
        (_, name, data), *_ = _events(live.wire(change))
    finally:
        live.MAX_EVENT_BYTES = original
    assert name == "points" and data["truncated"] is True
    assert 0 < len(data["steps"]) < 1000 and data["steps"][-1] == 999


def test_the_asgi_app_delivers_a_logged_value_while_the_stream_is_open(
    async_client, transactional_db, settings, django_user_model
):
    """The production path: an async stream fed by the process's poller thread, with
    the value logged by another thread while the stream is open."""
    from tests.factories import ExperimentFactory, MembershipFactory, WorkspaceFactory

    settings.STUDIO_LIVE_LIFETIME_SECONDS = 10
    workspace = WorkspaceFactory(name="default")
    user = MembershipFactory(user__username="bob", workspace=workspace, role="contributor").user
    run = make_run(ExperimentFactory(workspace=workspace, name="e"), "going")

    async def scenario():
        await async_client.aforce_login(user)
        response = await async_client.get(f"/runs/{run.run_id}/live/")
        assert response.status_code == 200
        logged = {}

        def log_later():
            time.sleep(0.3)
            logged["at"] = time.monotonic()
            log_metric(run, "loss", 0.125)

        writer = threading.Thread(target=log_later)
        writer.start()
        text = ""
        async for chunk in response.streaming_content:
            text += chunk.decode()
            if "event: points" in text and "id: " in text.split("event: points", 1)[1]:
                break
        received = time.monotonic()
        writer.join()
        await response.streaming_content.aclose()  # the stream ends: the hub lets it go
        return text, received - logged["at"]

    text, _latency = async_to_sync(scenario)()
    deadline = time.monotonic() + 5
    while feed.HUB.running and time.monotonic() < deadline:
        time.sleep(0.05)  # the poller stops (and closes its connection) after the last stream
    (_, name, data), *_ = _events(text)
    assert (name, data["run_id"], data["values"]) == ("points", run.run_id, [0.125])
    assert text.rstrip().endswith(f"id: {feed.cursor()}")  # the change's id, after its events
