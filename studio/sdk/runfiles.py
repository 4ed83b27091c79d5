"""A run's files, with v1's names: upload one, many or a folder, download by prefix,
logs with their content, and the snapshot back as a ZIP."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from studio.errors import ValidationError
from studio.rules import filenames


class RunFiles:
    """Mixed into ``Run``: needs ``self.id`` and ``self._store``."""

    id: str
    _store: Any

    def upload_file(
        self,
        name: str,
        path_or_stream: str | os.PathLike | IO[bytes],
        datastore_name: str | None = None,
    ) -> None:
        if isinstance(path_or_stream, (str, os.PathLike)):
            source = Path(path_or_stream)
            if not source.is_file():
                raise ValidationError(f"No file at {str(source)!r}.", field="path_or_stream")
            with source.open("rb") as stream:
                self._store.upload_file(self.id, name, stream)
        else:
            self._store.upload_file(self.id, name, path_or_stream)

    def upload_files(
        self,
        names: Iterable[str],
        paths: Iterable[str | os.PathLike],
        return_artifacts: bool = False,
        timeout_seconds: int | None = None,
        datastore_name: str | None = None,
    ) -> None:
        """Upload ``paths[i]`` as ``names[i]``; every path is checked before the first
        upload, so a missing file uploads nothing."""
        pairs = list(zip(list(names), list(paths), strict=True))
        for _, path in pairs:
            if not Path(path).is_file():
                raise ValidationError(f"No file at {str(path)!r}.", field="paths")
        for name, path in pairs:
            self.upload_file(name, path)

    def upload_folder(
        self, name: str, path: str | os.PathLike, datastore_name: str | None = None
    ) -> None:
        """Every regular file under ``path`` as ``name/<relative path>``."""
        root = Path(path)
        if not root.is_dir():
            raise ValidationError(f"No folder at {str(root)!r}.", field="path")
        prefix = name.rstrip("/")
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        self.upload_files(
            [f"{prefix}/{p.relative_to(root).as_posix()}" for p in files], [str(p) for p in files]
        )

    def get_file_names(self) -> list[str]:
        return self._store.file_names(self.id)

    def download_file(
        self, name: str, output_file_path: str | os.PathLike | None = None, **kwargs: Any
    ) -> str:
        target = Path(output_file_path or Path(name).name)
        if target.is_dir():
            target = target / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        with tmp.open("wb") as out:
            self._store.download_file(self.id, name, out)
        tmp.replace(target)
        return str(target)

    def download_files(
        self,
        prefix: str | None = None,
        output_directory: str | os.PathLike | None = None,
        output_paths: Iterable[str] | None = None,
        batch_size: int = 100,
        append_prefix: bool = True,
        timeout_seconds: int | None = None,
    ) -> list[str]:
        """Download the run's files whose names start with ``prefix`` (all by default)
        into ``output_directory`` (default the cwd), keeping their paths; without
        ``append_prefix`` the prefix is cut from them. Returns the paths written."""
        names = [n for n in self.get_file_names() if n.startswith(prefix or "")]
        if output_paths is not None:
            targets = [Path(p) for p in output_paths]
            if len(targets) != len(names):
                raise ValidationError(
                    f"output_paths names {len(targets)} paths for {len(names)} files.",
                    field="output_paths",
                )
        else:
            base = Path(output_directory or ".")
            cut = 0 if append_prefix or not prefix else len(prefix)
            targets = [base / n[cut:].lstrip("/") for n in names]
        return [self.download_file(n, t) for n, t in zip(names, targets, strict=True)]

    def restore_snapshot(
        self, snapshot_id: str | None = None, path: str | os.PathLike | None = None
    ) -> str:
        """The run's snapshot (the source folder it was submitted with) as a ZIP;
        ``path`` is a folder (default the cwd) or a ``.zip`` file name. Returns its path."""
        names = [n for n in self.get_file_names() if n.startswith(filenames.SNAPSHOT)]
        if not names:
            raise ValidationError(f"Run {self.id} has no snapshot.", field="snapshot_id")
        target = Path(path or ".")
        if target.suffix.lower() != ".zip":
            target.mkdir(parents=True, exist_ok=True)
            target = target / f"{snapshot_id or self.id}.zip"
        tmp = target.with_name(f".{target.name}.part")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                with archive.open(name[len(filenames.SNAPSHOT) :], "w") as out:
                    self._store.download_file(self.id, name, out)
        tmp.replace(target)
        return str(target)

    def _log_names(self) -> list[str]:
        return [n for n in self.get_file_names() if n.startswith(filenames.LOGS)]

    def _read_text(self, name: str) -> str:
        chunks, offset = [], 0
        while True:
            chunk, size = self._store.read_file(self.id, name, offset)
            chunks.append(chunk)
            offset += len(chunk)
            if not chunk or offset >= size:
                return b"".join(chunks).decode("utf-8", "replace")

    def get_details_with_logs(self) -> dict[str, Any]:
        """``get_details()`` with the content of each log in ``logFiles``."""
        details = self.get_details()  # type: ignore[attr-defined]
        details["logFiles"] = {name: self._read_text(name) for name in details["logFiles"]}
        return details

    def get_all_logs(self, destination: str | os.PathLike | None = None) -> list[str]:
        """Download the run's logs into ``destination`` (default ``assets/<run id>``);
        returns the paths written."""
        if destination is not None and Path(destination).exists():
            if not Path(destination).is_dir():
                raise ValidationError(
                    f"{destination} exists and is not a directory.", field="destination"
                )
        base = Path(destination) if destination is not None else Path("assets") / self.id
        base.mkdir(parents=True, exist_ok=True)
        return [self.download_file(name, base / name) for name in self._log_names()]
