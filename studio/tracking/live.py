"""Following the change feed (``RunChange``) for the pages open in this process.

One poller thread per server process reads ``id > cursor`` every ``INTERVAL`` while
at least one stream is open and hands each change to the streams it concerns: 50
open pages cost one indexed query per tick, not 50. The thread sleeps when the last
stream closes. Streams receive changes through a ``Sink``: an asyncio queue filled
with ``call_soon_threadsafe`` (ASGI) or a plain thread queue (WSGI, the development
server). A sink that falls ``MAX_BACKLOG`` changes behind is closed; its page
reconnects and resumes from the change cursor.

Ids can commit out of order on PostgreSQL (two transactions, the later id committed
first), so the poller does not give up a missing id at once: each tick reads the ids
above the newest it has read, and the missing ids below it again, for ``GAP_WAIT``
seconds (a rolled-back transaction leaves a hole forever). Each id is delivered once.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Max, Q

from studio.rules import transitions
from studio.tracking.models import ChangeKind, Run, RunChange
from studio.tracking.services import liveness
from studio.tracking.services.changes import points_read

log = logging.getLogger(__name__)

INTERVAL = 0.2  # seconds between two reads of the feed while streams are open
REAP_EVERY = 15.0  # seconds between two looks for lost runs among the followed ones
GAP_WAIT = 5.0  # seconds a missing id is waited for before it is given up
MAX_GAP = 10_000  # a larger jump in ids is given up at once
BATCH = 1_000  # changes read per tick at most (the rest: next tick)
MAX_BACKLOG = 2_000  # changes a stream may have waiting before it is closed
MAX_BACKFILL = 2_000  # changes a resuming stream may ask for; more: start afresh

CLOSED = object()  # what a sink yields once the hub closed it (it fell behind)


@dataclass(slots=True)
class Change:
    """One row of the feed, as streams see it."""

    id: int
    workspace_id: int
    experiment_id: int
    run_pk: int
    parent_id: int | None
    kind: str
    data: dict[str, Any]
    run_id: str
    # Formatted text per formatter, shared by every stream that sends this change.
    texts: dict[Any, Any] = field(default_factory=dict)
    # Its data as streams send it (``ready``): a points change's columns are stored packed.
    is_ready: bool = False

    def formatted(self, formatter) -> Any:
        text = self.texts.get(formatter)
        if text is None:
            text = self.texts[formatter] = formatter(self)
        return text


_FIELDS = (
    "id",
    "workspace_id",
    "experiment_id",
    "run_id",
    "parent_id",
    "kind",
    "data",
    "run__run_id",
)


def _changes(rows, *, read: bool = True) -> list[Change]:
    """The feed's rows as changes; ``read``: each ready to send now (else ``ready``
    readies it once a stream takes it: the poller reads every change, and most
    concern no open page)."""
    changes = [Change(*row) for row in rows]
    if read:
        for change in changes:
            ready(change)
    return changes


def ready(change: Change) -> Change:
    """``change`` as streams send it: a points change's long columns, stored packed,
    turned into lists (once, however many streams take it)."""
    if not change.is_ready:
        if change.kind == ChangeKind.POINTS:
            change.data = points_read(change.data)
        change.is_ready = True
    return change


class Sink:
    """Where the hub puts a stream's changes; ``get`` waits for the next one."""

    def __init__(self) -> None:
        self.size = 0
        self.closed = False

    def put(self, item: Any) -> None:
        if self.closed:
            return
        self.size += 1
        if self.size > MAX_BACKLOG:
            self.closed = True
            item = CLOSED
        self._put(item)

    def _taken(self, item: Any) -> Any:
        self.size -= 1
        return item


class AsyncSink(Sink):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()

    def _put(self, item: Any) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    async def get(self, timeout: float) -> Any:
        """The next change, or None after ``timeout`` seconds without one."""
        try:
            return self._taken(await asyncio.wait_for(self.queue.get(), timeout))
        except TimeoutError:
            return None


class ThreadSink(Sink):
    def __init__(self) -> None:
        super().__init__()
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def _put(self, item: Any) -> None:
        self.queue.put(item)

    def get(self, timeout: float) -> Any:
        try:
            return self._taken(self.queue.get(timeout=timeout))
        except queue.Empty:
            return None


@dataclass(eq=False)
class Subscription:
    """What one stream follows. ``workspace_ids``: where its caller may read (checked
    for every change, whatever else matches); ``runs``: primary keys of the runs
    whose status, points and log it shows (they exist already); ``scope``: (workspace id, experiment id or
    None) whose new top-level runs it is told about, or None."""

    owner: Any
    workspace_ids: frozenset[int]
    runs: frozenset[int]
    scope: tuple[int, int | None] | None
    since: int
    sink: Sink

    def matches(self, change: Change) -> bool:
        if change.workspace_id not in self.workspace_ids:
            return False
        if change.kind != ChangeKind.CREATED:
            return change.run_pk in self.runs
        if self.scope is None or change.parent_id:
            return False
        workspace_id, experiment_id = self.scope
        return change.workspace_id == workspace_id and experiment_id in (
            None,
            change.experiment_id,
        )

    def query(self) -> Q:
        """``matches`` as a filter on the feed (for a stream that resumes)."""
        q = Q(run_id__in=self.runs) & ~Q(kind=ChangeKind.CREATED)
        if self.scope is not None:
            workspace_id, experiment_id = self.scope
            new = Q(kind=ChangeKind.CREATED, parent_id=None, workspace_id=workspace_id)
            if experiment_id is not None:
                new &= Q(experiment_id=experiment_id)
            q |= new
        return q & Q(workspace_id__in=self.workspace_ids)


