"""Raster images a browser may show inline, recognised by their first bytes (no
Django import). SVG, HTML and anything else are never images here: a file is one
of these types only when its bytes say so (docs/requirements.md A8)."""

from __future__ import annotations

from pathlib import PurePosixPath

# Each suffix, with its content type and the bytes its files start with.
RASTER_TYPES = {
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
}
HEAD_BYTES = 16  # enough of a file to tell


def _matches(suffix: str, head: bytes) -> bool:
    _, signatures = RASTER_TYPES[suffix]
    if not any(head.startswith(sig) for sig in signatures):
        return False
    return suffix != ".webp" or head[8:12] == b"WEBP"


def raster_type(name: str, head: bytes) -> str | None:
    """The image type to serve ``name`` inline as, when its suffix is on the
    allowlist and its first bytes agree (a PNG-named HTML polyglot is not an image)."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in RASTER_TYPES or not _matches(suffix, head):
        return None
    return RASTER_TYPES[suffix][0]


def sniff_suffix(head: bytes) -> str | None:
    """The suffix a file's first bytes make it (``.png``, ``.jpg``, ``.gif``,
    ``.webp``), whatever it is called, or None."""
    for suffix in (".png", ".jpg", ".gif", ".webp"):
        if _matches(suffix, head):
            return suffix
    return None
