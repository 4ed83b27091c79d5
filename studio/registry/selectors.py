"""Every read of the model registry."""

from __future__ import annotations

from typing import IO

from django.db.models import Count, Max, OuterRef, QuerySet, Subquery, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from studio.errors import ModelNotFound, NotFound
from studio.registry.models import ModelFile, ModelVersion, RegisteredModel
from studio.rules import registry as rules
from studio.tracking import storage
from studio.tracking.models import Workspace

MAX_LIST = 10_000


def _versions() -> QuerySet[ModelVersion]:
    return (
        ModelVersion.objects.select_related("model__workspace", "run__experiment")
        .prefetch_related("files")
        .order_by("-created_at", "-pk")
    )


def _not_found(name: str, version: int | None = None) -> ModelNotFound:
    which = f"name {name}" + (f", version {version}" if version is not None else "")
    return ModelNotFound(
        f"ModelNotFound: Model with {which} not found in provided workspace", field="model"
    )


def model_get(*, workspace: Workspace, name: str) -> RegisteredModel:
    model = RegisteredModel.objects.filter(workspace=workspace, name=name).first()
    if model is None or model.version_counter == 0:
        raise _not_found(name)
    return model


def version_get(*, workspace: Workspace, name: str, version: int | None = None) -> ModelVersion:
    """The version ``version`` of the model ``name`` (the latest one without)."""
    if version is not None:
        version = rules.model_version(version)
    qs = _versions().filter(model__workspace=workspace, model__name=name)
    found = (qs.filter(version=version) if version is not None else qs.order_by("-version")).first()
    if found is None:
        raise _not_found(name, version)
    return found


def version_list(
    *,
    workspace: Workspace,
    name: str | None = None,
    tags: list[tuple[str, str | None]] = (),
    properties: list[tuple[str, str | None]] = (),
    run_id: str | None = None,
    latest: bool = False,
    limit: int = MAX_LIST,
) -> list[ModelVersion]:
    """Versions of the workspace's models, newest first (v1's ``Model.list``)."""
    qs = _versions().filter(model__workspace=workspace)
    if name is not None:
        qs = qs.filter(model__name=name)
    if run_id is not None:
        qs = qs.filter(run__run_id=run_id)
    for field, wanted in (("tags", tags), ("properties", properties)):
        for i, (key, value) in enumerate(wanted):
            qs = qs.filter(**{f"{field}__has_key": key})
            if value is not None:
                alias = f"_{field}_{i}"
                # Cast: a plain text comparison (KeyTextTransform's own lookup
                # reads the value as JSON on SQLite).
                text = Cast(KeyTextTransform(key, field), TextField())
                qs = qs.alias(**{alias: text}).filter(**{alias: value})
    if latest:
        newest = ModelVersion.objects.filter(model=OuterRef("model")).order_by("-version")
        qs = qs.filter(version=Subquery(newest.values("version")[:1]))
    return list(qs[:limit])


def models_overview(*, workspace: Workspace) -> list[RegisteredModel]:
    """The workspace's models for the Models page: each with its version count and
    latest version, newest activity first (two queries)."""
    models = list(
        RegisteredModel.objects.filter(workspace=workspace, version_counter__gt=0)
        .annotate(version_count=Count("versions"), latest=Max("versions__version"))
        .order_by("-updated_at", "name")
    )
    latest = {
        (v.model_id, v.version): v
        for v in ModelVersion.objects.select_related("run").filter(
            model__in=models, version__in={m.latest for m in models}
        )
    }
    for model in models:
        model.latest_version = latest.get((model.pk, model.latest))
    return models


def model_versions(*, model: RegisteredModel) -> list[ModelVersion]:
    """Every version of ``model``, newest first, with the run each came from."""
    return list(
        model.versions.select_related("run__experiment")
        .annotate(file_count=Count("files"))
        .order_by("-version")
    )


def file_get(*, version: ModelVersion, name: str) -> ModelFile:
    name = storage.check_file_name(name)
    found = ModelFile.objects.filter(version=version, name=name).first()
    if found is None:
        raise NotFound(f"Model {version} has no file named {name!r}.", field="name")
    return found


def file_open(*, model_file: ModelFile) -> IO[bytes]:
    try:
        return storage.open_object(model_file.storage_key, size=model_file.size)
    except FileNotFoundError:
        raise NotFound(f"The bytes of {model_file.name!r} are missing.", field="name") from None
