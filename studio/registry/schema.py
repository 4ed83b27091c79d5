"""The JSON form of a model version, shared by the API and the SDK's local store."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from studio.registry.models import ModelVersion
from studio.tracking.schema import iso


def version_to_dict(version: ModelVersion) -> dict[str, Any]:
    model = version.model
    run = version.run
    return {
        "id": f"{model.name}:{version.version}",
        "name": model.name,
        "version": version.version,
        "workspace": model.workspace.name,
        "description": version.description,
        "tags": dict(version.tags),
        "properties": dict(version.properties),
        "run_id": run.run_id if run else None,
        "experiment_name": run.experiment.name if run else None,
        "source_path": version.source_path,
        "created_by": version.created_by,
        "created_time": iso(version.created_at),
        "url": f"/models/{quote(model.name)}/{version.version}/?ws={quote(model.workspace.name)}",
        "files": [{"name": f.name, "size": f.size} for f in version.files.all()],
    }
