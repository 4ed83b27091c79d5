"""How the run page shows a run's files: a tree of names, what kind of preview a file
gets, and log text cut to whole lines with terminal escapes removed. Pure helpers
over names and bytes; reading goes through ``tracking.selectors``.

No user file is ever shown as active content (docs/requirements.md A8): images are previewed
only from an allowlist of raster types whose first bytes match their name, and
SVG, HTML and everything else are shown as text or offered as a download.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from studio.errors import ValidationError

# Raster types a browser may show inline, each with the bytes its files start with.
RASTER_TYPES = {
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
}
TEXT_SUFFIXES = frozenset(
    ".txt .log .out .err .md .rst .py .json .jsonl .yaml .yml .toml .ini .cfg .csv .tsv .sh "
    ".html .htm .svg .xml .ipynb .js .css .sql .r .ts .c .h .cpp .java .go .rs .env".split()
)
TEXT_NAMES = frozenset({"MLmodel", "Dockerfile", "Makefile", "requirements.txt", "LICENSE"})
PREVIEW_BYTES = 256 * 1024
LOG_CHUNK = 64 * 1024
MAX_LOG_CHUNK = 1 << 20

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[P^_][^\x1b]*(?:\x1b\\)?"  # DCS, PM, APC strings
    r"|\x1b[@-Z\\-_]"  # two-byte escapes
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # other control characters (not \t \n \r)
)


@dataclass
class Node:
    """A folder or a file of the tree; ``path`` is the run file's full name."""

    name: str
    path: str
    is_dir: bool = False
    size: int | None = None
    children: list[Node] = field(default_factory=list)


def file_tree(files: list[tuple[str, int]]) -> list[Node]:
    """``[(name, size)]`` as nested folders, folders first, each level sorted."""
    root = Node("", "", is_dir=True)
    folders: dict[str, Node] = {"": root}
    for name, size in sorted(files):
        parts = name.split("/")
        parent = root
        for depth in range(1, len(parts)):
            path = "/".join(parts[:depth])
            if path not in folders:
                folders[path] = Node(parts[depth - 1], path, is_dir=True)
                parent.children.append(folders[path])
            parent = folders[path]
        parent.children.append(Node(parts[-1], name, size=size))

    def order(node: Node) -> None:
        node.children.sort(key=lambda n: (not n.is_dir, n.name.lower()))
        for child in node.children:
            order(child)

    order(root)
    return root.children


def raster_type(name: str, head: bytes) -> str | None:
    """The image type to serve ``name`` inline as, when its suffix is on the
    allowlist and its first bytes agree (a PNG-named HTML polyglot is not an image)."""
    known = RASTER_TYPES.get(PurePosixPath(name).suffix.lower())
    if known is None:
        return None
    content_type, signatures = known
    if not any(head.startswith(sig) for sig in signatures):
        return None
    if content_type == "image/webp" and head[8:12] != b"WEBP":
        return None
    return content_type


def preview_kind(name: str, head: bytes) -> str:
    """``image``, ``text`` or ``none`` for a file, from its name and first bytes."""
    if raster_type(name, head):
        return "image"
    path = PurePosixPath(name)
    if path.suffix.lower() in TEXT_SUFFIXES or path.name in TEXT_NAMES:
        return "text"
    if b"\x00" in head:
        return "none"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":  # not merely a character cut at the end
            return "none"
    return "text"


def clean_text(data: bytes) -> str:
    """Bytes of a log as plain text: invalid UTF-8 replaced, terminal escapes and
    control characters removed, and a line redrawn with ``\\r`` (progress bars)
    shown as its last state."""
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    text = _ANSI.sub("", text)
    if "\r" in text:
        text = "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))
    return text


def parse_offset(value: str | None, *, name: str, allow_negative: bool = False) -> int | None:
    if value is None or value == "":
        return None
    if not re.fullmatch(r"-?\d{1,19}", value):
        raise ValidationError(f"{name} must be an integer.", field=name)
    number = int(value)
    if number < 0 and not allow_negative:
        raise ValidationError(f"{name} must not be negative.", field=name)
    return number


def read_log(run_file, *, mode: str, at: int = 0, limit: int = LOG_CHUNK, live: bool = False):
    """A chunk of a log as ``{"start", "end", "size", "text"}`` where start and end
    are byte offsets of line starts. ``mode``: ``tail`` (the last ``limit`` bytes),
    ``forward`` (from ``at``) or ``before`` (the ``limit`` bytes before ``at``). Only
    that range is read, whatever the log's size; a live log's unfinished last line
    waits for the next poll."""
    from studio.tracking import selectors

    if not 0 < limit <= MAX_LOG_CHUNK:
        raise ValidationError(f"limit must be 1..{MAX_LOG_CHUNK}.", field="limit")
    if mode == "tail":
        # One byte more than asked: whether the chunk begins a line is then known.
        data, size = selectors.file_read(run_file=run_file, offset=-(limit + 1), limit=limit + 1)
        start = size - len(data)
    elif mode == "before":
        begin = max(at - limit - 1, 0)
        length = at - begin
        if length <= 0:
            return {"start": 0, "end": 0, "size": run_file.size, "text": ""}
        data, size = selectors.file_read(run_file=run_file, offset=begin, limit=length)
        start = begin
    else:
        data, size = selectors.file_read(run_file=run_file, offset=at, limit=limit)
        start = at
        live = live and start + len(data) >= size  # only the very end can be unfinished
    if mode != "forward" and start > 0:
        newline = data.find(b"\n")
        data, start = (
            (b"", start + len(data))
            if newline == -1
            else (data[newline + 1 :], start + newline + 1)
        )
    if live:
        last = data.rfind(b"\n")
        if last != -1:
            data = data[: last + 1]
        elif len(data) < limit:
            data = b""
    return {"start": start, "end": start + len(data), "size": size, "text": clean_text(data)}


def highlight(text: str, needle: str) -> list[tuple[str, bool]]:
    """``text`` cut into parts, each True where it is ``needle`` (case-insensitive)."""
    parts: list[tuple[str, bool]] = []
    at = 0
    for found in re.finditer(re.escape(needle), text, re.IGNORECASE) if needle else ():
        if found.start() > at:
            parts.append((text[at : found.start()], False))
        parts.append((found.group(), True))
        at = found.end()
    if at < len(text) or not parts:
        parts.append((text[at:], False))
    return parts


def present_matches(matches: list[dict], needle: str) -> list[dict]:
    """Log search matches as the viewer shows them: the text cleaned like the log, the
    term's parts marked, and the context lines with their numbers."""

    def clean(text: str) -> str:
        return clean_text(text.encode())

    shown = []
    for match in matches:
        number, before = match["number"], match["before"]
        shown.append(
            {
                "offset": match["offset"],
                "number": number,
                "line": clean(match["line"]),
                "parts": highlight(clean(match["line"]), needle),
                "before": [
                    {"number": number - len(before) + i, "text": clean(text)}
                    for i, text in enumerate(before)
                ],
                "after": [
                    {"number": number + 1 + i, "text": clean(text)}
                    for i, text in enumerate(match["after"])
                ],
            }
        )
    return shown
