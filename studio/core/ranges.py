"""File downloads that honour HTTP range requests (RFC 9110 §14): one byte range per
request, ``206 Partial Content`` with ``Content-Range``; a range that cannot be
served (past the end, malformed, several at once) is ``416`` with the size in
``Content-Range: bytes */SIZE``. A Range in another unit is ignored (the whole file).
Only the bytes asked for are read: on a bucket, ranged GETs of that part alone."""

from __future__ import annotations

import io
import re
from typing import IO

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse

from studio.errors import RangeNotSatisfiable

_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")


def parse_range(header: str, size: int) -> tuple[int, int]:
    """(first, last) byte of the one range ``header`` asks for in a file of ``size``
    bytes, ``last`` clamped to the end."""
    found = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if found is None:
        raise RangeNotSatisfiable(f"Unsupported range {header[:100]!r}.", field="Range")
    first, last = found.groups()
    if not first and not last:
        raise RangeNotSatisfiable("A range needs a first or a last byte.", field="Range")
    if not first:  # bytes=-N: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable("An empty suffix range.", field="Range")
        return max(size - suffix, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(
            f"Bytes {start}-{last} are not in a file of {size} bytes.", field="Range"
        )
    return start, min(end, size - 1)


class _Slice(io.RawIOBase):
    """``length`` bytes of ``stream`` from where it stands; closes it when closed."""

    def __init__(self, stream: IO[bytes], length: int):
        self._stream = stream
        self._left = length

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._stream.close()
        super().close()


def file_response(
    request: HttpRequest,
    stream: IO[bytes],
    *,
    filename: str,
    content_type: str = "application/octet-stream",
    as_attachment: bool = True,
) -> HttpResponse:
    """``stream`` (seekable, positioned at 0) as a download, or the part of it the
    request's Range header names."""
    header = request.headers.get("Range")
    if header is None or not header.strip().lower().startswith("bytes="):
        response = FileResponse(
            stream, as_attachment=as_attachment, filename=filename, content_type=content_type
        )
        response["Accept-Ranges"] = "bytes"
        return response
    size = stream.seek(0, io.SEEK_END)
    try:
        first, last = parse_range(header, size)
    except RangeNotSatisfiable as exc:
        stream.close()
        body = {"error": {"code": exc.code, "message": exc.message, "field": exc.field}}
        response = JsonResponse(body, status=exc.http_status)
        response["Content-Range"] = f"bytes */{size}"
        return response
    stream.seek(first)
    length = last - first + 1
    response = FileResponse(
        _Slice(stream, length),
        status=206,
        as_attachment=as_attachment,
        filename=filename,
        content_type=content_type,
    )
    response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    return response
