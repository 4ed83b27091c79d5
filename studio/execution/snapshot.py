"""A submitted run's snapshot (its ``snapshot/`` files, collected by
``studio.sdk.snapshot`` on the submitting side) materialised into the run's own
working copy by its supervisor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

from studio.rules.filenames import SNAPSHOT


def materialize(*, run, into: Path) -> None:
    """Write the run's snapshot files into ``into`` (a folder of its own)."""
    from studio.tracking import selectors
    from studio.tracking.models import RunFile

    into.mkdir(parents=True, exist_ok=True)
    root = into.resolve()
    for run_file in RunFile.objects.filter(run=run, name__startswith=SNAPSHOT):
        rel = run_file.name.removeprefix(SNAPSHOT)
        target = (root / rel).resolve()
        if not target.is_relative_to(root):
            continue  # names were checked on upload; this is the second lock
        target.parent.mkdir(parents=True, exist_ok=True)
        with selectors.file_open(run_file=run_file) as src, open(target, "wb") as dst:
            while chunk := src.read(1024 * 1024):
                dst.write(chunk)


def tar_stream(*, run) -> Iterator[bytes]:
    """The run's snapshot as an uncompressed tar archive, streamed a piece at a time
    (names relative to ``snapshot/``): what a supervisor on another machine unpacks
    (``GET /runs/{id}/snapshot``). Each member has the size recorded for its file; a
    file that reads shorter or longer is padded or cut, so the archive stays valid."""
    import tarfile

    from studio.tracking import selectors
    from studio.tracking.models import RunFile

    block = tarfile.BLOCKSIZE
    files = RunFile.objects.filter(run=run, name__startswith=SNAPSHOT).order_by("name")
    for run_file in files.iterator():
        info = tarfile.TarInfo(run_file.name.removeprefix(SNAPSHOT))
        info.size, info.mode = run_file.size, 0o644
        info.mtime = int(run_file.created_at.timestamp())
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        left = run_file.size
        with selectors.file_open(run_file=run_file) as src:
            while left and (chunk := src.read(min(left, 1024 * 1024))):
                left -= len(chunk)
                yield chunk
        if left:
            yield b"\0" * left
        if run_file.size % block:
            yield b"\0" * (block - run_file.size % block)
    yield b"\0" * (2 * block)


def unpack(stream: IO[bytes], into: Path) -> int:
    """Unpack a snapshot archive (``tar_stream``) read from ``stream`` into ``into``;
    the number of files. Members outside ``into``, links and devices are refused by
    the ``data`` filter, as a second lock (names were checked on upload)."""
    import tarfile

    into.mkdir(parents=True, exist_ok=True)
    count = 0
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            if not member.isfile():
                continue
            archive.extract(member, into, filter="data")
            count += 1
    return count
