"""What the CLI prints: JSON by default, ``-o table`` for people, both after an
optional ``--query`` (JMESPath, with the ``jmespath`` library the Azure CLI uses)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import jmespath
from jmespath import exceptions as jp

MAX_CELL = 60


class UsageError(Exception):
    """Bad command-line input found after parsing (exit status 2)."""


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[[dict[str, Any]], Any]


@dataclass
class Result:
    """What a command hands back: the JSON value, the table columns for it (None:
    derived from the data) and the exit status. ``printed``: the command already
    wrote its output as it went (a followed log, a worker), there is nothing to emit."""

    data: Any
    columns: Sequence[Column] | None = None
    exit_code: int = 0
    printed: bool = False


def query_error(expression: str, exc: Exception) -> str:
    """One line saying what is wrong with a JMESPath expression, and where."""
    if isinstance(exc, jp.IncompleteExpressionError):
        what = f"incomplete expression at column {len(expression) + 1}"
    elif isinstance(exc, jp.LexerError):
        what = f"{exc.message} at column {exc.lexer_position + 1}"
    elif isinstance(exc, jp.ArityError):
        what = str(exc)
    elif isinstance(exc, jp.ParseError):
        what = f"{exc.msg} at column {exc.lex_position + 1} (token {exc.token_value!r})"
    else:
        what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"invalid JMESPath {expression!r}: {what}"


def jmespath_type(expression: str) -> jmespath.parser.ParsedResult:
    """argparse ``type=`` for ``--query``: compiled up front, so a bad expression is a
    usage error before anything is read."""
    try:
        return jmespath.compile(expression)
    except jp.JMESPathError as exc:
        raise argparse.ArgumentTypeError(query_error(expression, exc)) from None


def apply_query(data: Any, query: jmespath.parser.ParsedResult | None) -> Any:
    if query is None:
        return data
    try:
        return query.search(data)
    except jp.JMESPathError as exc:  # unknown function, wrong arity or type
        raise UsageError(f"argument --query: {query_error(query.expression, exc)}") from None


def emit(result: Result, *, output: str, query: Any, out: TextIO) -> None:
    if result.printed:
        return
    data = apply_query(result.data, query)
    if output == "table":
        # A query reshapes the data: the command's columns no longer apply.
        columns = result.columns if query is None else None
        text = table(data, columns)
        if text:
            out.write(text + "\n")
    else:
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# --- tables --------------------------------------------------------------------------


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    text = " ".join(text.split())  # one line per row, whatever the value holds
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def time_cell(value: str | None) -> str | None:
    """``2026-01-02T03:04:05.678Z`` -> ``2026-01-02 03:04:05`` (UTC, to the second)."""
    return value[:19].replace("T", " ") if value else value


def tags_cell(tags: dict[str, str | None]) -> str:
    return ", ".join(k if v is None else f"{k}={v}" for k, v in tags.items())


def _derived_columns(rows: list[dict[str, Any]]) -> list[Column]:
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return [Column(k, lambda row, k=k: row.get(k)) for k in keys]


def table(data: Any, columns: Sequence[Column] | None = None) -> str:
    """Aligned columns with a header and a rule, like ``az ... -o table``."""
    if data is None:
        return ""
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return cell(data)
    if not data:
        return ""
    if not all(isinstance(row, dict) for row in data):
        rows = [[cell(v)] for v in data]
        headers = ["Result"]
    else:
        columns = columns or _derived_columns(data)
        headers = [c.header for c in columns]
        rows = [[cell(c.get(row)) for c in columns] for row in data]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)
