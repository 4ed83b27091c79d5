"""The spool of metric batches that could not reach the server (see the package's
docstring): written one fsync'd file per batch, drained in order, refused batches kept
aside. Mixed into ``RestStore``, whose ``_call`` delivers them."""

from __future__ import annotations

import os
import sys
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from studio.errors import StudioError, Unavailable, ValidationError
from studio.rules import jsoncodec, seriescodec
from studio.sdk.stores.rest import common
from studio.sdk.stores.rest.common import _points, _q


class Spool:
    """Metric batches, delivered now or spooled until the server is back."""

    def log_batch(
        self,
        run_id: str,
        batch_id: str,
        series: Sequence[Mapping[str, Any]],
        records: Sequence[Mapping[str, Any]],
    ) -> dict[str, Any]:
        body = {"batch_id": batch_id, "series": list(series), "records": list(records)}
        # Keep order: while older batches wait in the spool, newer ones queue behind them.
        if self._spooled(run_id) or time.monotonic() < self.down_until:
            self._spool(run_id, body)
            self.drain(run_id)
            return {"batch_id": batch_id, "spooled": True}
        try:
            return self._post_batch(run_id, body)
        except Unavailable:
            self.down_until = time.monotonic() + common.RETRY_AFTER
            self._spool(run_id, body)
            return {"batch_id": batch_id, "spooled": True}

    # Whether this server takes packed columns; a studio older than them refuses a
    # packed batch (400), and the store then sends lists from then on.
    pack_columns = True

    def _post_batch(self, run_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST one batch, long columns of numbers packed (seriescodec): a float costs
        ~0.4 us as decimal text to write here and as much to read on the server. The
        spool keeps the batch as logged (lists)."""
        path = f"/runs/{_q(run_id)}/metrics"
        packed = _packed(body) if self.pack_columns else body
        if packed is body:
            return self._call("POST", path, json_body=body)
        try:
            return self._call("POST", path, json_body=packed)
        except ValidationError as refused:
            try:
                answer = self._call("POST", path, json_body=body)
            except ValidationError:
                raise refused from None  # refused either way: the batch itself is wrong
            self.pack_columns = False  # an older server: lists from now on
            return answer

    def _spool_dir(self, run_id: str) -> Path:
        return self.spool_root / _q(run_id)

    def _spooled(self, run_id: str) -> list[Path]:
        folder = self._spool_dir(run_id)
        if not folder.is_dir():
            return []
        return sorted(folder.glob("*.json"))

    def _spool(self, run_id: str, body: dict[str, Any]) -> None:
        folder = self._spool_dir(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{body['batch_id']}.json"
        tmp = folder / f".{name}.tmp"
        entry = {"server": self.uri, "token_sha256": self.token_hash, "run": run_id, "body": body}
        with open(tmp, "w") as f:
            f.write(jsoncodec.dumps(entry))
            f.flush()
            os.fsync(f.fileno())
        tmp.rename(folder / name)

    def _mine(self, entry: Any, run_id: str) -> bool:
        return (
            isinstance(entry, dict)
            and entry.get("server") == self.uri
            and entry.get("token_sha256") == self.token_hash
            and entry.get("run") == run_id
        )

    def _refused(self, path: Path, run_id: str, body: dict[str, Any], exc: StudioError) -> None:
        """Keep a batch the server refused where no drain sends it again, and say so."""
        folder = self.refused_root / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        try:
            path.rename(folder / path.name)
        except FileNotFoundError:
            return  # another process of ours moved it and reported it
        print(
            f"studio: the studio refused {_points(body)} spooled points of run {run_id} "
            f"({exc}); kept in {folder / path.name}",
            file=sys.stderr,
        )

    def drain(self, run_id: str | None = None, *, required: bool = False) -> None:
        """Deliver spooled batches, oldest first; stop at the first failure. With
        ``required``, a batch that cannot be delivered raises Unavailable."""
        if not self.spool_root.is_dir():
            return
        with self.spool_lock:
            runs = [self._spool_dir(run_id)] if run_id else sorted(self.spool_root.iterdir())
            for folder in runs:
                run = urllib.parse.unquote(folder.name)
                for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
                    try:
                        entry = jsoncodec.loads(path.read_bytes())
                    except (OSError, StudioError):
                        continue  # taken by another process of ours, or unreadable
                    if not self._mine(entry, run):
                        continue  # another server's or token's batch: not ours to send
                    try:
                        self._post_batch(run, entry["body"])
                    except Unavailable:
                        self.down_until = time.monotonic() + common.RETRY_AFTER
                        if required:
                            raise
                        return
                    except StudioError as exc:
                        self._refused(path, run, entry["body"], exc)
                        continue
                    path.unlink(missing_ok=True)  # another process of ours may have sent it
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        self.down_until = 0.0

    def release(self) -> None:
        if self.spool_root.is_dir() and time.monotonic() >= self.down_until:
            try:
                self.drain()
            except Exception as exc:  # the flusher must keep going
                print(f"studio: draining the spool failed: {exc}", file=sys.stderr)


def _packed(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its long columns of numbers packed; ``body`` itself if none is."""
    series, changed = [], False
    for s in body["series"]:
        columns = {c: seriescodec.pack_list(s[c]) for c in ("steps", "values", "times")}
        changed |= any(columns[c] is not s[c] for c in columns)
        series.append({**s, **columns})
    return {**body, "series": series} if changed else body
