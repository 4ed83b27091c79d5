"""Static files for production: ``collectstatic`` writes each file with gzip and brotli
variants beside it (``.gz``, ``.br``), which WhiteNoise sends to clients that accept them.

WhiteNoise's storage compresses every file on every ``collectstatic``; brotli at its best
level takes ~10 s for plotly.min.js (4.8 MB), so ``studio server`` would pay that at each
start. Here a file is compressed again only when its variants are missing or older than it
(WhiteNoise gives a variant its source's modification time).
"""

from __future__ import annotations

import os
from typing import Any

from whitenoise.storage import CompressedStaticFilesStorage


class StudioStaticFilesStorage(CompressedStaticFilesStorage):
    def post_process(self, paths: dict[str, Any], dry_run: bool = False, **options: Any):
        stale = {path: v for path, v in paths.items() if not self._compressed_fresh(path)}
        yield from super().post_process(stale, dry_run=dry_run, **options)

    def _compressed_fresh(self, path: str) -> bool:
        full = self.path(path)
        try:
            mtime = os.stat(full).st_mtime
        except FileNotFoundError:
            return False
        variants = [full + ".gz", full + ".br"]
        existing = [v for v in variants if os.path.exists(v)]
        # A file too small to gain from compression has no variant: compressing it
        # again is cheap, so only files with both variants count as done.
        return len(existing) == len(variants) and all(
            os.stat(v).st_mtime == mtime for v in existing
        )
