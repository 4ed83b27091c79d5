"""``Workspace``: where runs are kept and how to reach them."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from studio.errors import NotFound, ValidationError
from studio.rules import validation
from studio.sdk.config import ComputeTarget
from studio.sdk.experiment import Experiment
from studio.sdk.run import Run
from studio.sdk.stores import store_for

CONFIG_DIR = ".studio"
CONFIG_FILE = "config.json"
# Where v1 keeps its config: a folder given to from_config() is searched for these too.
V1_CONFIGS = (Path(".azureml") / "config.json", Path("config.json"))
DEFAULT_STUDIO_URL = "http://127.0.0.1:8000"
# v1's Azure coordinates, for code that prints or passes them: config, env, default.
AZURE_FIELDS = {
    "subscription_id": ("STUDIO_SUBSCRIPTION_ID", "local"),
    "resource_group": ("STUDIO_RESOURCE_GROUP", "studio"),
    "location": ("STUDIO_LOCATION", "local"),
}


def _local_uri(uri: str | None) -> bool:
    return uri is None or uri == "local" or uri.startswith("local:")


def _config_in(folder: Path) -> Path | None:
    for candidate in (Path(CONFIG_DIR) / CONFIG_FILE, *V1_CONFIGS):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


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
        *,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        location: str | None = None,
        studio_url: str | None = None,
        **kwargs: Any,
    ):
        if tracking_uri is not None and not _local_uri(tracking_uri) and "://" not in tracking_uri:
            # v1's positional form: Workspace(subscription_id, resource_group, name).
            subscription_id, resource_group = name, tracking_uri
            name, tracking_uri, experiment_name = experiment_name or "default", None, None
        name = workspace_name or name
        self.name = validation.workspace_name(name)
        self.tracking_uri = tracking_uri or "local"
        # The attached folder's default experiment (``studio folder attach -e``).
        self.experiment_name = (
            validation.experiment_name(experiment_name) if experiment_name else None
        )
        given = {
            "subscription_id": subscription_id,
            "resource_group": resource_group,
            "location": location,
        }
        for field, (env, default) in AZURE_FIELDS.items():
            setattr(self, field, given[field] or os.environ.get(env) or default)
        self.studio_url = studio_url or os.environ.get("STUDIO_URL") or None
        self._store = store_for(self.tracking_uri)
        self._store.get_workspace(self.name)

    @classmethod
    def create(
        cls,
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        exist_ok: bool = False,
        **kwargs: Any,
    ) -> Workspace:
        """v1's ``Workspace.create``: create the workspace ``name`` on the studio the
        environment (or the nearest ``.studio/config.json``) names; the caller becomes
        its owner. ``exist_ok`` takes an existing one of that exact name. v1's Azure
        resources (storage account, key vault, SKU ...) have no counterpart: they are
        ignored with one warning."""
        from studio.errors import Conflict
        from studio.sdk import notice

        if kwargs:
            notice.warn_once(
                "Workspace.create",
                f"Workspace.create: {', '.join(sorted(kwargs))} ignored (Azure resources; "
                "a Studio workspace is a row in the studio's database).",
            )
        store = configured_store()
        try:
            store.create_workspace(name)
        except Conflict:
            if not (exist_ok and any(w["name"] == name for w in store.list_workspaces())):
                raise
        return cls.get(name, subscription_id=subscription_id, resource_group=resource_group)

    @classmethod
    def get(
        cls,
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        **kwargs: Any,
    ) -> Workspace:
        """v1's ``Workspace.get(name)``: the workspace ``name`` on the studio the
        environment (or the nearest ``.studio/config.json``) names."""
        found = find_config()
        config = _read(found) if found is not None else {}
        return cls(
            name=name,
            tracking_uri=os.environ.get("STUDIO_TRACKING_URI") or config.get("tracking_uri"),
            subscription_id=subscription_id or config.get("subscription_id"),
            resource_group=resource_group or config.get("resource_group"),
            location=config.get("location"),
            studio_url=config.get("studio_url"),
        )

    @classmethod
    def from_config(
        cls, path: str | os.PathLike | None = None, auth: Any = None, **kwargs: Any
    ) -> Workspace:
        """Find ``.studio/config.json`` upward from the cwd; ``path`` is a config file
        or a folder holding one (``.studio/config.json``, v1's ``.azureml/config.json``
        or ``config.json``). Else STUDIO_TRACKING_URI and STUDIO_WORKSPACE; else the
        local store's "default"."""
        config_path = Path(path) if path else find_config()
        if config_path is not None and config_path.is_dir():
            folder = config_path
            config_path = _config_in(folder)
            if config_path is None:
                raise ValidationError(
                    f"No workspace config in {folder} (.studio/config.json, "
                    ".azureml/config.json or config.json).",
                    field="path",
                )
        if config_path is not None:
            config = _read(config_path)
            return cls(
                name=config.get("workspace_name") or config.get("workspace") or "default",
                tracking_uri=os.environ.get("STUDIO_TRACKING_URI") or config.get("tracking_uri"),
                experiment_name=config.get("experiment_name"),
                subscription_id=config.get("subscription_id"),
                resource_group=config.get("resource_group"),
                location=config.get("location"),
                studio_url=config.get("studio_url"),
            )
        return cls(
            name=os.environ.get("STUDIO_WORKSPACE") or "default",
            tracking_uri=os.environ.get("STUDIO_TRACKING_URI") or None,
        )

    def _studio_url(self) -> str:
        """The studio's web address: the REST store's server, else the configured
        one (``studio_url``, STUDIO_URL), else the development server's."""
        if not _local_uri(self.tracking_uri):
            return self.tracking_uri.rstrip("/")
        return (self.studio_url or DEFAULT_STUDIO_URL).rstrip("/")

    def get_details(self) -> dict[str, Any]:
        """The workspace's details with v1's keys (the Azure ones as configured)."""
        arm_id = (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.name}"
        )
        return {
            "id": arm_id,
            "name": self.name,
            "location": self.location,
            "type": "Microsoft.MachineLearningServices/workspaces",
            "tags": {},
            "sku": "Basic",
            "workspaceid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self._studio_url()}/{self.name}")),
            "description": "",
            "friendlyName": self.name,
            "subscriptionId": self.subscription_id,
            "resourceGroup": self.resource_group,
            "discoveryUrl": self._studio_url(),
            "studioUrl": f"{self._studio_url()}/?ws={self.name}",
            "trackingUri": self.tracking_uri,
            "hbiWorkspace": False,
            "containerRegistry": None,
            "keyVault": None,
            "applicationInsights": None,
            "storageAccount": None,
        }

    def write_config(self, path: str | os.PathLike | None = None, file_name: str | None = None):
        """Write ``.studio/config.json`` under ``path`` (default the cwd)."""
        folder = Path(path or ".") / CONFIG_DIR
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (file_name or CONFIG_FILE)
        config = {
            "workspace_name": self.name,
            "tracking_uri": self.tracking_uri,
            **{field: getattr(self, field) for field in AZURE_FIELDS},
        }
        if self.studio_url:
            config["studio_url"] = self.studio_url
        target.write_text(json.dumps(config, indent=2) + "\n")
        return str(target)

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
    def environments(self) -> dict:
        """v1's ``ws.environments``: each registered environment's latest version, by
        name."""
        from studio.sdk.environment import Environment

        return Environment.list(self)

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
        return (
            f"Workspace.create(name='{self.name}', subscription_id='{self.subscription_id}', "
            f"resource_group='{self.resource_group}')"
        )


