"""The model registry's part of the store contract (``studio.sdk.model`` uses it),
and its two implementations, mixed into ``LocalStore`` and ``RestStore``. Model
versions travel as ``studio.registry.schema.version_to_dict`` makes them."""

from __future__ import annotations

import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import IO, Any

from studio.rules.filenames import check_file_name
from studio.rules.registry import filter_param


def _q(value: str) -> str:
    from studio.sdk.stores import rest  # imports this module: read on use

    return rest._q(value)


def _file_path(name: str) -> str:
    from studio.sdk.stores import rest

    return rest._file_path(name)


class RegistryContract(ABC):
    """What every store does for the model registry."""

    @abstractmethod
    def list_models(
        self,
        workspace: str,
        *,
        name: str | None = None,
        tags: Sequence[tuple[str, str | None]] = (),
        properties: Sequence[tuple[str, str | None]] = (),
        run_id: str | None = None,
        latest: bool = False,
    ) -> list[dict[str, Any]]:
        """Model versions, newest first; each filter (key, value or None) must match."""

    @abstractmethod
    def get_model(self, workspace: str, name: str, version: int | None = None) -> dict[str, Any]:
        """A version of the model ``name``, the latest without ``version``
        (``ModelNotFound`` if there is none)."""

    @abstractmethod
    def register_model_from_run(
        self,
        run_id: str,
        name: str,
        *,
        path: str | None = None,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """The next version of ``name`` made of copies of the run's file or folder
        ``path`` (``ModelPathNotFound`` when it names none)."""

    @abstractmethod
    def register_model_files(
        self,
        workspace: str,
        name: str,
        *,
        files: Sequence[tuple[str, Any]],
        path: str = "",
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """The next version of ``name`` made of local files (name in the model, path)."""

    @abstractmethod
    def update_model(
        self,
        workspace: str,
        name: str,
        version: int,
        *,
        tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]: ...

    @abstractmethod
    def download_model_file(
        self, workspace: str, name: str, version: int, file: str, out: IO[bytes]
    ) -> None: ...


class LocalRegistry(RegistryContract):
    """In-process: the registry's services and selectors (LocalStore's helpers)."""

    user: str

    def list_models(
        self,
        workspace: str,
        *,
        name: str | None = None,
        tags: Sequence[tuple[str, str | None]] = (),
        properties: Sequence[tuple[str, str | None]] = (),
        run_id: str | None = None,
        latest: bool = False,
    ) -> list[dict[str, Any]]:
        from studio.registry import selectors
        from studio.registry.schema import version_to_dict

        versions = selectors.version_list(
            workspace=self._workspace(workspace),
            name=name,
            tags=list(tags),
            properties=list(properties),
            run_id=run_id,
            latest=latest,
        )
        return [version_to_dict(v) for v in versions]

    def get_model(self, workspace: str, name: str, version: int | None = None) -> dict[str, Any]:
        from studio.registry import selectors
        from studio.registry.schema import version_to_dict

        found = selectors.version_get(
            workspace=self._workspace(workspace), name=name, version=version
        )
        return version_to_dict(found)

    def _model_dict(self, version) -> dict[str, Any]:
        from studio.registry import selectors
        from studio.registry.schema import version_to_dict

        return version_to_dict(
            selectors.version_get(
                workspace=version.model.workspace, name=version.model.name, version=version.version
            )
        )

    def register_model_from_run(
        self,
        run_id: str,
        name: str,
        *,
        path: str | None = None,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        from studio.registry import services

        run = self._run(run_id)
        version = services.model_register(
            workspace=run.workspace,
            name=name,
            created_by=self.user,
            run=run,
            path=path,
            tags=tags,
            properties=properties,
            description=description,
        )
        return self._model_dict(version)

    def register_model_files(
        self,
        workspace: str,
        name: str,
        *,
        files: Sequence[tuple[str, Any]],
        path: str = "",
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        from studio.registry import services

        ws = self._workspace(workspace)
        upload = uuid.uuid4()
        try:
            for file_name, file_path in files:
                with open(file_path, "rb") as f:
                    services.model_file_stage(
                        workspace=ws,
                        upload=upload,
                        name=file_name,
                        content=f,
                        uploaded_by=self.user,
                    )
            version = services.model_register(
                workspace=ws,
                name=name,
                created_by=self.user,
                upload=upload,
                path=path,
                tags=tags,
                properties=properties,
                description=description,
            )
        except BaseException:
            services.model_upload_discard(workspace=ws, upload=upload)
            raise
        return self._model_dict(version)

    def update_model(
        self,
        workspace: str,
        name: str,
        version: int,
        *,
        tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        from studio.registry import selectors, services

        found = selectors.version_get(
            workspace=self._workspace(workspace), name=name, version=version
        )
        services.model_version_update(
            version=found,
            tags=tags,
            remove_tags=list(remove_tags or ()),
            properties=properties,
            description=description,
        )
        return self._model_dict(found)

    def download_model_file(
        self, workspace: str, name: str, version: int, file: str, out: IO[bytes]
    ) -> None:
        from studio.registry import selectors

        found = selectors.version_get(
            workspace=self._workspace(workspace), name=name, version=version
        )
        model_file = selectors.file_get(version=found, name=file)
        with selectors.file_open(model_file=model_file) as src:
            shutil.copyfileobj(src, out, 1024 * 1024)


class RestRegistry(RegistryContract):
    """Over the JSON API (RestStore's transport)."""

    def _model_path(self, workspace: str, name: str, version: int | None = None) -> str:
        path = f"/workspaces/{_q(workspace)}/models/{_q(name)}"
        return path if version is None else f"{path}/versions/{int(version)}"

    def list_models(
        self,
        workspace: str,
        *,
        name: str | None = None,
        tags: Sequence[tuple[str, str | None]] = (),
        properties: Sequence[tuple[str, str | None]] = (),
        run_id: str | None = None,
        latest: bool = False,
    ) -> list[dict[str, Any]]:
        params = list(self._params(model=name, run_id=run_id, latest=latest).items())
        params += [("tag", filter_param(t)) for t in tags]
        params += [("prop", filter_param(p)) for p in properties]
        path = f"/workspaces/{_q(workspace)}/models"
        return self._call("GET", path, params=params)["models"]

    def get_model(self, workspace: str, name: str, version: int | None = None) -> dict[str, Any]:
        return self._call("GET", self._model_path(workspace, name, version))

    def register_model_from_run(
        self,
        run_id: str,
        name: str,
        *,
        path: str | None = None,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "path": path,
            "tags": dict(tags) if tags else None,
            "properties": dict(properties) if properties else None,
            "description": description,
        }
        return self._call("POST", f"/runs/{_q(run_id)}/models", json_body=body)

    def register_model_files(
        self,
        workspace: str,
        name: str,
        *,
        files: Sequence[tuple[str, Any]],
        path: str = "",
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        upload = uuid.uuid4().hex
        base = f"/workspaces/{_q(workspace)}/model-uploads/{upload}/files/"
        for file_name, file_path in files:
            with open(file_path, "rb") as f:
                self._call(
                    "PUT",
                    base + _file_path(check_file_name(file_name)),
                    content=f.read(),
                    headers={"Content-Type": "application/octet-stream"},
                )
        body = {
            "name": name,
            "upload": upload,
            "path": path,
            "tags": dict(tags) if tags else None,
            "properties": dict(properties) if properties else None,
            "description": description,
        }
        return self._call("POST", f"/workspaces/{_q(workspace)}/models", json_body=body)

    def update_model(
        self,
        workspace: str,
        name: str,
        version: int,
        *,
        tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "tags": dict(tags) if tags else None,
            "remove_tags": list(remove_tags) if remove_tags else None,
            "properties": dict(properties) if properties else None,
            "description": description,
        }
        return self._call("PATCH", self._model_path(workspace, name, version), json_body=body)

    def download_model_file(
        self, workspace: str, name: str, version: int, file: str, out: IO[bytes]
    ) -> None:
        url = f"{self._model_path(workspace, name, version)}/files/{_file_path(file)}"
        self._stream_to(url, out)
