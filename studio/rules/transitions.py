"""The run status transition table: the one place that says which change is allowed.

``services.run_transition`` enforces it with a conditional UPDATE, so of two racing
transitions exactly one wins. No Django import (the SDK reads TERMINAL too).
"""

from __future__ import annotations

NOT_STARTED = "NotStarted"
QUEUED = "Queued"
PREPARING = "Preparing"
STARTING = "Starting"
RUNNING = "Running"
FINALIZING = "Finalizing"
CANCEL_REQUESTED = "CancelRequested"
COMPLETED = "Completed"
FAILED = "Failed"
CANCELED = "Canceled"

STATUSES = (
    NOT_STARTED,
    QUEUED,
    PREPARING,
    STARTING,
    RUNNING,
    FINALIZING,
    CANCEL_REQUESTED,
    COMPLETED,
    FAILED,
    CANCELED,
)
TERMINAL = frozenset({COMPLETED, FAILED, CANCELED})
# Some process is responsible for a run in these statuses and must heartbeat.
ACTIVE = (PREPARING, STARTING, RUNNING, FINALIZING, CANCEL_REQUESTED)
# Entering these, a process (worker, supervisor, script) takes the run on: its lease starts.
TAKEN = (PREPARING, STARTING, RUNNING)
_STOPPABLE = {CANCEL_REQUESTED, CANCELED, FAILED}

TRANSITIONS: dict[str, frozenset[str]] = {
    NOT_STARTED: frozenset({QUEUED, PREPARING, STARTING, RUNNING} | _STOPPABLE),
    QUEUED: frozenset({PREPARING, STARTING, RUNNING} | _STOPPABLE),
    # Preparing -> Queued: a run a Slurm bridge claimed and submitted waits in Slurm's
    # queue (no process of Studio's holds it until its job starts).
    PREPARING: frozenset({QUEUED, STARTING, RUNNING} | _STOPPABLE),
    STARTING: frozenset({RUNNING} | _STOPPABLE),
    RUNNING: frozenset({FINALIZING, COMPLETED} | _STOPPABLE),
    FINALIZING: frozenset({COMPLETED} | _STOPPABLE),
    # Once cancel is asked for, the run ends Canceled (its processes are gone) or
    # Failed (they died of something else first).
    CANCEL_REQUESTED: frozenset({CANCELED, FAILED}),
    # fail() may still mark a completed run as failed (a wrong script was used).
    COMPLETED: frozenset({FAILED}),
    FAILED: frozenset(),
    CANCELED: frozenset(),
}


def allowed_from(target: str) -> frozenset[str]:
    """The statuses a run may be in for ``target`` to be reachable."""
    return frozenset(src for src, targets in TRANSITIONS.items() if target in targets)


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())
