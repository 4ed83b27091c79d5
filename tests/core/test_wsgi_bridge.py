"""studio/core/wsgi_bridge.py: Django's WSGI handler behind ``studio server``'s ASGI
workers, in one thread hand-off. Driven as uvicorn drives it: a scope, ``receive``
handing out the body in the pieces the client sent, ``send`` collecting messages."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.http import UnreadablePostError

from studio.core import wsgi_bridge
from studio.core.wsgi_bridge import WSGIBridge


class Content(list):
    """A response whose body is in memory, as Django's HttpResponse says of itself."""

    streaming = False


class Stream:
    """A streaming response: chunks made one at a time, on the request's thread."""

    streaming = True

    def __init__(self, chunks):
        self.chunks, self.threads, self.closed = chunks, set(), False

    def __iter__(self):
        for chunk in self.chunks:
            self.threads.add(threading.get_ident())
            yield chunk

    def close(self):
        self.closed = True


GONE = object()  # where the client disconnects


def serve(app, body_pieces=(b"",), method="POST", headers=()):
    """Run one request through a bridge; the messages it sent."""
    scope = {
        "type": "http", "method": method, "path": "/x", "root_path": "", "query_string": b"",
        "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000), "headers": list(headers),
    }  # fmt: skip
    pieces = list(body_pieces)
    sent = []

    async def receive():
        body = pieces.pop(0)
        if body is GONE:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": body, "more_body": bool(pieces)}

    async def send(message):
        sent.append(message)

    asyncio.run(WSGIBridge(app, workers=2)(scope, receive, send))
    return sent


def test_a_small_body_is_read_whole_and_the_answer_sent_in_two_messages():
    seen = {}

    def app(environ, start_response):
        seen["body"] = environ["wsgi.input"].read()
        seen["type"] = environ["CONTENT_TYPE"]
        start_response("201 Created", [("Content-Type", "application/json"), ("X-A", "1")])
        return Content([b'{"ok":', b" true}"])

    sent = serve(app, [b'{"a":', b" 1}"], headers=[(b"content-type", b"application/json")])
    assert seen == {"body": b'{"a": 1}', "type": "application/json"}
    assert sent == [
        {"type": "http.response.start", "status": 201,
         "headers": [(b"content-type", b"application/json"), (b"x-a", b"1")]},
        {"type": "http.response.body", "body": b'{"ok": true}'},
    ]  # fmt: skip


def test_a_body_past_the_prefetch_is_read_on_from_the_thread(monkeypatch):
    monkeypatch.setattr(wsgi_bridge, "PREFETCH", 10)
    pieces = [b"0123456", b"789abcd", b"efgh", b"ijklmnop"]
    seen = []

    def app(environ, start_response):
        stream = environ["wsgi.input"]
        seen.append(stream.read(12))
        seen.append(stream.read())
        start_response("200 OK", [])
        return Content([b""])

    serve(app, pieces)
    assert b"".join(seen) == b"".join(pieces)
    assert seen[0] == b"0123456789ab"


def test_a_client_gone_mid_body_is_an_error_for_the_view_not_the_end_of_the_body(monkeypatch):
    monkeypatch.setattr(wsgi_bridge, "PREFETCH", 4)
    read, failed = [], []

    def app(environ, start_response):
        assert environ["wsgi.input_terminated"]
        try:
            read.append(environ["wsgi.input"].read())
        except UnreadablePostError as error:
            failed.append(error)
            raise
        start_response("201 Created", [])
        return Content([b"stored"])

    with pytest.raises(UnreadablePostError):
        serve(app, [b"abcd", b"ef", GONE])
    assert read == [] and len(failed) == 1


def test_a_client_gone_before_the_body_arrived_runs_no_view():
    ran = []

    def app(environ, start_response):
        ran.append(True)
        start_response("200 OK", [])
        return Content([b""])

    assert serve(app, [b"ab", GONE]) == []
    assert ran == []


def test_a_streaming_answer_is_sent_chunk_by_chunk_from_the_requests_thread():
    stream = Stream([b"one", b"", b"two"])

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/x-tar")])
        return stream

    sent = serve(app, method="GET")
    assert [m.get("body") for m in sent] == [None, b"one", b"two", b""]
    assert [m.get("more_body", False) for m in sent] == [False, True, True, False]
    assert stream.closed
    assert threading.get_ident() not in stream.threads


def test_an_error_in_the_application_reaches_the_server_and_sends_nothing():
    def app(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        serve(app)


@pytest.mark.django_db
def test_django_answers_through_the_servers_bridge():
    from studio import asgi

    sent = []
    scope = {
        "type": "http", "method": "GET", "path": "/accounts/login/", "root_path": "",
        "query_string": b"", "http_version": "1.1", "scheme": "http",
        "server": ("testserver", 80), "client": ("127.0.0.1", 5000), "headers": [],
    }  # fmt: skip

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(asgi.application(scope, receive, send))
    assert sent[0]["status"] == 200
    assert b"<form" in sent[1]["body"]
