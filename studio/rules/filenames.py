"""The one check every user-given file name passes (no Django import: the SDK uses
it too). Names are decoded once by whoever received them, then checked here and
rejected, never "cleaned"."""

from __future__ import annotations

import re
import unicodedata

from studio.errors import ValidationError

# The layout of a run's files, spelled once: what the script wrote under ./outputs,
# the logs (the supervisor's live log among them, stored in chunks) and the
# submitted source directory.
LOGS = "logs/"
OUTPUTS = "outputs/"
SNAPSHOT = "snapshot/"
LIVE_LOG = LOGS + "std_log.txt"
# Images pasted into a run's description (studio.tracking.services.descriptions).
DESCRIPTION = "description/"

MAX_NAME = 1024
MAX_SEGMENT_BYTES = 255
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def check_file_name(name: object, field: str = "name") -> str:
    """A relative path made of safe segments, NFC-normalized, or a ValidationError."""
    if not isinstance(name, str) or not name:
        raise ValidationError("A file name is required.", field=field)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("The file name is not valid text.", field=field) from None
    name = unicodedata.normalize("NFC", name)
    if len(name) > MAX_NAME:
        raise ValidationError(f"The file name is longer than {MAX_NAME} characters.", field=field)
    if "\x00" in name or "\\" in name or any(ord(c) < 32 for c in name):
        raise ValidationError(
            "The file name contains a NUL, a backslash or a control character.", field=field
        )
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise ValidationError("The file name must be a relative path.", field=field)
    segments = name.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise ValidationError(
                f"The file name {name!r} has an empty, '.' or '..' segment.", field=field
            )
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            raise ValidationError(
                f"A segment of the file name is longer than {MAX_SEGMENT_BYTES} bytes.",
                field=field,
            )
        if _WINDOWS_RESERVED.match(segment) or segment != segment.strip():
            raise ValidationError(f"The file name segment {segment!r} is not allowed.", field=field)
    return name
