"""The store contract: what the SDK needs from wherever runs are kept.

``LocalStore`` calls the domain services in-process; ``RestStore`` calls the JSON API.
Both take and return plain JSON-shaped values (runs as ``schema.run_to_dict`` makes
them) and raise ``studio.errors`` exceptions, so the SDK behaves the same over both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from studio.rules.runquery import RunQuery
from studio.sdk.stores.registry import RegistryContract


class Store(RegistryContract, ABC):
    """One implementation per way of reaching the domain."""

    uri: str

    def release(self) -> None:  # noqa: B027  (an optional hook, not abstract)
        """Give back what the calling thread holds (connections); the background
        flusher calls it after each round."""

    # workspaces and experiments
    @abstractmethod
    def get_workspace(self, name: str) -> dict[str, Any]: ...

    @abstractmethod
    def list_workspaces(self) -> list[dict[str, Any]]:
        """The workspaces the caller sees, archived ones included, by name."""

    @abstractmethod
    def create_workspace(self, name: str) -> dict[str, Any]:
        """Create ``name``; the caller becomes its owner."""

    @abstractmethod
    def update_workspace(
        self, name: str, *, new_name: str | None = None, archived: bool | None = None
    ) -> dict[str, Any]:
        """Rename and/or archive or unarchive (owners only)."""

    @abstractmethod
    def delete_workspace(self, name: str, *, confirm: str) -> None:
        """Delete ``name`` and its runs; ``confirm`` repeats the name (owners only,
        refused while a run is going)."""

    @abstractmethod
    def get_or_create_experiment(self, workspace: str, name: str) -> dict[str, Any]: ...

    @abstractmethod
    def list_experiments(self, workspace: str) -> list[dict[str, Any]]: ...

    # runs
    @abstractmethod
    def create_run(
        self,
        workspace: str,
        experiment: str,
        *,
        type: str = "interactive",
        parent_id: str | None = None,
        display_name: str = "",
        tags: Mapping[str, str | None] | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> dict[str, Any]: ...

    @abstractmethod
    def create_children(
        self,
        run_id: str,
        *,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]: ...

    @abstractmethod
    def get_run(self, run_id: str) -> dict[str, Any]: ...

    @abstractmethod
    def list_runs(
        self, workspace: str, query: RunQuery, *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Runs of ``workspace`` that ``query`` selects, in its order (``get_runs``,
        ``get_children``, ``studio run list``), read a keyset page at a time: the
        first of ``FIRST_PAGE`` runs, or with ``limit`` (at most that many runs in
        all) of ``limit``, and no page asking for more than the limit leaves."""

    @abstractmethod
    def list_view_runs(
        self, workspace: str, view: str, experiment: str | None = None, *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Runs of the saved view named ``view`` (the caller's own, else a shared one),
        in the view's order; ``experiment`` narrows them to one experiment; pages
        and ``limit`` as ``list_runs``."""

    @abstractmethod
    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Tell the studio these runs' process is alive (see the run lease)."""

    @abstractmethod
    def update_run(
        self, run_id: str, *, display_name: str | None = None, description: str | None = None
    ) -> dict[str, Any]: ...

    @abstractmethod
    def complete_run(self, run_id: str) -> dict[str, Any]: ...

    @abstractmethod
    def fail_run(
        self, run_id: str, *, error_details: str | None = None, error_code: str | None = None
    ) -> dict[str, Any]: ...

    @abstractmethod
    def cancel_run(self, run_id: str) -> dict[str, Any]: ...

    @abstractmethod
    def archive_run(self, run_id: str, *, archived: bool = True) -> dict[str, Any]:
        """Archive (or unarchive) the run and the runs below it: lists leave archived
        runs out unless their filter says ``archived``."""

    @abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Move the run and the runs below it to the workspace's trash (refused while
        one of them is still going); they are gone from every list and read."""

    @abstractmethod
    def restore_run(self, run_id: str) -> dict[str, Any]:
        """Bring a run of the trash back, with the runs deleted with it."""

    @abstractmethod
    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> dict[str, str]: ...

    @abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str | None]) -> dict[str, str | None]: ...

    @abstractmethod
    def remove_tags(self, run_id: str, keys: Sequence[str]) -> dict[str, str | None]: ...

    # metrics
    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        batch_id: str,
        series: Sequence[Mapping[str, Any]],
        records: Sequence[Mapping[str, Any]],
    ) -> dict[str, Any]: ...

    @abstractmethod
    def get_metrics(self, run_id: str, name: str | None = None) -> dict[str, Any]: ...

    @abstractmethod
    def get_metric_history(self, run_id: str, name: str) -> dict[str, Any]:
        """Every point of one scalar or text series: ``{"steps", "values", "times"}``,
        steps and times as NumPy arrays (int64, float64), values as one too (float64,
        or int64 when every point was logged as an int) or, for text, a list."""

    # execution
    @abstractmethod
    def get_compute_target(
        self,
        workspace: str,
        name: str,
        *,
        capacity: int | None = None,
        provisioning: dict[str, Any] | None = None,
        kind: str | None = None,
        slurm: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The target (name, workspace, kind, capacity, provisioning, slurm), created
        on first use; ``capacity``, ``provisioning``, ``kind`` and ``slurm`` change it
        when given."""

    @abstractmethod
    def list_compute_targets(self, workspace: str) -> list[dict[str, Any]]:
        """The workspace's named compute targets, by name."""

    @abstractmethod
    def compute_target_status(self, workspace: str, name: str) -> dict[str, Any]:
        """The target (``local`` too) with its queued and running run counts, the
        workers or Slurm jobs serving them and their last heartbeat."""

    @abstractmethod
    def delete_compute_target(self, workspace: str, name: str) -> None:
        """Delete a named target (refused while runs wait for or run on it)."""

    @abstractmethod
    def submit_run(
        self,
        workspace: str,
        experiment: str,
        *,
        script: str,
        arguments: Sequence[str],
        compute_target: str,
        files: Sequence[tuple[str, Any]],
        parent_id: str | None = None,
        tags: Mapping[str, str | None] | None = None,
        environment: Mapping[str, Any] | None = None,
        properties: Mapping[str, str] | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create a script run, upload its snapshot (``files``: name, path) and hand
        it to a supervisor (local) or a worker's queue (named target). ``environment``
        is v1's serialized ``Environment`` (registered on the way), ``properties``
        what the run records, ``variables`` what its process gets in its environment."""

    # environments
    @abstractmethod
    def register_environment(self, workspace: str, definition: Mapping[str, Any]) -> dict[str, Any]:
        """Keep ``definition`` as a version of its name (the latest one again when
        nothing changed); the environment as ``environment_to_dict`` makes it."""

    @abstractmethod
    def get_environment(
        self, workspace: str, name: str, version: str | None = None
    ) -> dict[str, Any]: ...

    @abstractmethod
    def list_environments(self, workspace: str) -> list[dict[str, Any]]:
        """The latest version of each environment of ``workspace``."""

    @abstractmethod
    def submit_pipeline(
        self,
        workspace: str,
        experiment: str,
        *,
        steps: Sequence[Mapping[str, Any]],
        tags: Mapping[str, str | None] | None = None,
        description: str = "",
        properties: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create a pipeline run and its steps (each: name, script, arguments,
        compute_target, after, files, and optionally properties) and start its
        driver."""

    @abstractmethod
    def read_file(
        self, run_id: str, name: str, offset: int = 0, limit: int = 1 << 20
    ) -> tuple[bytes, int]:
        """Up to ``limit`` bytes of a run's file from ``offset``, and its current size
        (a live log grows while it is read)."""

    # files
    @abstractmethod
    def upload_file(self, run_id: str, name: str, stream: IO[bytes]) -> dict[str, Any]: ...

    @abstractmethod
    def file_names(self, run_id: str) -> list[str]: ...

    @abstractmethod
    def download_file(self, run_id: str, name: str, out: IO[bytes]) -> None: ...
