"""``Run``: one training attempt, as the Azure ML SDK v1 names it."""

from __future__ import annotations

import io
import json
import os
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

from studio.errors import NotFound, RunFailed, ValidationError
from studio.rules import filenames, validation
from studio.rules.metricdata import check_record
from studio.rules.runquery import RunQuery
from studio.rules.transitions import TERMINAL
from studio.sdk import buffer
from studio.sdk.buffer import MetricBuffer, _flusher
from studio.sdk.environment import environment_of
from studio.sdk.notice import as_text, warn_once
from studio.sdk.offline import OfflineRun
from studio.sdk.runfiles import RunFiles

if TYPE_CHECKING:
    from studio.sdk.experiment import Experiment
    from studio.sdk.workspace import Workspace

_now = time.time
_NUMBER = (float, int)


def _v1_scalar(value: Any) -> Any:
    """numpy's booleans and integers as v1 converts them (bool, int); other
    numbers as floats."""
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind == "b":
        return bool(value)
    if kind in ("i", "u"):
        return int(value)
    return validation.number(value, "value")


class _ReadOnUse(dict):
    """A run's data before it is read: its id, and the rest from the store on first
    use. ``child.parent.id`` then needs no read, which a job's token, reaching its
    own run and its descendants only, could not do."""

    def __init__(self, store, run_id: str):
        super().__init__(id=run_id)
        self._store = store
        self._read = False

    def __missing__(self, key: str):
        if self._read:
            raise KeyError(key)
        self._read = True
        self.update(self._store.get_run(self["id"]))
        return self[key]


