"""Server-Sent Events for the open list and run pages (``live.js`` is the browser's
side): what each change of the feed (``tracking.live``) looks like on the wire, and
the stream one page holds open.

A stream is bounded: at most ``max_streams()`` per user, events of at most
``MAX_EVENT_BYTES``, a comment every ``HEARTBEAT`` seconds (which also re-checks the
caller's access and carries the cursor as the event id), and a lifetime after which
the browser reconnects and resumes from ``Last-Event-ID``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from types import SimpleNamespace

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from studio.core.templatetags.studio_tags import run_duration
from studio.rules import transitions
from studio.tracking import live
from studio.tracking.models import ChangeKind, Workspace
from studio.web.runlist import columns

HEARTBEAT = 15.0  # seconds between keep-alive comments (and access re-checks)
MAX_EVENT_BYTES = 64 << 10  # one event's data at most; a longer series sends its tail
MAX_RUNS = 100  # runs one list stream follows (the live ones of the page)
RETRY_MS = 1_000  # how soon the browser reconnects after a stream ends


def lifetime() -> float:
    return float(getattr(settings, "STUDIO_LIVE_LIFETIME_SECONDS", 300))


def max_streams() -> int:
    return int(getattr(settings, "STUDIO_LIVE_MAX_STREAMS", 6))


# --- the wire ---------------------------------------------------------------------------


def _event(name: str, data: dict, event_id: int | None = None) -> str:
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {text}\n\n"


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _run_event(change: live.Change) -> dict:
    d = change.data
    run = SimpleNamespace(
        status=d["status"],
        status_reason=d.get("reason", ""),
        started_at=_when(d.get("started_at")),
        ended_at=d.get("ended_at") and _when(d["ended_at"]),
    )
    return {
        "run_id": change.run_id,
        "status": run.status,
        "status_html": str(columns.status_badge(run)),
        "active": run.status not in transitions.TERMINAL,
        "ended_at": d.get("ended_at"),
        "duration": run_duration(run) if run.ended_at else None,
    }


def _points_event(change: live.Change, name: str, series: dict) -> str:
    """One metric's points; the newest that fit in MAX_EVENT_BYTES when not all do."""
    data = {"run_id": change.run_id, "name": name, **series}
    keep = len(series["steps"])
    while True:
        text = _event("points", data)
        if len(text) <= MAX_EVENT_BYTES or keep <= 1:
            return text
        keep //= 2
        data = {
            **data,
            "steps": series["steps"][-keep:],
            "values": series["values"][-keep:],
            "times": series["times"][-keep:],
            "truncated": True,
        }


def wire(change: live.Change) -> str:
    """The SSE text of one change: one event per metric for points; the id (the
    change cursor) rides on the last one, so a page resumes after whole changes."""
    if change.kind == ChangeKind.POINTS:
        parts = [_points_event(change, n, s) for n, s in change.data["series"].items()]
        return "".join(parts) + f"id: {change.id}\n\n"
    if change.kind == ChangeKind.CREATED:
        data = {"run_id": change.run_id, "status": change.data["status"]}
        return _event("new-run", data, change.id)
    if change.kind == ChangeKind.LOG:
        return _event("log", {"run_id": change.run_id, "size": change.data["size"]}, change.id)
    return _event("run", _run_event(change), change.id)


# --- one page's stream -------------------------------------------------------------------


class BadRequest(ValueError):
    pass


def _cursor_param(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:
        raise BadRequest(f"{name} must be a change id (a non-negative integer).")
    return int(value)


def resume_point(request: HttpRequest) -> int | None:
    """Where the page is: the id of the last event it saw (``Last-Event-ID``, sent by
    the browser when it reconnects), else the cursor it was rendered at (``since``)."""
    header = _cursor_param(request.headers.get("Last-Event-ID"), "Last-Event-ID")
    return header if header is not None else _cursor_param(request.GET.get("since"), "since")


@dataclass
class Stream:
    request: HttpRequest
    sub: live.Subscription
    after: int
    missed: list[live.Change] | None = None
    sent: frozenset[int] | set[int] = frozenset()

    def _still_allowed(self) -> bool:
        visible = Workspace.objects.visible_to(self.request.user)
        ids = self.sub.workspace_ids
        return visible.filter(pk__in=ids).count() == len(ids)

    def start(self) -> None:
        """Join the hub first, then read what came after the page's cursor: nothing
        falls between the two (a change both found is sent once). TooMany when the
        caller has max_streams() open already."""
        live.HUB.subscribe(self.sub, limit=max_streams())
        try:
            self.missed = live.backfill(self.sub, self.after)
        except BaseException:
            live.HUB.unsubscribe(self.sub)
            raise
        self.sent = {c.id for c in self.missed or ()}

    def stop(self) -> None:
        live.HUB.unsubscribe(self.sub)

    def _opening(self) -> Iterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        if self.missed is None:
            yield _event("reset", {"reason": "Updates were missed; reload the page."})
            return
        for change in self.missed:
            yield change.formatted(wire)

    def _keepalive(self) -> str:
        return f": keep-alive\nid: {max(self.after, live.HUB.low)}\n\n"

    async def events(self) -> AsyncIterator[str]:
        try:
            for text in self._opening():
                yield text
            if self.missed is None:
                return
            deadline = time.monotonic() + lifetime()
            while (left := deadline - time.monotonic()) > 0:
                item = await self.sub.sink.get(min(HEARTBEAT, left))
                if item is live.CLOSED:
                    return
                if item is None:
                    if not await sync_to_async(self._still_allowed)():
                        return
                    yield self._keepalive()
                elif item.id not in self.sent:
                    yield item.formatted(wire)
        finally:
            self.stop()

    def events_sync(self) -> Iterator[str]:
        """The same for a WSGI server (the development server, tests): one thread
        per stream, which is why ``studio server`` serves ASGI."""
        try:
            yield from self._opening()
            if self.missed is None:
                return
            deadline = time.monotonic() + lifetime()
            while (left := deadline - time.monotonic()) > 0:
                item = self.sub.sink.get(min(HEARTBEAT, left))
                if item is live.CLOSED:
                    return
                if item is None:
                    if not self._still_allowed():
                        return
                    yield self._keepalive()
                elif item.id not in self.sent:
                    yield item.formatted(wire)
        finally:
            self.stop()


async def stream_response(
    request: HttpRequest,
    *,
    workspace_ids: frozenset[int],
    runs: frozenset[int],
    scope: tuple[int, int | None] | None,
    after: int | None,
) -> HttpResponse:
    """The event stream of one page (async under ASGI, a thread under WSGI); 429
    when the caller has as many open as it may."""
    is_async = isinstance(request, ASGIRequest)
    if after is None:
        after = await sync_to_async(live.cursor)()
    sub = live.Subscription(
        owner=request.user.pk,
        workspace_ids=workspace_ids,
        runs=runs,
        scope=scope,
        since=after,
        sink=live.AsyncSink() if is_async else live.ThreadSink(),
    )
    stream = Stream(request, sub, after)
    try:
        await sync_to_async(stream.start)()
    except live.TooMany as exc:
        return HttpResponse(str(exc), status=429, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(
        stream.events() if is_async else stream.events_sync(),
        content_type="text/event-stream",
    )
    # Also when the body is never read (the caller left before it began).
    response._resource_closers.append(stream.stop)
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not hold events back
    return response
