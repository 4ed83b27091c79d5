"""``Model``: a registered model, as the Azure ML SDK v1 names it.

    model = run.register_model("sklearn_mnist", model_path="outputs/model.pkl")
    model = Model.register(ws, model_path="model.pkl", model_name="sklearn_mnist")
    Model(ws, "sklearn_mnist")              # the latest version
    Model(ws, "sklearn_mnist", version=1)   # or ModelNotFoundException
    Model.list(ws, tags=[["area", "mnist"]])
    model.download(target_dir="out")        # -> "out/model.pkl"

Versions are numbered per name by the studio, files are copies kept with the run
files. Keywords that need Azure (datasets, resource configuration) are accepted,
recorded as properties and warned about once.
"""

from __future__ import annotations

import os
import warnings
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.errors import (  # v1's exception names for what the registry raises too
    Conflict,
    ModelNotFound,
    ModelPathNotFound,
    ValidationError,
)
from studio.rules import registry as rules
from studio.rules.filenames import check_file_name
from studio.sdk.run import Run

if TYPE_CHECKING:
    from studio.sdk.workspace import Workspace


# Where Model.get_model_path() keeps downloaded models (v1's layout).
MODELS_DIR = os.path.join(os.environ.get("AML_APP_ROOT", ""), "azureml-models")
FRAMEWORK = "azureml.model_framework"
FRAMEWORK_VERSION = "azureml.model_framework_version"
# Keywords that need an Azure service: recorded under this prefix, warned about once.
CLOUD_ONLY = (
    "datasets",
    "sample_input_dataset",
    "sample_output_dataset",
    "resource_configuration",
)
_warned: set[str] = set()


def _warn_once(name: str, message: str) -> None:
    if name not in _warned:
        _warned.add(name)
        warnings.warn(message, UserWarning, stacklevel=3)


def _strings(values: Any, what: str) -> dict[str, str] | None:
    """Tags and properties as strings: v1 sends any JSON value; Studio keeps
    ``str()`` of the ones that are not strings, and says so once."""
    if values is None:
        return None
    if not isinstance(values, dict):
        raise ValidationError(f"Model {what} must be a dict.", field=what)
    out = {}
    for key, value in values.items():
        if not isinstance(value, str):
            _warn_once(
                f"model {what} str()",
                f"studio: model {what} values are strings; {key}={value!r} is stored as str().",
            )
            value = str(value)
        out[key] = value
    return out


def _recorded(properties: dict[str, str] | None, **given: Any) -> dict[str, str] | None:
    """``properties`` plus what v1 would have sent to Azure, recorded as
    ``azureml.<keyword>`` (and warned about once per keyword)."""
    extra = {}
    for keyword, value in given.items():
        if value is None:
            continue
        if keyword in CLOUD_ONLY:
            _warn_once(
                f"Model {keyword}",
                f"studio: {keyword}= needs Azure ML; it is recorded on the model "
                f"(property azureml.{keyword}) and otherwise ignored.",
            )
            extra[f"azureml.{keyword}"] = str(value)
        else:  # the framework: Studio keeps it (and filters on it)
            extra[f"azureml.{keyword}"] = str(value)
    if not extra:
        return properties
    return {**extra, **(properties or {})}


