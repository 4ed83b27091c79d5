"""Django's WSGI handler served from an ASGI server in one thread hand-off.

a2wsgi (the library ``studio server`` serves sync requests with) crosses between the
event loop and the request's thread for every step: the request body is read from
the thread through the loop, and the response's start, each chunk and its end are
each queued back to the loop, the thread waiting for every one. That is five round
trips for a one-point metric POST: 0.4-0.65 ms of server CPU out of 3.6-4.6 ms
(two servers, old and new, POSTs alternating between them; bench/README.md, issue 16).

``WSGIBridge`` keeps a2wsgi's environ and its body reader and makes one:

- the body is read on the loop before the thread starts, up to ``PREFETCH`` bytes
  (a JSON request; an upload beyond that reads the rest from the thread as
  a2wsgi does, so a large file never sits in memory whole). The body is marked
  ended (``wsgi.input_terminated``), as the ASGI server delivers it: a chunked
  upload is streamed, as under gunicorn's own workers, not refused with 411. A
  client gone before the body arrived runs no view; one gone later makes the read
  raise Django's UnreadablePostError, so a cut-off upload is never stored;
- a response whose body is in memory (``HttpResponse``, not ``streaming``) comes
  back whole with the thread's result and is sent from the loop; a streaming one
  (a file, a tar, an export) is sent chunk by chunk from the thread, each send
  awaited, so a slow reader holds its thread as it does under a2wsgi.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi.wsgi import Body, build_environ
from django.http import UnreadablePostError

# Bytes of a request body read on the loop before the thread runs: a metric batch of a
# few thousand points. Each connection waiting for a thread may hold this much.
PREFETCH = 256 * 1024


class ClientGone(Exception):
    """The client disconnected before its request's body had arrived."""


def _check(message: dict[str, Any]) -> dict[str, Any]:
    if message["type"] == "http.disconnect":
        raise ClientGone
    return message


class _Rest(Body):
    """a2wsgi's body reader, starting with what the loop has read already. A client
    gone mid-body is an error for the view reading it (Django's UnreadablePostError),
    not the end of the body: a cut-off upload is never stored as a whole one."""

    def __init__(self, loop, receive, head: bytes) -> None:
        super().__init__(loop, receive)
        self.buffer.extend(head)

    def _receive_more_data(self) -> bytes:
        if not self._has_more:
            return b""
        future = asyncio.run_coroutine_threadsafe(self.receive(), loop=self.loop)
        try:
            message = _check(future.result())
        except ClientGone:
            raise UnreadablePostError("The client disconnected during the request.") from None
        self._has_more = message.get("more_body", False)
        return message.get("body", b"")


async def _prefetch(receive) -> tuple[bytes, bool]:
    """The body's first ``PREFETCH`` bytes (or all of it), and whether more follows;
    ClientGone if the client disconnects first."""
    head = bytearray()
    while True:
        message = _check(await receive())
        head += message.get("body", b"")
        if not message.get("more_body", False):
            return bytes(head), False
        if len(head) >= PREFETCH:
            return bytes(head), True


def _start(status: str, headers: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": int(status.split(" ", 1)[0]),
        "headers": [(k.strip().encode("latin1").lower(), v.strip().encode("latin1"))
                    for k, v in headers],
    }  # fmt: skip


class WSGIBridge:
    """An ASGI application serving ``app`` (a WSGI application) on ``workers`` threads."""

    def __init__(self, app, workers: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(thread_name_prefix="WSGI", max_workers=workers)

    async def __call__(self, scope, receive, send) -> None:
        loop = asyncio.get_running_loop()
        try:
            head, more = await _prefetch(receive)
        except ClientGone:
            return  # nobody to answer: the view does not run

        body = _Rest(loop, receive, head) if more else io.BytesIO(head)
        environ = build_environ(scope, body)
        # An ASGI server hands over the body decoded and ended (a chunked upload too).
        environ["wsgi.input_terminated"] = True
        context = contextvars.copy_context()
        whole = await loop.run_in_executor(
            self.executor, context.run, self._respond, environ, loop, send
        )
        if whole is not None:
            start, content = whole
            await send(start)
            await send({"type": "http.response.body", "body": content})

    def _respond(self, environ, loop, send):
        """Run the application on this thread: the response's start and whole body, or
        None when it streamed them itself (from this thread, through the loop)."""
        started: list[dict[str, Any]] = []

        def start_response(status, headers, exc_info=None):
            started[:] = [_start(status, headers)]
            return self._refuse_write

        iterable = self.app(environ, start_response)
        try:
            if not getattr(iterable, "streaming", True):
                return started[0], b"".join(iterable)

            def push(message):
                asyncio.run_coroutine_threadsafe(send(message), loop).result()

            push(started[0])
            for chunk in iterable:
                if chunk:
                    push({"type": "http.response.body", "body": chunk, "more_body": True})
            push({"type": "http.response.body", "body": b""})
            return None
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    @staticmethod
    def _refuse_write(data: bytes) -> None:
        raise NotImplementedError("Django never writes through start_response's callable.")