class Run(RunFiles):
    """A run bound to a store. ``Run(experiment, run_id)`` rebinds to an existing run."""

    _workspace_class: ClassVar[type[Workspace]]  # set by studio.sdk.workspace

    def __init__(self, experiment: Experiment, run_id: str, _data: dict | None = None):
        self.experiment = experiment
        self._store = experiment.workspace._store
        self._data = _data if _data is not None else self._store.get_run(run_id)
        self._buffer: MetricBuffer | None = None
        self._names: dict[str, tuple[str, str]] = {}
        self._parent: Run | None | bool = False  # False: not looked up yet
        # The run this process executes as, inside a job Studio submitted: its
        # supervisor owns the final status (from the exit code), as in v1.
        self._job_context = False

    # --- identity ------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._data["id"]

    @property
    def number(self) -> int:
        return self._data["number"]

    @property
    def type(self) -> str:
        return self._data["type"]

    @property
    def status(self) -> str:
        return self._data["status"]

    @property
    def display_name(self) -> str:
        return self._data["display_name"] or self.id

    @display_name.setter
    def display_name(self, value: str) -> None:
        self._data = self._store.update_run(self.id, display_name=value)

    @property
    def name(self) -> str:
        """v1's name of the run: its display name."""
        return self.display_name

    @name.setter
    def name(self, value: str) -> None:
        self.display_name = value

    @property
    def description(self) -> str:
        return self._data["description"]

    @description.setter
    def description(self, value: str) -> None:
        self._data = self._store.update_run(self.id, description=value)

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._data["properties"])

    @property
    def tags(self) -> dict[str, str | None]:
        return dict(self._data["tags"])

    @property
    def parent(self) -> Run | None:
        if self._parent is False:
            parent_id = self._data["parent_id"]
            self._parent = (
                Run(self.experiment, parent_id, _data=_ReadOnUse(self._store, parent_id))
                if parent_id
                else None
            )
        return self._parent  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (
            f"Run(Experiment: {self.experiment.name},\nId: {self.id},\n"
            f"Type: {self.type},\nStatus: {self.status})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @classmethod
    def get_context(cls, allow_offline: bool = True, **kwargs: Any) -> Run:
        """Inside a submitted script, the run it executes as (``STUDIO_RUN_ID``);
        anywhere else an offline run that prints what is logged (or, without
        ``allow_offline``, ``RunEnvironmentException``)."""
        run_id = os.environ.get("STUDIO_RUN_ID")
        if not run_id:
            if not allow_offline:
                from studio.errors import RunEnvironmentException

                raise RunEnvironmentException(
                    "Not inside a run Studio submitted (STUDIO_RUN_ID is not set).",
                    field="allow_offline",
                )
            return OfflineRun()  # type: ignore[return-value]
        # The job's environment names its store; a .studio/config.json copied in with
        # the snapshot must not send the run's metrics elsewhere.
        ws = cls._workspace_class(
            name=os.environ.get("STUDIO_WORKSPACE") or "default",
            tracking_uri=os.environ.get("STUDIO_TRACKING_URI") or None,
        )
        run = ws._bind(ws._store.get_run(run_id))
        run._job_context = True
        return run

    @classmethod
    def get(cls, workspace: Workspace, run_id: str) -> Run:
        """The run ``run_id`` of ``workspace``, whatever its experiment."""
        return workspace.get_run(run_id)

    @staticmethod
    def list(
        experiment: Experiment,
        type: str | None = None,
        tags: Any = None,
        properties: Mapping[str, str] | None = None,
        status: str | None = None,
        include_children: bool = False,
        _rehydrate_runs: bool = True,
    ) -> Iterable[Run]:
        """v1's ``Run.list(experiment, ...)``: ``experiment.get_runs(...)``."""
        return experiment.get_runs(
            type=type,
            tags=tags,
            properties=properties,
            status=status,
            include_children=include_children,
        )

    def get_portal_url(self) -> str:
        """The run's page in the studio."""
        return f"{self.experiment.workspace._studio_url()}/runs/{self.id}/"

    # --- status --------------------------------------------------------------------

    def _refresh(self) -> dict[str, Any]:
        self._data = self._store.get_run(self.id)
        return self._data

    def get_status(self) -> str:
        return self._refresh()["status"]

    def get_environment(self):
        """v1's ``run.get_environment()``: the registered environment (the version) the
        run was submitted with."""
        from studio.sdk.environment import Environment

        recorded = environment_of(self._refresh()["properties"]) or {}
        if "name" not in recorded:
            raise NotFound(f"Run {self.id!r} was submitted without an environment.")
        workspace = self.experiment.workspace
        return Environment.get(workspace, recorded["name"], version=recorded.get("version"))

    def get_details(self) -> dict[str, Any]:
        """The run's details with the keys Azure ML uses (``runId``, ``status``, ...)."""
        d = self._refresh()
        details = {
            "runId": d["id"],
            "runNumber": d["number"],
            "displayName": d["display_name"] or d["id"],
            "experiment": d["experiment"],
            "runType": d["type"],
            "target": d["compute_target"],
            "status": d["status"],
            "startTimeUtc": d["started"],
            "endTimeUtc": d["ended"],
            "submittedBy": d["submitted_by"],
            "properties": d["properties"],
            "tags": d["tags"],
            "parentRunId": d["parent_id"],
            "script": d["script"] or None,
            "arguments": d["arguments"],
            "runDefinition": {
                "script": d["script"] or None,
                "arguments": d["arguments"],
                "target": d["compute_target"],
                "environment": environment_of(d["properties"]),
            },
            "inputDatasets": [],
            "outputDatasets": [],
            "logFiles": {
                name: name
                for name in self._store.file_names(self.id)
                if name.startswith(filenames.LOGS)
            },
        }
        if d["error"]:
            details["error"] = d["error"]
        return details

    def flush(self, *, raise_errors: bool = True) -> None:
        """Send every buffered metric now (``complete()`` and exit do it too)."""
        self._buf().flush(raise_errors=raise_errors)

    def _track_outputs(self, folder: Path) -> None:
        """v1's interactive run: ``folder`` exists, and what is written there while the
        run goes becomes its ``outputs/`` files when it ends."""
        if not os.path.isdir(folder):  # (mkdir(exist_ok=True) raises and catches: 20 us)
            folder.mkdir(parents=True, exist_ok=True)
        self._outputs = (folder, time.time())

    def _upload_outputs(self) -> None:
        folder, since = getattr(self, "_outputs", (None, 0.0))
        if folder is None or not os.path.isdir(folder):
            return
        self._outputs = (None, 0.0)
        with os.scandir(folder) as entries:
            if next(entries, None) is None:  # nothing written (most runs): no walk
                return
        written = sorted(
            p for p in folder.rglob("*")
            if p.is_file() and not p.is_symlink() and p.stat().st_mtime >= since - 1
        )  # fmt: skip
        if written:
            prefix = filenames.OUTPUTS
            names = [prefix + p.relative_to(folder).as_posix() for p in written]
            self.upload_files(names, [str(p) for p in written])

    def _finish(self, change) -> None:
        """Send the buffered points and what the run wrote to its outputs folder, then
        change the status; the buffer is dropped once the run no longer takes metrics."""
        self.flush(raise_errors=False)
        self._upload_outputs()
        self._data = change()
        if self._data["status"] in TERMINAL:
            self._buf().close()
            self._buffer = None
            _flusher.let_go(self._store, self.id)

    def _keep_alive(self) -> Run:
        """This process opened the run: heartbeat it until it finishes."""
        _flusher.keep_alive(self._store, self.id)
        return self

    def complete(self, _set_status: bool = True) -> None:
        """Send what is buffered and mark the run Completed. Inside a submitted job
        (v1 semantics) only send: the exit code decides, after ./outputs are taken."""
        self.flush()
        if self._job_context or not _set_status:
            return
        self._finish(lambda: self._store.complete_run(self.id))

    def fail(
        self,
        error_details: str | None = None,
        error_code: str | None = None,
        _set_status: bool = True,
    ) -> None:
        """Mark the run Failed. Inside a submitted job (v1 semantics) only send what
        is buffered and write the details to the log: the exit code decides."""
        if self._job_context or not _set_status:
            self.flush(raise_errors=False)
            if error_details:
                print(f"run.fail(): {error_details}", file=sys.stderr, flush=True)
            return
        self._finish(
            lambda: self._store.fail_run(
                self.id, error_details=error_details, error_code=error_code
            )
        )

    def cancel(self) -> None:
        if self._job_context:  # v1: a submitted run does not cancel itself
            warn_once("cancel-in-job", "cancel() is not supported for the run of a job.")
            return
        self._finish(lambda: self._store.cancel_run(self.id))

    # archive and trash (Studio's own; v1 has no such calls)

    def archive(self) -> None:
        """Leave this run and the runs below it out of lists (``get_runs``, the
        studio's) unless their filter says ``archived``."""
        self._data = self._store.archive_run(self.id, archived=True)

    def unarchive(self) -> None:
        self._data = self._store.archive_run(self.id, archived=False)

    @property
    def archived(self) -> bool:
        return bool(self._data.get("archived"))

    def delete(self) -> None:
        """Move this finished run and the runs below it to the workspace's trash
        (restored within 30 days from the studio's Trash, ``studio run restore``)."""
        self._store.delete_run(self.id)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._job_context:  # the job's own run: its exit code decides
            self.flush(raise_errors=exc_type is None)
            return False
        if exc_type is None:
            self.flush()
            if self.get_status() not in TERMINAL:
                self.complete()
        else:
            self.flush(raise_errors=False)
            if self.get_status() not in TERMINAL:
                self.fail(error_details=f"{exc_type.__name__}: {exc}", error_code="exception")
        return False

    # --- metrics -------------------------------------------------------------------

    def _name(self, name: str, kind: str) -> str:
        known = self._names.get(name)
        if known is None:
            clean = validation.metric_name(name)  # refused at the call: "sys/" is reserved
            known = self._names[name] = (clean, kind)
        if known[1] != kind:
            raise ValidationError(
                f"Metric {name!r} was logged as {known[1]}; it cannot take a {kind} value.",
                field="name",
            )
        return known[0]

    def _buf(self) -> MetricBuffer:
        if self._buffer is None:
            self._buffer = MetricBuffer.for_run(self._store, self.id)
        return self._buffer

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log one value; repeated calls with the same name form a series.

        Returns at once: the point is buffered and sent in a batch."""
        if type(value) in _NUMBER:
            kind = "scalar"
        elif type(value) is str:
            validation.text(value, "value", max_length=validation.MAX_TEXT_VALUE)
            kind = "text"
        elif value is None or type(value) is bool:  # v1 keeps them as they are
            kind = "text"
        else:  # numpy scalars and other numbers; refuses containers
            value = _v1_scalar(value)
            kind = "text" if type(value) is bool else "scalar"
        known = self._names.get(name)
        clean = known[0] if known is not None and known[1] == kind else self._name(name, kind)
        if step is not None:
            step = validation.step(step)
        # MetricBuffer.add, inlined: this is the training loop's cost per point.
        items = (self._buffer or self._buf()).items
        items.append(("s", clean, step, value, _now()))
        if len(items) >= buffer.FLUSH_THRESHOLD:
            _flusher.wake.set()

    def log_list(self, name: str, value: Iterable[Any], description: str = "") -> None:
        self._record(name, "list", list(value))

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        self._record(name, "row", dict(kwargs))

    def log_table(
        self, name: str, value: Mapping[str, Iterable[Any]], description: str = ""
    ) -> None:
        if not isinstance(value, Mapping):
            raise ValidationError("log_table takes a dict of column lists.", field="value")
        self._record(name, "table", {k: list(v) for k, v in value.items()})

    def log_image(
        self,
        name: str,
        path: str | os.PathLike | None = None,
        plot: Any = None,
        description: str = "",
    ) -> None:
        """Log an image file, or a matplotlib figure (``plot``) saved as PNG."""
        if (path is None) == (plot is None):
            raise ValidationError("log_image takes either path or plot.", field="path")
        clean = self._name(name, "image")
        if path is not None:
            source = Path(path)
            if not source.is_file():
                raise ValidationError(f"No image file at {str(source)!r}.", field="path")
            stream: IO[bytes] = source.open("rb")
            suffix = source.suffix.lower() or ".png"
        else:
            stream = io.BytesIO()
            plot.savefig(stream, format="png")
            stream.seek(0)
            suffix = ".png"
        file_name = f"images/{uuid.uuid4().hex}{suffix}"
        with stream:
            self._store.upload_file(self.id, file_name, stream)
        self._buf().add(("r", clean, "image", {"file": file_name}, None))

    def _record(self, name: str, kind: str, data: Any) -> None:
        clean = self._name(name, kind)
        check_record(kind, data, name)
        self._buf().add(("r", clean, kind, data, None))

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        self.flush()
        return self._store.get_metrics(self.id, name)

    def get_metric_history(self, name: str) -> dict[str, Any]:
        """Every point of the series ``name``: ``{"steps", "values", "times"}`` as NumPy
        arrays (a text series' values as a list). Over a remote studio the points cross
        in binary (``application/x-npy``), not JSON."""
        self.flush()
        return self._store.get_metric_history(self.id, name)

    # --- properties and tags ---------------------------------------------------------

    def add_properties(self, properties: Mapping[str, str]) -> None:
        """Add immutable properties. Another value for an existing key raises."""
        properties = as_text(properties, "Property")
        self._data["properties"] = self._store.add_properties(self.id, properties)

    def get_properties(self) -> dict[str, str]:
        return dict(self._refresh()["properties"])

    def tag(self, key: str, value: str | None = None) -> None:
        tags = as_text({key: value}, "Tag", keep_none=True)
        self._data["tags"] = self._store.set_tags(self.id, tags)

    def set_tags(self, tags: Mapping[str, str | None] | Iterable[str]) -> None:
        if not isinstance(tags, Mapping):
            tags = {k: None for k in tags}
        self._data["tags"] = self._store.set_tags(self.id, as_text(tags, "Tag", keep_none=True))

    def remove_tags(self, tags: Iterable[str]) -> None:
        self._data["tags"] = self._store.remove_tags(self.id, list(tags))

    def get_tags(self) -> dict[str, str | None]:
        return dict(self._refresh()["tags"])

    # --- children --------------------------------------------------------------------

    def child_run(self, name: str | None = None, run_id: str | None = None, outputs=None) -> Run:
        """Start a child run (usable as a ``with`` block)."""
        data = self._store.create_run(
            self._data["workspace"],
            self.experiment.name,
            parent_id=self.id,
            display_name=name or "",
        )
        return Run(self.experiment, data["id"], _data=data)._keep_alive()

    def create_children(
        self,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: Iterable[str] | None = None,
    ) -> list[Run]:
        """Create many child runs in one round trip."""
        rows = self._store.create_children(
            self.id,
            count=count,
            tag_key=tag_key,
            tag_values=list(tag_values) if tag_values is not None else None,
        )
        return [Run(self.experiment, d["id"], _data=d)._keep_alive() for d in rows]

    def get_children(
        self,
        recursive: bool = False,
        tags: Any = None,
        properties: Mapping[str, str] | None = None,
        type: str | None = None,
        status: str | None = None,
        _rehydrate_runs: bool = True,
    ) -> list[Run]:
        """Child runs, oldest first (all descendants with ``recursive``), through the
        one runs query like ``get_runs``."""
        query = RunQuery.of(
            parent=self.id,
            recursive=recursive,
            tags=tags,
            properties=properties,
            type=type,
            status=status,
        )
        rows = self._store.list_runs(self._data["workspace"], query)
        return [Run(self.experiment, d["id"], _data=d) for d in rows]

    def submit_child(self, config, tags: Mapping[str, str | None] | None = None) -> Run:
        """Submit a ``ScriptRunConfig`` as a child of this run (to any target)."""
        data = self._store.submit_run(
            self._data["workspace"],
            self.experiment.name,
            **config._submission(),
            parent_id=self.id,
            tags=tags,
        )
        return Run(self.experiment, data["id"], _data=data)

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
        timeout: float | None = None,
        poll: float = 0.5,
    ) -> dict[str, Any]:
        """Block until the run ends and return its details. With ``show_output``, as
        v1: its RunId and studio URL, its log as it grows, and an execution summary.
        A failed run raises ``RunFailed`` (v1's ``ActivityFailedException``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        out = sys.stdout
        if show_output:
            out.write(f"RunId: {self.id}\nWeb View: {self.get_portal_url()}\n")
        offset = -1  # -1: the log's header not written yet
        while True:
            status = self.get_status()
            if show_output:
                offset = self._stream_log(out, offset)
            if status in TERMINAL:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"Run {self.id} is still {status} after {timeout} s.")
            time.sleep(poll)
        details = self.get_details()
        error = details.get("error")
        if show_output:
            out.write("\nExecution Summary\n=================\n")
            out.write(f"RunId: {self.id}\nWeb View: {self.get_portal_url()}\n")
            if error:
                out.write(f"\nError:\n{json.dumps(error, indent=4)}\n")
            out.write("\n")
            out.flush()
        if raise_on_error and status == "Failed":
            raise RunFailed(
                f"Run {self.id} failed: {(error or {}).get('message', 'no reason given')}",
                field="status",
            )
        return details

    def _stream_log(self, out: IO[str], offset: int) -> int:
        """Write what the live log gained since ``offset``; returns the new offset."""
        try:
            while True:
                chunk, size = self._store.read_file(self.id, filenames.LIVE_LOG, max(offset, 0))
                if offset < 0:
                    bar = "=" * (len(filenames.LIVE_LOG) + 10)
                    out.write(f"\nStreaming {filenames.LIVE_LOG}\n{bar}\n\n")
                    offset = 0
                if chunk:
                    out.write(chunk.decode("utf-8", "replace"))
                    offset += len(chunk)
                if offset >= size or not chunk:
                    break
        except NotFound:
            pass  # no log yet
        out.flush()
        return offset

    _register_model: ClassVar[Any]  # studio.sdk.model.register_from_run, set there

    def register_model(self, model_name: str, model_path: str | None = None, *args, **kwargs):
        """v1's ``run.register_model``: see ``studio.sdk.model.register_from_run``."""
        return self._register_model(model_name, model_path, *args, **kwargs)


class _OfflineRun:
    """What ``Run.get_context()`` returns outside a submitted run: logs are printed."""

    id = "OfflineRun"
    number = 0
    parent = None
    display_name = "OfflineRun"
    description = ""

    def __init__(self) -> None:
        self._tags: dict[str, str | None] = {}
        self._properties: dict[str, str] = {}

    def _print(self, what: str) -> None:
        print(f"Attempted to log {what} to an offline run", file=sys.stdout)

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        self._print(f"scalar metric {name}: {value}")

    def log_list(self, name: str, value: Any, description: str = "") -> None:
        self._print(f"list metric {name}: {value}")

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        self._print(f"row metric {name}: {kwargs}")

    def log_table(self, name: str, value: Any, description: str = "") -> None:
        self._print(f"table metric {name}: {value}")

    def log_image(
        self, name: str, path: Any = None, plot: Any = None, description: str = ""
    ) -> None:
        self._print(f"image metric {name}")

    def tag(self, key: str, value: str | None = None) -> None:
        self._tags[key] = value

    def get_tags(self) -> dict[str, str | None]:
        return dict(self._tags)

    def add_properties(self, properties: Mapping[str, str]) -> None:
        self._properties.update(properties)

    def get_properties(self) -> dict[str, str]:
        return dict(self._properties)

    def get_status(self) -> str:
        return "Running"

    def complete(self) -> None:
        pass

    def flush(self) -> None:
        pass

    def get_children(self, *args: Any, **kwargs: Any) -> list:
        return []
