"""What the REST store's modules share: the API's prefix, URL quoting, the spool's
token naming and the error that says how to create a missing workspace."""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from studio.errors import NotFound

API = "/api/v1"
LOCAL = "local"
# Reconnect attempts are spaced out so a dead server costs the flusher little.
RETRY_AFTER = 2.0


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _token_hash(token: str) -> str:
    """Names a token in the spool without storing it (and without the hash the
    server keeps for lookups: another prefix)."""
    return hashlib.sha256(f"studio-spool\n{token}".encode()).hexdigest()


def _points(body: Mapping[str, Any]) -> int:
    return sum(len(s.get("values", ())) for s in body.get("series", ())) + len(
        body.get("records", ())
    )


def _file_path(name: str) -> str:
    """A file name as one URL path part: slashes and dots encoded too, so that no
    client library resolves ``..`` before the server checks the name."""
    return _q(name).replace(".", "%2E")


_MISSING_WORKSPACE = re.compile(r"^Workspace ('.*'|\".*\") does not exist\.$")


def _with_remedy(exc: NotFound) -> NotFound:
    """A missing workspace, said with what to do about it (a fresh server has none)."""
    found = _MISSING_WORKSPACE.match(exc.message) if exc.field == "workspace" else None
    if found is None:
        return exc
    name = found.group(1)
    exc.message = (
        f"Workspace {name} does not exist: create it in the studio (the workspace "
        f"switcher's New workspace), with `studio workspace create {name[1:-1]}`, or ask "
        "an owner."
    )
    exc.args = (exc.message,)
    return exc
