"""Reading an upload's body as it arrives, cut at a limit: the JSON API's file
routes and the wire protocols of other clients (``studio.compat``) share it."""

from __future__ import annotations

from django.http import HttpRequest

from studio.errors import LengthRequired, PayloadTooLarge, ValidationError


class LimitedBody:
    """Reads a request body and stops at the upload limit instead of filling the disk."""

    closed = False

    def __init__(self, stream, limit: int):
        self.stream, self.limit, self.read_bytes = stream, limit, 0

    def seekable(self) -> bool:
        return False  # a request body: the S3 backend streams it in parts

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size if size and size > 0 else 1024 * 1024)
        self.read_bytes += len(chunk)
        if self.read_bytes > self.limit:
            raise PayloadTooLarge(f"Files are limited to {self.limit} bytes.", field="body")
        return chunk


def upload_body(request: HttpRequest, limit: int) -> LimitedBody:
    """The upload's body, read as it comes and cut at ``limit``. A declared length
    over the limit is refused before a byte is read. A chunked body (no length) is
    streamed where the WSGI server decodes it and says so (``wsgi.input_terminated``:
    gunicorn); elsewhere (Django's development server) it would arrive empty, so it is
    refused with 411."""
    meta = request.META
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        if not meta.get("wsgi.input_terminated"):
            raise LengthRequired(
                "This server needs a Content-Length for uploads; send the file with one.",
                field="Content-Length",
            )
        return LimitedBody(meta["wsgi.input"], limit)
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ValidationError("Content-Length is not a number.", field="Content-Length") from None
    if declared > limit:
        raise PayloadTooLarge(f"Files are limited to {limit} bytes.", field="body")
    return LimitedBody(request, limit)
