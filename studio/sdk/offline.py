"""The offline run: what ``Run.get_context()`` returns outside a job Studio
submitted. It has the whole run surface and prints what it would have done, in v1's
words, so a training script runs unchanged on a laptop."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from studio.errors import ValidationError


class _OfflineExperiment:
    """``run.experiment`` of an offline run: a name and no workspace."""

    name = "offline_default_experiment"
    workspace = None
    id = "offline"

    def __repr__(self) -> str:
        return f"Experiment(Name: {self.name},\nWorkspace: None)"


class OfflineRun:
    """A run that is not tracked: every call prints what it would have stored."""

    type = "offline"
    number = 0
    description = ""

    def __init__(self, run_id: str | None = None, parent: OfflineRun | None = None):
        self._run_id = run_id or f"OfflineRun_{uuid.uuid4()}"
        self.parent = parent
        self.experiment = _OfflineExperiment()
        self._tags: dict[str, str | None] = {}
        self._properties: dict[str, str] = {}
        self._status = "Running"
        self.display_name = self._run_id

    @property
    def id(self) -> str:
        return self._run_id

    @property
    def name(self) -> str:
        return self.display_name

    @name.setter
    def name(self, value: str) -> None:
        self.display_name = value

    @property
    def status(self) -> str:
        return self._status

    @property
    def tags(self) -> dict[str, str | None]:
        return dict(self._tags)

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._properties)

    def __repr__(self) -> str:
        return f"Run(Experiment: {self.experiment.name},\nId: {self.id},\nType: offline)"

    # --- metrics -----------------------------------------------------------------

    def _emit(self, kind: str, name: str, value: Any) -> None:
        print(f"Attempted to log {kind} metric {name}:\n{value}")

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        self._emit("scalar", name, value)

    def log_list(self, name: str, value: Iterable[Any], description: str = "") -> None:
        self._emit("list", name, value)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        self._emit("row", name, kwargs)

    def log_table(self, name: str, value: Any, description: str = "") -> None:
        self._emit("table", name, value)

    def log_image(
        self, name: str, path: Any = None, plot: Any = None, description: str = ""
    ) -> None:
        self._emit("image", name, plot or path)

    def log_residuals(self, name: str, value: Any, description: str | None = None) -> None:
        self._emit("residual", name, value)

    def log_predictions(self, name: str, value: Any, description: str | None = None) -> None:
        self._emit("predictions", name, value)

    def log_accuracy_table(self, name: str, value: Any, description: str | None = None) -> None:
        self._emit("accuracy_table", name, value)

    def log_confusion_matrix(self, name: str, value: Any, description: str | None = None) -> None:
        self._emit("confusion_matrix", name, value)

    def get_metrics(self, name: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return {}

    def get_metric_history(self, name: str) -> dict[str, Any]:
        """An offline run stores nothing: every series is empty."""
        import numpy as np

        return {"steps": np.empty(0, np.int64), "values": np.empty(0), "times": np.empty(0)}

    def flush(self, **kwargs: Any) -> None:
        print(f"Attempted to flush run with id {self.id}")

    # --- tags and properties -------------------------------------------------------

    def tag(self, key: str, value: str | None = None) -> None:
        print(f"Attempted to add tag {key} with value {value}")
        self._tags[key] = value

    def set_tags(self, tags: Mapping[str, str | None] | Iterable[str]) -> None:
        print(f"Attempted to set tags {tags}")
        if not isinstance(tags, Mapping):
            tags = {k: None for k in tags}
        self._tags.update(tags)

    def remove_tags(self, tags: Iterable[str]) -> None:
        print(f"Attempted to remove tags {list(tags)}")
        for key in tags:
            self._tags.pop(key, None)

    def get_tags(self) -> dict[str, str | None]:
        return dict(self._tags)

    def add_properties(self, properties: Mapping[str, str]) -> None:
        print(f"Attempted to add properties {properties}")
        self._properties.update(properties)

    def get_properties(self) -> dict[str, str]:
        return dict(self._properties)

    # --- status ----------------------------------------------------------------------

    def get_status(self) -> str:
        return self._status

    def get_details(self) -> dict[str, Any]:
        return {
            "runId": self.id,
            "status": self._status,
            "target": "local",
            "properties": dict(self._properties),
            "tags": dict(self._tags),
            "inputDatasets": [],
            "outputDatasets": [],
            "runDefinition": {},
            "logFiles": {},
        }

    def get_portal_url(self) -> None:
        return None

    def complete(self, **kwargs: Any) -> None:
        self._status = "Completed"

    def fail(self, error_details: Any = None, error_code: str | None = None, **kwargs: Any):
        print(f"Run failed with error code {error_code}:\n{error_details}")
        self._status = "Failed"

    def cancel(self) -> None:
        print(f"Attempted to cancel run with id {self.id}")
        self._status = "Canceled"

    def wait_for_completion(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.get_details()

    def __enter__(self) -> OfflineRun:
        print(f"[START] Run {self.id} context")
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        print(f"[STOP] Run {self.id} context")
        return False

    # --- children and files --------------------------------------------------------

    def child_run(self, name: str | None = None, run_id: str | None = None, outputs=None):
        child = run_id or f"{self.id}.{name or uuid.uuid4()}"
        return OfflineRun(child, parent=self)

    def get_children(self, *args: Any, **kwargs: Any) -> list:
        return []

    def upload_file(self, name: str, path_or_stream: Any, **kwargs: Any) -> None:
        if isinstance(path_or_stream, (str, os.PathLike)) and not os.path.isfile(path_or_stream):
            raise ValidationError(f"No file at {str(path_or_stream)!r}.", field="path_or_stream")
        print(f"Attempted to track file {name} at {path_or_stream}")

    def upload_files(self, names: Iterable[str], paths: Iterable[str], **kwargs: Any) -> None:
        print(f"Attempted to track files {list(names)} at {list(paths)}")

    def upload_folder(self, name: str, path: str, **kwargs: Any) -> None:
        if not os.path.isdir(path):
            raise ValidationError(f"No folder at {str(path)!r}.", field="path")
        print(f"Attempted to track folder {name} at {path}")

    def get_file_names(self) -> list[str]:
        return []
