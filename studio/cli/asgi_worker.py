"""The gunicorn worker ``studio server`` runs: uvicorn serving ``studio.asgi``.

Why ASGI and not gthread workers: a page holds its live event stream open for
minutes. Under gthread each open stream holds one of the worker's threads, so a few
open tabs (2 workers x 4 threads = 8) would leave no thread for any other request.
Under ASGI an open stream is a coroutine waiting on a queue; the ordinary (sync)
views run on threads asgiref starts per request, so pages and the API keep being
served whatever the number of open streams.

Imported by gunicorn's processes only (the CLI itself never imports it).
"""

from __future__ import annotations

from uvicorn_worker import UvicornWorker


class StudioWorker(UvicornWorker):
    CONFIG_KWARGS = {
        # C parser and loop (httptools, uvloop): each request's HTTP work costs about
        # 0.1 ms of CPU less than h11 and asyncio's pure-Python ones (issue 16).
        "loop": "uvloop",
        "http": "httptools",
        # Django does not speak the lifespan protocol.
        "lifespan": "off",
        # On reload or stop, open event streams are ended after this many seconds
        # (browsers reconnect, to the new workers, and resume from Last-Event-ID)
        # instead of holding the worker for gunicorn's whole graceful timeout.
        "timeout_graceful_shutdown": 3,
    }
