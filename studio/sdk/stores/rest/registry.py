"""The model registry over the JSON API, mixed into ``RestStore`` (its transport)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import IO, Any

from studio.rules.filenames import check_file_name
from studio.rules.registry import filter_param
from studio.sdk.stores.registry import RegistryContract
from studio.sdk.stores.rest.common import _file_path, _q


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
