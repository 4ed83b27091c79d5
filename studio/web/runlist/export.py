"""CSV export of a runs list: the chosen columns, every run of the filtered list in
its sort order, streamed a keyset page at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import timezone

from studio.rules.runquery import Column
from studio.tracking.models import Run
from studio.tracking.runlist import pages
from studio.tracking.runlist.state import ListState

# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _text(value) -> str:
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _builtin(run: Run, column: Column):
    kind = column.kind
    if kind == "name":
        return run.display_name
    if kind == "id":
        return run.run_id
    if kind == "experiment":
        return run.experiment.name
    if kind == "created":
        return run.created_at.isoformat()
    if kind == "duration":
        if run.started_at is None:
            return None
        end = run.ended_at or timezone.now()  # a run still going: so far
        return f"{(end - run.started_at).total_seconds():.3f}"
    if kind == "tags":
        return "; ".join(t.key if t.value is None else f"{t.key}={t.value}" for t in run.tags.all())
    return getattr(run, kind)


def _header(column: Column) -> str:
    if column.kind == "name":
        return "display_name"
    if column.kind == "duration":
        return "duration_seconds"
    return column.key


def csv_lines(runs: QuerySet[Run], state: ListState) -> Iterator[str]:
    columns = state.columns
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(["number", "run_id", *(_header(c) for c in columns if c.kind != "id")])
    yield flush()
    for chunk in pages.iterate(runs, state.sort):
        pages.attach_cells(chunk, columns)
        for run in chunk:
            cells = [
                _builtin(run, column) if not column.custom else value
                for column, value in run.cells
                if column.kind != "id"
            ]
            writer.writerow([run.number, run.run_id, *(_text(c) for c in cells)])
        yield flush()