class _ComputeTargets(Mapping):
    """The workspace's named compute targets as a mapping (``name in``, iteration,
    ``.items()``). Looking a name up creates the target on first use: a worker
    (``studio worker --target NAME``) is what serves it."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace

    def _names(self) -> list[str]:
        return [t["name"] for t in self.workspace._store.list_compute_targets(self.workspace.name)]

    def __getitem__(self, name: str) -> ComputeTarget:
        if not isinstance(name, str):
            raise KeyError(name)
        data = self.workspace._store.get_compute_target(self.workspace.name, name)
        return ComputeTarget._bind_data(self.workspace, data)

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"{{{', '.join(repr(n) for n in self._names())}}}"


def _read(config_path: Path) -> dict[str, Any]:
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise ValidationError(
            f"Cannot read the workspace config {config_path}: {exc}", field="config"
        ) from None
    if not isinstance(config, dict):
        raise ValidationError(f"{config_path} must hold a JSON object.", field="config")
    return config


# Run.get_context() builds a Workspace; this module sits above run.py, which
# therefore gets the class from here instead of importing it (no import cycle).
Run._workspace_class = Workspace


def configured_store():
    """The store the environment (or the nearest ``.studio/config.json``) names, with
    no workspace bound: how ``studio workspace ...`` reaches a studio that may have
    no workspace yet."""
    found = find_config()
    config = _read(found) if found is not None else {}
    return store_for(os.environ.get("STUDIO_TRACKING_URI") or config.get("tracking_uri"))
