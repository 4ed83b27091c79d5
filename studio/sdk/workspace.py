"""``Workspace``: where runs are kept and how to reach them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from studio.errors import NotFound, ValidationError
from studio.rules import validation
from studio.sdk.config import ComputeTarget
from studio.sdk.experiment import Experiment
from studio.sdk.run import Run
from studio.sdk.stores import store_for

CONFIG_DIR = ".studio"
CONFIG_FILE = "config.json"


def find_config(start: str | os.PathLike | None = None) -> Path | None:
    """``.studio/config.json`` in ``start`` (default the cwd) or the nearest parent."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_DIR / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


class Workspace:
    """A team's space. ``tracking_uri`` is ``local`` (in-process) or the studio's URL."""

    def __init__(
        self,
        name: str = "default",
        tracking_uri: str | None = None,
        experiment_name: str | None = None,
    ):
        self.name = validation.workspace_name(name)
        self.tracking_uri = tracking_uri or "local"
        # The attached folder's default experiment (``studio folder attach -e``).
        self.experiment_name = (
            validation.experiment_name(experiment_name) if experiment_name else None
        )
        self._store = store_for(self.tracking_uri)
        self._store.get_workspace(self.name)

    @classmethod
    def from_config(cls, path: str | os.PathLike | None = None) -> Workspace:
        """Find ``.studio/config.json`` upward from the cwd (or read ``path``); else use
        STUDIO_TRACKING_URI and STUDIO_WORKSPACE; else the local store's "default"."""
        config_path = Path(path) if path else find_config()
        if config_path is not None and config_path.is_dir():
            config_path = config_path / CONFIG_DIR / CONFIG_FILE
        if config_path is not None:
            try:
                config = json.loads(config_path.read_text())
            except (OSError, ValueError) as exc:
                raise ValidationError(
                    f"Cannot read the workspace config {config_path}: {exc}", field="config"
                ) from None
            return cls(
                name=config.get("workspace_name") or config.get("workspace") or "default",
                tracking_uri=os.environ.get("STUDIO_TRACKING_URI") or config.get("tracking_uri"),
                experiment_name=config.get("experiment_name"),
            )
        return cls(
            name=os.environ.get("STUDIO_WORKSPACE") or "default",
            tracking_uri=os.environ.get("STUDIO_TRACKING_URI") or None,
        )

    @property
    def compute_targets(self) -> _ComputeTargets:
        """``ws.compute_targets["gpu-cluster"]``: the target, created on first use."""
        return _ComputeTargets(self)

    @property
    def experiments(self) -> dict[str, Experiment]:
        return {
            e["name"]: Experiment(self, e["name"]) for e in self._store.list_experiments(self.name)
        }

    @property
    def models(self) -> dict:
        """v1's ``ws.models``: each registered model's latest version, by name."""
        from studio.sdk.model import Model

        return Model._latest_by_name(self)

    def get_run(self, run_id: str) -> Run:
        """Bind an existing run of this workspace by id, whatever its experiment. A run
        of another workspace is reported exactly like a missing one."""
        data = self._store.get_run(run_id)
        if data["workspace"] != self.name:
            raise NotFound(f"Run {run_id!r} does not exist.", field="run_id")
        return self._bind(data)

    def _bind(self, data: dict) -> Run:
        # The run's experiment exists (the run names it): nothing to create, and a job's
        # run-scoped token may not create experiments.
        experiment = Experiment(self, data["experiment"], _data={"name": data["experiment"]})
        return Run(experiment, data["id"], _data=data)

    def __repr__(self) -> str:
        return f"Workspace.create(name='{self.name}', tracking_uri='{self.tracking_uri}')"


class _ComputeTargets:
    def __init__(self, workspace: Workspace):
        self.workspace = workspace

    def __getitem__(self, name: str) -> ComputeTarget:
        data = self.workspace._store.get_compute_target(self.workspace.name, name)
        return ComputeTarget(name=data["name"], workspace=self.workspace.name)


# Run.get_context() builds a Workspace; this module sits above run.py, which
# therefore gets the class from here instead of importing it (no import cycle).
Run._workspace_class = Workspace
