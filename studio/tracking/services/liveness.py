"""Finding runs whose process is gone: an active run whose heartbeat is older than
the lease is marked Failed ("lost"). Readers never call this: the selectors every
reader goes through (``selectors.run_get`` and the runs list's ``pages.page``) do,
so the run page, the lists, the API and the SDK all see a lost run as lost, with no
server or reaper process needed.

The outage rule (RELIABILITY G5). While the server is down nobody can heartbeat
through it, so after an outage longer than the lease every live run looks lost.
Heartbeats are therefore judged only over a time the reaper itself was watching:
each pass notes when it looked (``LeaseWatch``); a pass that finds the previous one
more than a lease ago (the server was down, or nobody looked) starts a new watch,
and no run is marked lost until the watch is one lease old. A live client
heartbeats within that lease and keeps its run; a run whose process really died
is marked lost one lease later than usual. The price: after any quiet spell (no
reader for a lease), finding a lost run takes up to two leases instead of one.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db.models import Exists, Q, QuerySet, Subquery
from django.utils import timezone

from studio.errors import InvalidTransition
from studio.rules import transitions
from studio.tracking.models import LeaseWatch, Run, RunStatus
from studio.tracking.services.runs import run_transition

_when_lost: list[Callable[[Run], None]] = []


def lease_seconds() -> int:
    return int(getattr(settings, "STUDIO_RUN_LEASE_SECONDS", 60))


def when_lost(hook: Callable[[Run], None]) -> None:
    """Call ``hook(run)`` for each run this process marks lost. The execution app
    registers the stopping of what a lost run left running on this machine (its
    processes are execution's business; tracking does not import it)."""
    if hook not in _when_lost:
        _when_lost.append(hook)


@functools.cache
def _watch_columns() -> dict[str, Subquery]:
    """The two subqueries, built once: annotate() resolves a copy of each, so one
    pair serves every query (building them was a good part of a run read's cost)."""
    watch = LeaseWatch.objects.filter(pk=1)
    return {
        "_watch_since": Subquery(watch.values("since")[:1]),
        "_watch_seen": Subquery(watch.values("seen_at")[:1]),
    }


def with_watch(runs: QuerySet[Run]) -> QuerySet[Run]:
    """``runs`` with the reaper's watch read along (``_watch_since``, ``_watch_seen``):
    ``runs_reap_lost`` on one of them then needs no query of its own."""
    return runs.annotate(**_watch_columns())


def _note(
    now: dt.datetime, lease: dt.timedelta, since: dt.datetime | None, seen_at: dt.datetime
) -> dt.datetime | None:
    """Note this pass on the watch last seen at ``seen_at``; return since when it has
    been unbroken (None: from the start). A write at most every quarter lease."""
    if now - seen_at > lease:
        # Nobody looked for longer than a lease: heartbeats sent meanwhile may have
        # had nowhere to go. Conditional, so of two passes racing here one resets.
        LeaseWatch.objects.filter(pk=1, seen_at=seen_at).update(since=now, seen_at=now)
        return now
    if now - seen_at > lease / 4:
        LeaseWatch.objects.filter(pk=1).update(seen_at=now)
    return since


def _watch(
    now: dt.datetime, lease: dt.timedelta, stale: QuerySet[Run]
) -> tuple[dt.datetime | None, bool]:
    """Note this pass; return since when the watch has been unbroken (None: from
    the start) and whether any of ``stale`` exists. One SELECT, and a write at most
    every quarter lease."""
    row = (
        LeaseWatch.objects.filter(pk=1)
        .annotate(any_stale=Exists(stale))
        .values_list("since", "seen_at", "any_stale")
        .first()
    )
    if row is None:
        LeaseWatch.objects.get_or_create(pk=1, defaults={"since": None, "seen_at": now})
        return None, stale.exists()
    since, seen_at, any_stale = row
    return _note(now, lease, since, seen_at), any_stale


def _quiet(run: Run, cutoff: dt.datetime) -> bool:
    """``stale``'s condition, on a run's row as loaded."""
    if run.status not in transitions.ACTIVE:
        return False
    if run.heartbeat_at is not None:
        return run.heartbeat_at < cutoff
    return run.status_changed_at is not None and run.status_changed_at < cutoff


def runs_reap_lost(*, runs: Sequence[Run]) -> int:
    """Mark Failed ("lost") those of ``runs`` that are active with a heartbeat older
    than the lease; return how many. Costs nothing when none of them is active (as
    loaded), one SELECT otherwise (none for one run read ``with_watch``; more only for
    the runs it marks)."""
    going = [run.pk for run in runs if run.status in transitions.ACTIVE]
    if not going:
        return 0
    now = timezone.now()
    lease = dt.timedelta(seconds=lease_seconds())
    cutoff = now - lease

    def stale() -> QuerySet[Run]:
        # Built only when asked for: the usual write (a live run read with_watch)
        # is judged on its row and needs no query, so not the cost of building one.
        return Run.objects.filter(pk__in=going, status__in=transitions.ACTIVE).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, status_changed_at__lt=cutoff)
        )

    seen_at = getattr(runs[0], "_watch_seen", None) if len(runs) == 1 else None
    if seen_at is not None:  # read along with the run (``with_watch``): judged on its row
        since = _note(now, lease, runs[0]._watch_since, seen_at)
        any_stale = _quiet(runs[0], cutoff)
    else:
        since, any_stale = _watch(now, lease, stale())
    if not any_stale or (since is not None and now - since < lease):
        return 0  # nobody quiet, or the watch is too young to judge anyone
    error = {
        "message": f"No heartbeat for {lease_seconds()} s: the process running it is gone.",
        "code": "lost",
    }
    count = 0
    for run in stale().only("pk", "run_id", "status", "uuid"):
        try:
            run_transition(run=run, status=RunStatus.FAILED, reason="lost", error=error)
        except InvalidTransition:
            continue  # it finished on its own meanwhile
        count += 1
        for hook in _when_lost:
            hook(run)
    return count