class TooMany(Exception):
    """The caller has as many streams open as it may."""


def cursor() -> int:
    """The newest change id: a page rendered now shows every change up to it."""
    return RunChange.objects.aggregate(top=Max("id"))["top"] or 0


def backfill(sub: Subscription, after: int) -> list[Change] | None:
    """The changes ``sub`` follows with ids above ``after``, oldest first; None when
    some may be gone (pruned: older than the feed keeps, or more than MAX_BACKFILL):
    the page must then load afresh."""
    if after > 0:
        oldest = RunChange.objects.order_by("id").values_list("id", flat=True).first()
        if oldest is None or oldest > after + 1:
            return None
    rows = (
        RunChange.objects.filter(sub.query(), id__gt=after)
        .order_by("id")
        .values_list(*_FIELDS)[: MAX_BACKFILL + 1]
    )
    changes = _changes(rows)
    return None if len(changes) > MAX_BACKFILL else changes


def _close_connection() -> None:
    """Close this thread's database connection, whatever state it is in."""
    try:
        connection.close()
    except Exception:  # already unusable: nothing left to close
        log.debug("closing the poller's connection failed", exc_info=True)


class Hub:
    """The process's one poller and the streams it feeds."""

    def __init__(self, *, autostart: bool = True) -> None:
        self.autostart = autostart  # False: the caller calls tick() (tests)
        self._lock = threading.Lock()
        self._subs: set[Subscription] = set()
        self._owners: dict[Any, int] = {}
        self._running = False  # a poller is on (a thread, or the caller's ticks)
        self._thread: threading.Thread | None = None
        self.low = 0  # every id at or below has been handed out (or given up)
        self.top = 0  # the newest id handed out
        self._missing: dict[int, float] = {}  # ids below ``top`` not seen yet, since when
        self.ticks = 0

    @property
    def streams(self) -> int:
        return len(self._subs)

    @property
    def running(self) -> bool:
        """Whether a poller is on (it stops, closing its connection, after the last
        stream leaves)."""
        return self._running or (self._thread is not None and self._thread.is_alive())

    def subscribe(self, sub: Subscription, *, limit: int) -> None:
        """Start feeding ``sub``; TooMany when its owner already has ``limit`` streams."""
        with self._lock:
            if self._owners.get(sub.owner, 0) >= limit:
                raise TooMany(f"At most {limit} live streams at once.")
            self._owners[sub.owner] = self._owners.get(sub.owner, 0) + 1
            self._subs.add(sub)
            if not self._running:
                # Streams read what came before they joined themselves (backfill).
                self.low = self.top = cursor()
                self._missing.clear()
                self._running = True
                if self.autostart:
                    self._thread = threading.Thread(
                        target=self._run, name="studio-live", daemon=True
                    )
                    self._thread.start()

    def close_all(self) -> None:
        """End every open stream (their pages reconnect, and resume)."""
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.sink.closed = True
            sub.sink._put(CLOSED)

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.discard(sub)
                left = self._owners[sub.owner] - 1
                if left:
                    self._owners[sub.owner] = left
                else:
                    del self._owners[sub.owner]

    def _run(self) -> None:
        reaped = time.monotonic()
        try:
            while True:
                with self._lock:
                    if not self._subs:
                        self._running = False  # a stream joining now starts a new one
                        break
                try:
                    if time.monotonic() - reaped >= REAP_EVERY:
                        reaped = time.monotonic()
                        self.reap()
                    self.tick()
                except Exception:  # the database is away for a moment: try again
                    log.exception("reading the change feed failed")
                    _close_connection()
                    time.sleep(1)
                time.sleep(INTERVAL)
        finally:
            _close_connection()

    def reap(self) -> int:
        """Mark lost the followed runs whose process is gone (what a reader of them
        does, ``liveness``): an open page sees a lost run become Failed."""
        with self._lock:
            followed = set().union(*(sub.runs for sub in self._subs))
        if not followed:
            return 0
        going = Run.objects.filter(pk__in=followed, status__in=transitions.ACTIVE)
        return liveness.runs_reap_lost(runs=list(going.only("pk", "run_id", "status", "uuid")))

    def tick(self) -> None:
        """Read the feed once and hand each new change to the streams it concerns:
        the ids above the newest seen, and the missing ids below it still awaited."""
        self.ticks += 1
        query = RunChange.objects.order_by("id").values_list(*_FIELDS)
        fresh = _changes(query.filter(id__gt=self.top)[:BATCH], read=False)
        late = []
        if self._missing:
            late = _changes(query.filter(id__in=sorted(self._missing)[:BATCH]), read=False)
        now = time.monotonic()
        for change in late:
            del self._missing[change.id]
        expected = self.top + 1
        for change in fresh:
            if change.id - expected <= MAX_GAP:  # a larger jump is given up at once
                self._missing.update(dict.fromkeys(range(expected, change.id), now))
            expected = change.id + 1
        if fresh:
            self.top = fresh[-1].id
        for missing in [i for i, since in self._missing.items() if now - since >= GAP_WAIT]:
            del self._missing[missing]
        with self._lock:
            subs = list(self._subs)
        for change in sorted(late, key=lambda c: c.id) + fresh:
            for sub in subs:
                if change.id > sub.since and sub.matches(change):
                    sub.sink.put(ready(change))
        # Only now: a stream's keep-alive names ``low`` as where its page is.
        self.low = min(self._missing) - 1 if self._missing else self.top


HUB = Hub()
