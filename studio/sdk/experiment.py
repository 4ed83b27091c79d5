"""``Experiment``: a named group of runs, created on first use."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from studio.rules import filenames, validation
from studio.rules.runquery import RunQuery
from studio.sdk.config import ScriptRunConfig
from studio.sdk.pipeline import Pipeline, submit_pipeline
from studio.sdk.recorded import warn_once
from studio.sdk.run import Run

if TYPE_CHECKING:
    from studio.sdk.workspace import Workspace


class Experiment:
    def __init__(self, workspace: Workspace, name: str, *, _data: dict[str, Any] | None = None):
        self.workspace = workspace
        self.name = validation.experiment_name(name)
        self._store = workspace._store
        # ``_data``: the experiment is known to exist (a job's own run names it), and
        # a job's token may not create experiments.
        self._data = _data or self._store.get_or_create_experiment(workspace.name, self.name)

    def __repr__(self) -> str:
        return f"Experiment(Name: {self.name},\nWorkspace: {self.workspace.name})"

    @property
    def id(self) -> str:
        """A stable id, as v1's experiments have: the same for the same workspace
        and name on the same studio."""
        key = f"{self.workspace._studio_url()}/{self.workspace.name}/{self.name}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, key))

    def get_portal_url(self) -> str:
        """The experiment's page in the studio."""
        query = urlencode({"ws": self.workspace.name})
        return f"{self.workspace._studio_url()}/experiments/{quote(self.name, safe='')}/?{query}"

    @staticmethod
    def list(
        workspace: Workspace,
        experiment_name: str | None = None,
        view_type: str = "ActiveOnly",
        tags: Any = None,
    ) -> list[Experiment]:
        """The workspace's experiments (``experiment_name``: just that one, if it exists)."""
        rows = workspace._store.list_experiments(workspace.name)
        return [
            Experiment(workspace, row["name"], _data=row)
            for row in rows
            if experiment_name is None or row["name"] == experiment_name
        ]

    def start_logging(
        self,
        display_name: str | None = None,
        *args: Any,
        outputs: str | os.PathLike | bool | None = None,
        **kwargs: Any,
    ) -> Run:
        """Start an interactive run (status Running); use it as a ``with`` block to
        complete it on exit, or fail it on an exception. As in v1, ``./outputs`` (or
        ``outputs=``; ``False`` for none) is created and what the run writes there is
        uploaded as its ``outputs/`` files when it ends."""
        data = self._store.create_run(
            self.workspace.name, self.name, type="interactive", display_name=display_name or ""
        )
        run = Run(self, data["id"], _data=data)
        if outputs is not False:
            run._track_outputs(Path(outputs or filenames.OUTPUTS.rstrip("/")))
        return run._keep_alive()

    def submit(self, config, tags: Mapping[str, str | None] | None = None, **kwargs: Any) -> Run:
        """Submit a ``ScriptRunConfig`` (a run of type ``script``) or a ``Pipeline``
        (a ``PipelineRun`` whose steps are child runs; it takes v1's keywords
        ``pipeline_parameters``, ``continue_on_step_failure``, ``regenerate_outputs``).
        Returns at once."""
        if isinstance(config, Pipeline):
            return submit_pipeline(self, config, tags=tags, **kwargs)
        if isinstance(config, ScriptRunConfig):
            for name in kwargs:
                warn_once(f"submit.{name}", f"Experiment.submit({name}=...) is ignored.")
            data = self._store.submit_run(
                self.workspace.name, self.name, **config._submission(), tags=tags
            )
        else:
            raise TypeError("submit takes a ScriptRunConfig or a Pipeline.")
        return Run(self, data["id"], _data=data)

    def get_runs(
        self,
        type: str | None = None,
        tags: Any = None,
        properties: Mapping[str, str] | None = None,
        include_children: bool = False,
        status: str | None = None,
        filter: str | None = None,
        view: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Run]:
        """Runs of this experiment, newest first. ``tags`` is a dict (key -> value) or a
        key (runs that have that tag); ``filter`` an expression of the filter language
        (``"status = Completed and metrics.loss < 0.2"``). ``view`` names a saved view
        of the studio: its filters and sort, on this experiment's runs (the view holds
        the filters, so it takes none of the others). ``sort`` is a column key of the
        studio's list (``"-metric:min:loss"``, ``"name"``; default ``"-created"``).
        ``limit``: at most that many runs (the store then reads that many and no
        more; without it, a first page of 100, then more as you iterate)."""
        if view is not None:
            others = (type, tags, properties, status, filter, sort)
            if any(x is not None for x in others) or include_children:
                raise TypeError("get_runs(view=...) takes no other filter: the view holds them.")
            rows = self._store.list_view_runs(self.workspace.name, view, self.name, limit=limit)
            for row in rows:
                yield Run(self, row["id"], _data=row)
            return
        query = RunQuery.of(
            experiment=self.name,
            tags=tags,
            properties=properties,
            type=type,
            status=status,
            include_children=include_children,
            filter=filter,
            sort=sort,
        )
        for row in self._store.list_runs(self.workspace.name, query, limit=limit):
            yield Run(self, row["id"], _data=row)


Pipeline._experiment_class = Experiment
