"""``Experiment``: a named group of runs, created on first use."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from studio.core import validation
from studio.sdk.run import Run

if TYPE_CHECKING:
    from studio.sdk.workspace import Workspace


class Experiment:
    def __init__(self, workspace: Workspace, name: str):
        self.workspace = workspace
        self.name = validation.experiment_name(name)
        self._store = workspace._store
        self._data = self._store.get_or_create_experiment(workspace.name, self.name)

    def __repr__(self) -> str:
        return f"Experiment(Name: {self.name},\nWorkspace: {self.workspace.name})"

    def start_logging(self, display_name: str | None = None, **kwargs: Any) -> Run:
        """Start an interactive run (status Running); use it as a ``with`` block to
        complete it on exit, or fail it on an exception."""
        data = self._store.create_run(
            self.workspace.name, self.name, type="interactive", display_name=display_name or ""
        )
        return Run(self, data["id"], _data=data)

    def get_runs(
        self,
        type: str | None = None,
        tags: Any = None,
        properties: Mapping[str, str] | None = None,
        include_children: bool = False,
        status: str | None = None,
        filter: str | None = None,
    ) -> Iterator[Run]:
        """Runs of this experiment, newest first. ``tags`` is a dict (key -> value) or a
        key (runs that have that tag); ``filter`` an expression of the filter language
        (``"status = Completed and metrics.loss < 0.2"``)."""
        rows = self._store.list_runs(
            self.workspace.name,
            self.name,
            tags=tags,
            properties=properties,
            type=type,
            status=status,
            include_children=include_children,
            filter=filter,
        )
        for row in rows:
            yield Run(self, row["id"], _data=row)
