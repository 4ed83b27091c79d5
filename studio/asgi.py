"""ASGI entry point (``studio server``: gunicorn's uvicorn workers).

Two Django handlers behind one application, chosen per request by the view the
URL resolves to:

- an ``async def`` view (a live event stream, held open for minutes) is served by
  Django's ASGI handler: an open stream is a coroutine waiting on a queue, no thread;
- every other request (pages, the JSON API, files) is served by Django's WSGI
  handler on a pool of threads (``studio.core.wsgi_bridge``): the whole request,
  middleware, signals and view, runs in one thread hand-off. Django's ASGI handler
  makes four for a sync view (request_started, the middleware chain, the view,
  request_finished), which cost a one-point metric POST about 5 ms of CPU more than
  the view itself (bench/versus_mlflow.py, issue 16); the database connection of a
  request stays on its thread, as under a threaded WSGI server.
"""

from __future__ import annotations

import inspect
import os
from functools import lru_cache

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402

from studio.core.wsgi_bridge import WSGIBridge  # noqa: E402

django_asgi = get_asgi_application()
# Threads for concurrent sync requests per worker process (STUDIO_SERVER_THREADS).
threaded_wsgi = WSGIBridge(
    get_wsgi_application(), workers=int(os.environ.get("STUDIO_SERVER_THREADS", "8"))
)


@lru_cache(maxsize=4096)
def streams(path: str) -> bool:
    """Whether ``path`` resolves to an ``async def`` view (a live stream)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return inspect.iscoroutinefunction(match.func)


async def application(scope, receive, send):
    if scope["type"] == "http" and not streams(scope["path"]):
        return await threaded_wsgi(scope, receive, send)
    return await django_asgi(scope, receive, send)
