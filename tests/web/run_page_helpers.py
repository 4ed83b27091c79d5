"""Helpers shared by the run page tests: runs with files, metrics and logs."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path

from studio.tracking import services, storage

T0 = 1_750_000_000.0
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def upload(run, name: str, data: bytes):
    return services.run_file_upload(run=run, name=name, content=io.BytesIO(data))


def storage_path(run_file) -> Path:
    return Path(storage.files_storage().path(run_file.storage_key))


def log_series(run, name: str, values, *, batch: str | None = None, start: int = 0) -> None:
    values = list(values)
    services.metric_log_batch(
        run=run,
        batch_id=batch or f"{name}-{start}",
        series=[
            {
                "name": name,
                "steps": list(range(start, start + len(values))),
                "values": values,
                "times": [T0 + start + i for i in range(len(values))],
            }
        ],
    )


class Elements(HTMLParser):
    """Every element of a page with its attributes, to look for what must not be
    there (a script, an event handler) without trusting substrings."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]
