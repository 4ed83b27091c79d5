"""The endpoint of a job of the ``local`` target with the local store: no studio
server is involved, so the job's supervisor serves the protocol itself, on
127.0.0.1 and a free port, in a thread, for as long as the job lives: Django's WSGI
handler over the same database, each request in a thread of its own (the client
uploads while it logs)."""

from __future__ import annotations

import socketserver
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from studio.compat.azureml import jobenv, tokens


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # the job's log is the script's, not ours
        pass


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class LocalEndpoint:
    """Serves until ``close``; ``service`` and ``token`` go into the job's env."""

    def __init__(self, run) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.server = make_server(
            "127.0.0.1", 0, WSGIHandler(), server_class=_Server, handler_class=_Quiet
        )
        host, port = self.server.server_address[:2]
        self.service = jobenv.endpoint(f"http://{host}:{port}")
        self.token = tokens.local_enable(run=run)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