class Model:
    """A registered model version. ``Model(ws, name)`` is the latest version of
    ``name``; ``version=``, ``id="name:version"``, ``tags=``, ``properties=`` and
    ``run_id=`` narrow it (v1's constructor is a getter)."""

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: list | None = None,
        properties: list | None = None,
        version: int | None = None,
        run_id: str | None = None,
        model_framework: str | None = None,
        expand: bool = True,
        **kwargs: Any,
    ):
        self.workspace = workspace
        data = kwargs.get("_data")
        if data is None:
            data = self._get(
                workspace, name, id, tags, properties, version, run_id, model_framework
            )
        self._load(data)

    @staticmethod
    def _get(workspace, name, id, tags, properties, version, run_id, model_framework) -> dict:
        store = workspace._store
        if id:
            name, _, version = str(id).rpartition(":")
            if not name:
                raise ValidationError(f"Model id {id!r} is not 'name:version'.", field="id")
        if not name:
            raise ValidationError("Error, one of id or name must be provided.", field="name")
        if version is not None:
            return store.get_model(workspace.name, name, rules.model_version(version))
        props = rules.filters(properties, "properties")
        if model_framework:
            props.append((FRAMEWORK, model_framework))
        if tags or props or run_id:
            found = store.list_models(
                workspace.name,
                name=name,
                tags=rules.filters(tags, "tags"),
                properties=props,
                run_id=run_id,
            )
            if not found:
                raise ModelNotFound(
                    f"ModelNotFound: Model with name {name} and the given filters not found "
                    "in provided workspace",
                    field="model",
                )
            return max(found, key=lambda d: d["version"])
        return store.get_model(workspace.name, name)

    def _load(self, data: dict[str, Any]) -> None:
        self._data = data
        self.name: str = data["name"]
        self.version: int = data["version"]
        self.id: str = data["id"]
        self.description: str = data["description"]
        self.tags: dict[str, str] = dict(data["tags"])
        self.properties: dict[str, str] = dict(data["properties"])
        self.run_id: str | None = data["run_id"]
        self.experiment_name: str | None = data["experiment_name"]
        self.created_time = datetime.fromisoformat(data["created_time"].replace("Z", "+00:00"))
        self.created_by = {"userName": data["created_by"]}
        self.model_framework = self.properties.get(FRAMEWORK)
        self.model_framework_version = self.properties.get(FRAMEWORK_VERSION)
        self.mime_type = "application/octet-stream"
        self.unpack = False
        self.parent_id = None
        self.derived_model_ids: list[str] = []
        self.datasets: dict[str, list] = {}
        self.sample_input_dataset = None
        self.sample_output_dataset = None
        self.resource_configuration = None
        uri = self.workspace.tracking_uri
        web = uri.rstrip("/") if uri.startswith(("http://", "https://")) else ""
        self.url: str = web + data["url"]

    @property
    def run(self) -> Run | None:
        """The run the model was registered from (None for an uploaded one)."""
        return self.workspace.get_run(self.run_id) if self.run_id else None

    def __repr__(self) -> str:
        return (
            f"Model(workspace={self.workspace!r}, name={self.name}, id={self.id}, "
            f"version={self.version}, tags={self.tags}, properties={self.properties})"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Model)
            and other.id == self.id
            and other.workspace.name == self.workspace.name
        )

    def __hash__(self) -> int:
        return hash((self.workspace.name, self.id))

    # --- registering ------------------------------------------------------------------

    @staticmethod
    def register(
        workspace: Workspace,
        model_path: str | os.PathLike,
        model_name: str,
        tags: dict | None = None,
        properties: dict | None = None,
        description: str | None = None,
        datasets: list | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        child_paths: list[str] | None = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: Any = None,
        **kwargs: Any,
    ) -> Model:
        """Upload a local file or folder (``child_paths``: only those inside it) as
        the next version of ``model_name``."""
        rules.model_name(model_name)
        if model_framework is None and model_framework_version is not None:
            raise ValidationError(
                "Model framework version cannot be provided without a valid framework",
                field="model_framework_version",
            )
        files = _local_files(Path(model_path), child_paths)
        props = _recorded(
            _strings(properties, "properties"),
            model_framework=model_framework,
            model_framework_version=model_framework_version,
            datasets=datasets,
            sample_input_dataset=sample_input_dataset,
            sample_output_dataset=sample_output_dataset,
            resource_configuration=resource_configuration,
        )
        print(f"Registering model {model_name}")
        data = workspace._store.register_model_files(
            workspace.name,
            model_name,
            files=files,
            path=os.path.basename(os.path.abspath(model_path)),
            tags=_strings(tags, "tags"),
            properties=props,
            description=description,
        )
        return Model(workspace, _data=data)

    @staticmethod
    def list(
        workspace: Workspace,
        name: str | None = None,
        tags: list | None = None,
        properties: list | None = None,
        run_id: str | None = None,
        latest: bool = False,
        dataset_id: str | None = None,
        expand: bool = True,
        page_count: int = 255,
        model_framework: str | None = None,
    ) -> list[Model]:
        """The workspace's model versions, newest first. ``tags`` and ``properties``
        are v1's filter lists: ``['key', ['key2', 'value2']]``."""
        if dataset_id is not None:
            _warn_once(
                "Model.list dataset_id",
                "studio: models are not linked to Azure datasets; dataset_id= matches none.",
            )
            return []
        props = rules.filters(properties, "properties")
        if model_framework:
            props.append((FRAMEWORK, model_framework))
        rows = workspace._store.list_models(
            workspace.name,
            name=name,
            tags=rules.filters(tags, "tags"),
            properties=props,
            run_id=run_id,
            latest=latest,
        )
        return [Model(workspace, _data=row) for row in rows]

    @staticmethod
    def _latest_by_name(workspace: Workspace) -> dict[str, Model]:
        """``ws.models``: each model's latest version, by name."""
        return {m.name: m for m in Model.list(workspace, latest=True)}

    # --- tags, properties, description ----------------------------------------------

    def _update(self, **changes: Any) -> None:
        data = self.workspace._store.update_model(
            self.workspace.name, self.name, self.version, **changes
        )
        self._load(data)

    def add_tags(self, tags: dict) -> None:
        self._update(tags=_strings(tags, "tags"))

    def remove_tags(self, tags: list[str]) -> None:
        self._update(remove_tags=list(tags))

    def add_properties(self, properties: dict) -> None:
        """Add properties; an existing one cannot change (``PropertyConflict``)."""
        self._update(properties=_strings(properties, "properties"))

    def update(
        self,
        tags: dict | None = None,
        description: str | None = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: Any = None,
    ) -> None:
        """Set ``tags`` (v1 replaces them) and the description."""
        recorded = _recorded(
            None,
            sample_input_dataset=sample_input_dataset,
            sample_output_dataset=sample_output_dataset,
            resource_configuration=resource_configuration,
        )
        new_tags = _strings(tags, "tags")
        gone = [k for k in self.tags if k not in new_tags] if new_tags is not None else None
        self._update(tags=new_tags, remove_tags=gone, properties=recorded, description=description)

    def update_tags_properties(
        self,
        add_tags: dict | None = None,
        remove_tags: list[str] | None = None,
        add_properties: dict | None = None,
        remove_properties: list[str] | None = None,
    ) -> None:
        if remove_properties:
            raise Conflict("Model properties cannot be removed.", field="properties")
        self._update(
            tags=_strings(add_tags, "tags"),
            remove_tags=list(remove_tags or ()),
            properties=_strings(add_properties, "properties"),
        )

    def serialize(self) -> dict[str, Any]:
        """v1's dictionary form."""
        return {
            "createdTime": self._data["created_time"],
            "createdBy": self.created_by,
            "description": self.description,
            "id": self.id,
            "mimeType": self.mime_type,
            "name": self.name,
            "framework": self.model_framework,
            "frameworkVersion": self.model_framework_version,
            "tags": self.tags,
            "properties": self.properties,
            "unpack": self.unpack,
            "url": self.url,
            "version": self.version,
            "experimentName": self.experiment_name,
            "runId": self.run_id,
            "datasets": {},
            "resourceConfiguration": None,
        }

    # --- files --------------------------------------------------------------------------

    def get_file_names(self) -> list[str]:
        return [f["name"] for f in self._data["files"]]

    def download(
        self, target_dir: str | os.PathLike = ".", exist_ok: bool = False, exists_ok: Any = None
    ) -> str:
        """Write the model's files under ``target_dir`` as they were registered
        (``model.pkl``, or ``folder/...``) and return the path of the file or
        folder. Existing files are an error unless ``exist_ok``."""
        if exists_ok is not None:
            exist_ok = bool(exists_ok)
        root = Path(target_dir)
        root.mkdir(parents=True, exist_ok=True)
        base = root.resolve()
        targets = [(f["name"], _target(root, base, f["name"])) for f in self._data["files"]]
        if not targets:
            raise ValidationError("No files to download.", field="model")
        if not exist_ok:
            for _, target in targets:
                if target.exists():
                    raise Conflict(
                        f"File already exists. To overwrite, set exist_ok to True. {target}",
                        field="target_dir",
                        code="file_exists",
                    )
        for name, target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.part")
            with tmp.open("wb") as out:
                self.workspace._store.download_model_file(
                    self.workspace.name, self.name, self.version, name, out
                )
            tmp.replace(target)
        return os.path.commonpath([str(t) for _, t in targets])

    @staticmethod
    def get_model_path(
        model_name: str, version: int | None = None, _workspace: Workspace | None = None
    ) -> str:
        """The local path of a model: inside a submitted run (or with
        ``_workspace``) downloaded to ``azureml-models/<name>/<version>/``; else
        found there (latest version) or as ``./<name>``."""
        workspace = _workspace
        if os.environ.get("STUDIO_RUN_ID"):
            workspace = Run.get_context().experiment.workspace
        if workspace is not None:
            model = Model(workspace, model_name, version=version)
            target = os.path.join(MODELS_DIR, model_name, str(model.version))
            return model.download(target, exist_ok=True)
        return _cached_model_path(model_name, version)


