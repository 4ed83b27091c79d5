"""A submitted run's snapshot (its ``snapshot/`` files, collected by
``studio.sdk.snapshot`` on the submitting side) materialised into the run's own
working copy by its supervisor."""

from __future__ import annotations

from pathlib import Path

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
