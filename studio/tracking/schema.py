"""The JSON form of domain objects, shared by the API and the SDK's local store so
both stores hand the SDK the same dictionaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from studio.tracking.models import Experiment, Run


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def run_to_dict(run: Run) -> dict[str, Any]:
    """Expects ``tags`` and ``properties`` prefetched (selectors do it)."""
    return {
        "id": run.run_id,
        "number": run.number,
        "workspace": run.workspace.name,
        "experiment": run.experiment.name,
        "display_name": run.display_name,
        "description": run.description,
        "type": run.type,
        "status": run.status,
        "status_reason": run.status_reason,
        "error": run.error,
        "created": iso(run.created_at),
        "started": iso(run.started_at),
        "ended": iso(run.ended_at),
        "status_changed": iso(run.status_changed_at),
        "heartbeat": iso(run.heartbeat_at),
        "submitted_by": run.submitted_by,
        "compute_target": run.compute_target,
        "script": run.script,
        "arguments": list(run.arguments or []),
        "parent_id": run.parent.run_id if run.parent_id else None,
        "child_count": run.child_count,
        "properties": {p.key: p.value for p in run.properties.all()},
        "tags": {t.key: t.value for t in run.tags.all()},
    }


def experiment_to_dict(experiment: Experiment) -> dict[str, Any]:
    return {
        "name": experiment.name,
        "workspace": experiment.workspace.name,
        "created": iso(experiment.created_at),
        "run_count": experiment.run_counter,
        "last_activity": iso(experiment.last_activity_at),
    }
