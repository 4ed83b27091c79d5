"""Where a run's file bytes live. Storage keys are built from server ids only
(``runs/<run uuid>/<file uuid>``); the name a user sees (``outputs/model.pkl``) is
metadata in ``RunFile``, checked by ``rules.filenames.check_file_name``.

The storage is Django's ``storages["studio_files"]``: the local disk by default, an
S3-compatible bucket with ``STUDIO_STORAGE=s3`` (settings). Reads go through
``open_object``, which on a bucket fetches only the byte ranges asked for (a 64 KB
tail of a 1 GB file is one ranged GET, not a download of the file). A storage that
cannot be reached raises ``Unavailable`` with what failed, never a boto3 traceback."""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Iterator

from django.core.files.storage import storages

from studio.errors import NotFound, Unavailable
from studio.rules.filenames import check_file_name

__all__ = [
    "check_file_name",
    "files_storage",
    "is_object_store",
    "new_storage_key",
    "open_object",
    "SeekableReader",
    "storage_errors",
]

# A ranged GET asks for what is read and a little more (FIRST_WINDOW); each GET that
# continues where the last one ended asks for twice as much, up to READ_WINDOW: a
# small read costs a small request, a streamed download one request per 16 MB.
FIRST_WINDOW = 256 << 10
READ_WINDOW = 16 << 20


def files_storage():
    return storages["studio_files"]


def new_storage_key(run_uuid: uuid.UUID) -> str:
    return f"runs/{run_uuid.hex}/{uuid.uuid4().hex}"


def is_object_store(store=None) -> bool:
    store = store or files_storage()
    try:
        store.path("x")
    except NotImplementedError:
        return True
    return False


@contextlib.contextmanager
def storage_errors(doing: str) -> Iterator[None]:
    """Turn the storage's own failures while ``doing`` (e.g. "store
    outputs/model.pkl") into ``Unavailable``: an unreachable endpoint, a missing
    bucket, refused credentials. A missing object is ``NotFound``."""
    try:
        import botocore.exceptions as boto
    except ImportError:  # local disk only: OSError stays what it is
        yield
        return
    try:
        yield
    except boto.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in ("NoSuchKey", "404") and "bucket" not in code.lower():
            raise NotFound(f"The bytes to {doing} are missing from the storage.") from None
        raise Unavailable(
            f"The file storage refused to {doing}: {code or 'error'} "
            f"{error.get('Message', '')}".rstrip()
        ) from None
    except boto.BotoCoreError as exc:
        raise Unavailable(f"The file storage could not be reached to {doing}: {exc}") from None


def open_object(key: str, *, size: int | None = None, buffered: bool = True) -> io.IOBase:
    """The object at ``key`` opened for reading, seekable. On the local disk the file
    itself (the caller checks it is a regular file first); on a bucket a reader that
    fetches ranges as they are read. ``size`` spares a bucket's HEAD request when it
    is known."""
    store = files_storage()
    if not is_object_store(store):
        # the caller closes it
        return open(store.path(key), "rb", buffering=-1 if buffered else 0)  # noqa: SIM115
    raw = _ObjectReader(store, key, size)
    return io.BufferedReader(raw, buffer_size=256 << 10) if buffered else raw


def write_object(key: str, data: bytes) -> str:
    """Store ``data`` (a small object: a chunk of a log) at ``key``; returns the key.
    On a bucket one PUT, without the transfer manager's threads that a streamed
    upload needs (they cost more than the request itself)."""
    store = files_storage()
    with storage_errors(f"store {key}"):
        if not is_object_store(store):
            from django.core.files.base import ContentFile

            return store.save(key, ContentFile(data))
        from storages.utils import clean_name

        store.connection.meta.client.put_object(
            Bucket=store.bucket_name, Key=store._normalize_name(clean_name(key)), Body=data
        )
    return key


def delete_objects(keys: list[str]) -> None:
    """Remove ``keys`` (one request per 1,000 on a bucket); missing ones are no error."""
    store = files_storage()
    with storage_errors("remove objects"):
        if not is_object_store(store):
            for key in keys:
                store.delete(key)
            return
        from storages.utils import clean_name

        client = store.connection.meta.client
        for at in range(0, len(keys), 1000):
            names = [store._normalize_name(clean_name(k)) for k in keys[at : at + 1000]]
            client.delete_objects(
                Bucket=store.bucket_name,
                Delete={"Objects": [{"Key": n} for n in names], "Quiet": True},
            )


def read_object(key: str, size: int) -> bytes:
    with open_object(key, size=size) as f:
        return f.read()


class SeekableReader(io.RawIOBase):
    """A read-only file of ``_size`` bytes read at ``_pos``: what the ranged readers
    of run files share (an object in a bucket, a live log's chunks). Subclasses set
    both and implement ``readinto``."""

    _pos = 0
    _size = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError("negative seek position")
        self._pos = position
        return position


class _ObjectReader(SeekableReader):
    """A seekable read-only view of one object in a bucket: each read continues the
    open ranged GET if it is where that left off, else starts another one."""

    def __init__(self, store, key: str, size: int | None):
        from storages.utils import clean_name

        self._client = store.connection.meta.client
        self._bucket = store.bucket_name
        self._key = store._normalize_name(clean_name(key))
        self._name = key
        if size is None:
            with storage_errors(f"read {key}"):
                size = self._client.head_object(Bucket=self._bucket, Key=self._key)["ContentLength"]
        self._size = size
        self._pos = 0
        self._body = None
        self._body_pos = 0
        self._body_end = 0
        self._window = FIRST_WINDOW

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        if self._body is None or self._body_pos != self._pos or self._body_pos >= self._body_end:
            self._open(want)
        with storage_errors(f"read {self._name}"):
            data = self._body.read(min(want, self._body_end - self._body_pos))
        if not data:
            raise Unavailable(f"The file storage ended {self._name} early at {self._pos}.")
        n = len(data)
        buffer[:n] = data
        self._pos += n
        self._body_pos += n
        return n

    def _open(self, want: int) -> None:
        sequential = self._body is not None and self._body_pos == self._pos
        self._window = min(self._window * 2, READ_WINDOW) if sequential else FIRST_WINDOW
        self._drop()
        end = min(self._size, self._pos + max(want, self._window))
        with storage_errors(f"read {self._name}"):
            response = self._client.get_object(
                Bucket=self._bucket, Key=self._key, Range=f"bytes={self._pos}-{end - 1}"
            )
        self._body = response["Body"]
        self._body_pos, self._body_end = self._pos, end

    def _drop(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop()
        super().close()