def _target(root: Path, base: Path, name: str) -> Path:
    """Where the model file ``name`` goes under ``root``; names come from the
    store, which may be a server: checked, never trusted."""
    target = root / check_file_name(name)
    resolved = target.resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise ValidationError(f"The file name {name!r} leads out of {str(root)!r}.", field="name")
    return target


def _local_files(path: Path, child_paths: list[str] | None) -> list[tuple[str, str]]:
    """(name in the model, local path) of what ``Model.register`` uploads: names
    relative to the path's parent, as v1 lays them out."""
    if not path.exists():
        raise ModelPathNotFound(
            f'Error, provided model path "{path}" cannot be found', field="model_path"
        )
    parent = path.resolve().parent
    if child_paths:
        chosen: list[Path] = []
        for child in child_paths:
            full = path / child
            if not full.exists():
                raise ModelPathNotFound(
                    f'Error, provided child path "{child}" cannot be found', field="child_paths"
                )
            chosen += sorted(p for p in full.rglob("*") if p.is_file()) if full.is_dir() else [full]
    elif path.is_dir():
        chosen = sorted(p for p in path.rglob("*") if p.is_file())
    else:
        chosen = [path]
    if len(chosen) > rules.MAX_MODEL_FILES:
        raise ValidationError(
            f"A model holds at most {rules.MAX_MODEL_FILES} files.", field="model_path"
        )
    return [(p.resolve().relative_to(parent).as_posix(), str(p)) for p in chosen]


