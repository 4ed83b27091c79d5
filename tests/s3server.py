"""A local S3 server for the tests: moto's ThreadedMotoServer on 127.0.0.1, in the
test process, with the bucket made. Nothing leaves the machine."""

from __future__ import annotations

import logging
import socket
import urllib.parse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    def __init__(self, port: int | None = None, bucket: str = "studio-test"):
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request
        self.port = port or free_port()
        self.bucket = bucket
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._stopped = False

    def start(self) -> S3Server:
        import boto3

        self._server.start()
        self.client = boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        self.client.create_bucket(Bucket=self.bucket)
        return self

    def stop(self) -> None:
        """Gone: connections to its port are refused from now on (once is enough)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop()
        self._server._server.server_close()

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


def from_environment() -> S3Server:
    """The server STUDIO_S3_ENDPOINT_URL names (tests/envsetup.py chose its port)."""
    import os

    port = urllib.parse.urlsplit(os.environ["STUDIO_S3_ENDPOINT_URL"]).port
    return S3Server(port, os.environ["STUDIO_S3_BUCKET"])
