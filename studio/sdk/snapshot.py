"""Snapshots of a submitted run's source directory, collected on the submitting side
(no Django import) and uploaded as the run's ``snapshot/`` files (browsable like any
other file); the supervisor materialises them (``studio.execution.snapshot``).

``.studioignore`` in the source directory lists patterns to leave out, one per
line, as in ``.gitignore`` (``#`` comments, ``dir/`` for folders, ``*.ckpt``).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from studio.errors import ValidationError
from studio.rules.filenames import LOGS, OUTPUTS, check_file_name

MAX_FILES = 2_000
MAX_BYTES = 100 * 1024 * 1024
ALWAYS_IGNORED = [".git/", "__pycache__/", ".studio/", OUTPUTS, LOGS, ".venv/", "*.pyc"]


def _patterns(source: Path) -> list[str]:
    patterns = list(ALWAYS_IGNORED)
    ignore = source / ".studioignore"
    if ignore.is_file():
        for line in ignore.read_text(errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line)
    return patterns


def _ignored(rel: str, is_dir: bool, patterns: list[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    for pattern in patterns:
        folder_only = pattern.endswith("/")
        p = pattern.rstrip("/").lstrip("/")
        if folder_only and not is_dir:
            continue
        if fnmatch.fnmatch(rel, p) or ("/" not in p and fnmatch.fnmatch(name, p)):
            return True
    return False


def collect(source_directory: str | os.PathLike, script: str) -> list[tuple[str, Path]]:
    """(name inside the snapshot, path on disk) for every file to snapshot. Symlinks
    are not followed; caps on file count and total size fail loudly."""
    source = Path(source_directory).resolve()
    if not source.is_dir():
        raise ValidationError(f"No source directory at {str(source)!r}.", field="source_directory")
    if not (source / script).is_file():
        raise ValidationError(f"The script {script!r} is not in {str(source)!r}.", field="script")
    patterns = _patterns(source)
    files: list[tuple[str, Path]] = []
    total = 0
    for folder, dirs, names in os.walk(source):
        rel_folder = Path(folder).relative_to(source).as_posix()
        prefix = "" if rel_folder == "." else rel_folder + "/"
        dirs[:] = sorted(
            d
            for d in dirs
            if not Path(folder, d).is_symlink() and not _ignored(prefix + d, True, patterns)
        )
        for name in sorted(names):
            path = Path(folder, name)
            rel = prefix + name
            if path.is_symlink() or not path.is_file() or _ignored(rel, False, patterns):
                continue
            total += path.stat().st_size
            files.append((check_file_name(rel, "source_directory"), path))
            if len(files) > MAX_FILES or total > MAX_BYTES:
                raise ValidationError(
                    f"The source directory holds more than {MAX_FILES} files or "
                    f"{MAX_BYTES // (1024 * 1024)} MB; list what to leave out in .studioignore.",
                    field="source_directory",
                )
    return files
