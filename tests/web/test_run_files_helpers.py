"""The file tree, preview kinds and log text of the run page (studio/web/run_files.py)."""

from __future__ import annotations

import pytest

from studio.errors import ValidationError
from studio.web.run_files import clean_text, file_tree, parse_offset, preview_kind, raster_type
from studio.web.templatetags.run_tags import filesize, num

PNG = b"\x89PNG\r\n\x1a\n...."


def test_the_tree_nests_folders_first_and_sorts_each_level():
    tree = file_tree(
        [("outputs/b.txt", 2), ("logs/std_log.txt", 9), ("outputs/m/w.bin", 1), ("a.txt", 3)]
    )
    assert [(n.name, n.is_dir) for n in tree] == [
        ("logs", True),
        ("outputs", True),
        ("a.txt", False),
    ]
    outputs = tree[1]
    assert [n.name for n in outputs.children] == ["m", "b.txt"]
    assert outputs.children[0].children[0].path == "outputs/m/w.bin"
    assert outputs.children[1].size == 2


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("a.png", PNG, "image/png"),
        ("a.PNG", PNG, "image/png"),
        ("a.jpg", b"\xff\xd8\xff\xe0", "image/jpeg"),
        ("a.gif", b"GIF89a..", "image/gif"),
        ("a.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        ("a.webp", b"RIFF\x00\x00\x00\x00AVI ", None),
        ("a.png", b"<html><script>", None),  # a name is not a type
        ("a.svg", b"<svg>", None),
        ("a.html", b"<html>", None),
        ("a.bmp", b"BM", None),
    ],
)
def test_only_allowlisted_raster_types_whose_bytes_agree_are_images(name, head, expected):
    assert raster_type(name, head) == expected


@pytest.mark.parametrize(
    ("name", "head", "kind"),
    [
        ("outputs/plot.png", PNG, "image"),
        ("outputs/evil.svg", b"<svg onload=alert(1)>", "text"),
        ("outputs/report.html", b"<script>", "text"),
        ("outputs/MLmodel", b"flavors:", "text"),
        ("outputs/model.pkl", b"\x80\x04\x95", "none"),
        ("outputs/data", b"plain words\n", "text"),
        ("outputs/blob", b"\x00\x01\x02", "none"),
        ("outputs/cut", "é".encode() * 10 + "é".encode()[:1], "text"),
    ],
)
def test_preview_kinds(name, head, kind):
    assert preview_kind(name, head) == kind


def test_clean_text_strips_terminal_escapes_and_keeps_the_last_state_of_a_redrawn_line():
    raw = b"\x1b[32mok\x1b[0m\r\n10%\r50%\r100%\nbell\x07 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n\xff"
    assert clean_text(raw) == "ok\n100%\nbell link\n\ufffd"


@pytest.mark.parametrize("value", ["-1", "1.5", "abc", "1" * 20, " 1"])
def test_offsets_must_be_small_non_negative_integers(value):
    with pytest.raises(ValidationError):
        parse_offset(value, name="offset")


def test_offsets_parse():
    assert parse_offset(None, name="offset") is None
    assert parse_offset("", name="offset") is None
    assert parse_offset("42", name="offset") == 42
    assert parse_offset("-3", name="lo", allow_negative=True) == -3


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "—"), (0.123456, "0.1235"), (1e-9, "1e-09"), (float("nan"), "NaN"), (12, "12"),
     (123456, "123,456"), (float("inf"), "∞"), ("text", "text"), (True, "True")],
)  # fmt: skip
def test_numbers_show_four_significant_digits(value, shown):
    assert num(value) == shown


def test_file_sizes_read_naturally():
    assert [filesize(v) for v in (None, 0, 1023, 2048, 5 * 1024**3)] == [
        "",
        "0 B",
        "1023 B",
        "2.0 KB",
        "5.0 GB",
    ]