def _cached_model_path(model_name: str, version: int | None) -> str:
    folder = Path(MODELS_DIR) / model_name
    if folder.is_dir():
        versions = [int(p.name) for p in folder.iterdir() if p.name.isdigit()]
        chosen = version if version is not None else max(versions, default=None)
        candidate = folder / str(chosen)
        if chosen is not None and candidate.is_dir():
            entries = list(candidate.iterdir())
            if len(entries) == 1:
                return str(entries[0])
    if os.path.exists(model_name):
        return model_name
    raise ModelNotFound(
        f"Model {model_name} not found in cache at {MODELS_DIR} or in current working "
        f"directory {os.getcwd()}.",
        field="model",
    )


def register_from_run(
    run: Run,
    model_name: str,
    model_path: str | None = None,
    tags: dict | None = None,
    properties: dict | None = None,
    model_framework: str | None = None,
    model_framework_version: str | None = None,
    description: str | None = None,
    datasets: list | None = None,
    sample_input_dataset: Any = None,
    sample_output_dataset: Any = None,
    resource_configuration: Any = None,
    **kwargs: Any,
) -> Model:
    """``run.register_model``: the run's file or folder ``model_path`` (default
    ``model_name``) becomes the next version of ``model_name``."""
    rules.model_name(model_name)
    props = _recorded(
        _strings(properties, "properties"),
        model_framework=model_framework,
        model_framework_version=model_framework_version,
        datasets=datasets,
        sample_input_dataset=sample_input_dataset,
        sample_output_dataset=sample_output_dataset,
        resource_configuration=resource_configuration,
    )
    data = run._store.register_model_from_run(
        run.id,
        model_name,
        path=model_path,
        tags=_strings(tags, "tags"),
        properties=props,
        description=description,
    )
    return Model(run.experiment.workspace, _data=data)


# run.py sits below this module: Run.register_model reaches register_from_run
# through the class instead of importing it (no import cycle).
Run._register_model = register_from_run
