"""The model registry's part of the store contract (``studio.sdk.model`` uses it),
implemented by ``local.LocalRegistry`` and ``rest.RestRegistry``, mixed into the
two stores. Model versions travel as ``studio.registry.schema.version_to_dict`` makes them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import IO, Any


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
