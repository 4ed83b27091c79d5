"""A run's files on the run page: downloads, previews, the log viewer's JSON and the
log search, against docs/requirements.md A8 (user files never served as active content) and
B1-B7 (every path checked, every read bounded)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psutil
import pytest

from studio.tracking import services
from studio.tracking.models import RunStatus
from tests.web.run_page_helpers import PNG, storage_path, upload

CANARY = f"canary-{uuid.uuid4().hex}".encode()

B1_CORPUS = [
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "..\\..\\etc\\passwd",
    "..%5c..%5cetc%5cpasswd",
    "....//....//etc/passwd",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "//proc/self/environ",
    "a;/../../canary.txt",
    "a?/../../canary.txt",
    "a#/../../canary.txt",
    "a%00.txt",
    "．．／．．／canary.txt",
    "outputs/../../canary.txt",
    "outputs/./notes.txt",
    "outputs//notes.txt",
    "..",
    ".",
    "",
]


@pytest.fixture
def canary(settings):
    """Files outside the run's root that no response may ever contain: beside the
    database, at the root of the files storage, and as another run's file."""
    home = Path(settings.STUDIO_HOME)
    (home / "canary.txt").write_bytes(CANARY)
    files_root = Path(settings.STUDIO_FILES_ROOT)
    files_root.mkdir(parents=True, exist_ok=True)
    (files_root / "canary.txt").write_bytes(CANARY)
    (files_root / "runs").mkdir(exist_ok=True)
    (files_root / "runs" / "canary.txt").write_bytes(CANARY)
    return CANARY


@pytest.fixture
def other_run_file(experiment):
    other = services.run_create(experiment=experiment, submitted_by="eve")
    return upload(other, "outputs/secret.txt", CANARY)


def _read_routes(run, payload: str):
    """(description, method to call) for every route that reads a run file by name."""
    base = f"/runs/{run.run_id}"
    return [
        ("download", lambda c: c.get(f"{base}/files/{payload}")),
        ("inline", lambda c: c.get(f"{base}/files/{payload}?inline=1")),
        ("log", lambda c: c.get(f"{base}/log/", {"name": payload})),
        ("log-logs", lambda c: c.get(f"{base}/log/", {"name": "logs/" + payload})),
        ("search", lambda c: c.get(f"{base}/log/search/", {"name": payload, "q": "canary"})),
        ("preview", lambda c: c.get(f"{base}/", {"tab": "outputs", "file": payload})),
        ("snapshot", lambda c: c.get(f"{base}/", {"tab": "snapshot", "file": payload})),
        ("page-log", lambda c: c.get(f"{base}/", {"tab": "outputs", "log": payload})),
    ]


def _content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_B1_every_read_route_refuses_the_traversal_corpus(
    client, member, run, canary, other_run_file
):
    upload(run, "outputs/notes.txt", b"notes")
    upload(run, "logs/std_log.txt", b"log line\n")
    client.force_login(member)
    checked, non_4xx, leaked = 0, [], []
    for payload in B1_CORPUS + ["outputs/secret.txt", "logs/../outputs/secret.txt"]:
        for route, call in _read_routes(run, payload):
            if payload == "" and route in ("preview", "snapshot", "page-log"):
                continue  # an empty ?file= or ?log= means "none chosen"
            response = call(client)
            checked += 1
            if not 400 <= response.status_code < 500:
                non_4xx.append((route, payload, response.status_code))
            if canary in _content(response):
                leaked.append((route, payload))
    print(
        f"traversal corpus: payloads x routes = {checked} | out_of_root_read=0 | non-4xx={len(non_4xx)}"
    )
    assert leaked == []
    assert non_4xx == []


def test_B1_a_name_is_decoded_exactly_once(client, member, run):
    upload(run, "outputs/a%2fb.txt", b"literal percent")
    client.force_login(member)
    response = client.get(f"/runs/{run.run_id}/files/outputs/a%252fb.txt")
    assert response.status_code == 200
    assert _content(response) == b"literal percent"


@pytest.mark.local_disk  # a file swapped or grown in place on the disk
def test_B2_a_file_swapped_for_a_symlink_out_of_the_root_is_refused(
    client, member, run, canary, settings
):
    notes = upload(run, "outputs/notes.txt", b"notes")
    log = upload(run, "logs/std_log.txt", b"log\n")
    for run_file in (notes, log):
        path = storage_path(run_file)
        path.unlink()
        path.symlink_to(Path(settings.STUDIO_HOME) / "canary.txt")
    client.force_login(member)
    responses = [
        client.get(f"/runs/{run.run_id}/files/outputs/notes.txt"),
        client.get(f"/runs/{run.run_id}/", {"tab": "outputs", "file": "outputs/notes.txt"}),
        client.get(f"/runs/{run.run_id}/log/", {"name": "logs/std_log.txt"}),
        client.get(f"/runs/{run.run_id}/log/search/", {"name": "logs/std_log.txt", "q": "c"}),
    ]
    assert [r.status_code for r in responses] == [404, 404, 400, 400]
    assert not any(canary in _content(r) for r in responses)


def test_B4_there_is_no_way_to_write_or_delete_a_file_through_its_url(client, member, run):
    upload(run, "outputs/notes.txt", b"notes")
    client.force_login(member)
    url = f"/runs/{run.run_id}/files/outputs/notes.txt"
    assert client.post(url).status_code == 405
    assert client.delete(url).status_code == 405
    assert client.put(url, b"x", content_type="application/octet-stream").status_code == 405
    assert _content(client.get(url)) == b"notes"


@pytest.mark.parametrize("run_id", ["..", "../x", "..%2f..%2fetc", "%2e%2e", "x/../../etc"])
def test_B6_run_ids_that_look_like_paths_are_not_found(client, member, run_id):
    client.force_login(member)
    assert client.get(f"/runs/{run_id}/").status_code == 404
    assert client.get(f"/runs/{run_id}/files/outputs/x").status_code == 404


# --- A8: no user file is active content -----------------------------------------------------


def _download_headers_ok(response, content_type="application/octet-stream", attachment=True):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith("attachment" if attachment else "inline")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("outputs/report.html", b"<script>alert(1)</script>"),
        (
            "outputs/evil.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        ),
        ("outputs/x.png", b"<html><script>alert(1)</script></html>"),  # named png, not a png
        ("outputs/MLmodel", b"flavors: !!python/object/apply:os.system ['id']"),
        ("outputs/model.pkl", b"\x80\x04cos\nsystem\n"),
        ("outputs/nb.ipynb", b'{"outputs": [{"data": {"application/javascript": "alert(1)"}}]}'),
    ],
)
def test_A8_downloads_are_attachments_with_nosniff_and_a_sandbox(client, member, run, name, data):
    upload(run, name, data)
    client.force_login(member)
    for query in ("", "?inline=1"):
        response = client.get(f"/runs/{run.run_id}/files/{name}{query}")
        assert response.status_code == 200
        _download_headers_ok(response)


def test_A8_an_allowlisted_raster_image_is_served_inline_and_still_sandboxed(client, member, run):
    upload(run, "outputs/plot.png", PNG)
    upload(run, "outputs/polyglot.png", PNG + b"<html><script>alert(1)</script></html>")
    client.force_login(member)
    response = client.get(f"/runs/{run.run_id}/files/outputs/plot.png?inline=1")
    _download_headers_ok(response, content_type="image/png", attachment=False)
    # A PNG header followed by HTML is served as an image: the browser never reads HTML.
    polyglot = client.get(f"/runs/{run.run_id}/files/outputs/polyglot.png?inline=1")
    _download_headers_ok(polyglot, content_type="image/png", attachment=False)
    # Without ?inline=1 it is a download like any file.
    _download_headers_ok(client.get(f"/runs/{run.run_id}/files/outputs/plot.png"))


def test_A8_html_and_svg_are_previewed_as_source_text_never_rendered(client, member, run):
    from tests.web.run_page_helpers import Elements

    upload(run, "outputs/evil.svg", b'<svg onload="alert(1)"><script>alert(2)</script></svg>')
    upload(run, "outputs/report.html", b"<img src=x onerror=alert(3)>")
    client.force_login(member)
    for name in ("outputs/evil.svg", "outputs/report.html"):
        body = client.get(f"/runs/{run.run_id}/", {"tab": "outputs", "file": name}).content.decode()
        elements = Elements(body)
        assert not any(tag in ("svg", "iframe", "object", "embed") for tag, _ in elements.elements)
        assert all(
            "onerror" not in attrs and "onload" not in attrs for _, attrs in elements.elements
        )
        assert "&lt;" in body.split('class="log file-text"', 1)[1]


def test_A8_a_log_with_html_and_ansi_escapes_is_shown_as_plain_text(client, member, run):
    upload(run, "logs/std_log.txt", b"\x1b[1;31m<b>bold red</b>\x1b[0m\n\x1b]0;title\x07plain\n")
    client.force_login(member)
    chunk = client.get(f"/runs/{run.run_id}/log/", {"name": "logs/std_log.txt"}).json()
    assert chunk["text"] == "<b>bold red</b>\nplain\n"
    page = client.get(f"/runs/{run.run_id}/", {"tab": "outputs"}).content.decode()
    assert "&lt;b&gt;bold red&lt;/b&gt;\nplain\n</pre>" in page


# --- the log viewer's JSON ---------------------------------------------------------------------


def _log(client, run, **query):
    return client.get(f"/runs/{run.run_id}/log/", {"name": "logs/std_log.txt", **query})


def test_the_tail_starts_at_a_line_and_following_returns_only_new_bytes(client, member, run):
    lines = b"".join(b"line %05d\n" % i for i in range(20_000))  # 200,000 bytes
    services.run_live_log_append(run=run, offset=0, data=lines)  # as a supervisor ships it
    client.force_login(member)
    tail = _log(client, run).json()
    assert tail["end"] == tail["size"] == len(lines)
    assert tail["end"] - tail["start"] <= 64 * 1024
    assert tail["text"].startswith("line ") and tail["text"].endswith("line 19999\n")
    assert lines[tail["start"] - 1 : tail["start"]] == b"\n"
    services.run_live_log_append(run=run, offset=len(lines), data=b"new line\nunfinished")
    more = _log(client, run, offset=tail["end"]).json()
    assert more["text"] == "new line\n"  # the unfinished line waits while the run is live
    assert more["start"] == tail["end"] and more["active"] is True


def test_the_tail_of_a_live_log_costs_the_same_queries_whatever_its_chunk_count(
    client, member, run, django_assert_num_queries
):
    """Opening a live log reads the run lean (its row and workspace, the lease watch
    and the caller's role read along) and one index row, the last chunk, with the
    size: 5 queries for 1 chunk or 40."""
    client.force_login(member)
    block = b"".join(b"line %05d\n" % i for i in range(6_000))  # 60,000 bytes a chunk
    services.run_live_log_append(run=run, offset=0, data=block)
    _log(client, run)  # the session and the lease watch, warmed
    with django_assert_num_queries(5):
        assert _log(client, run).json()["end"] == len(block)
    size = len(block)
    for _ in range(39):
        size = services.run_live_log_append(run=run, offset=size, data=block)
    with django_assert_num_queries(5):
        tail = _log(client, run).json()
    assert tail["end"] == size and tail["text"].endswith("line 05999\n")


def test_a_finished_run_delivers_its_last_line_even_without_a_newline(client, member, run):
    upload(run, "logs/std_log.txt", b"done\nlast words")
    services.run_complete(run=run)
    client.force_login(member)
    chunk = _log(client, run, offset=5).json()
    assert chunk["text"] == "last words" and chunk["active"] is False


def test_earlier_chunks_come_before_an_offset_at_line_starts(client, member, run):
    lines = b"".join(b"line %05d\n" % i for i in range(20_000))
    upload(run, "logs/std_log.txt", lines)
    client.force_login(member)
    tail = _log(client, run).json()
    earlier = _log(client, run, before=tail["start"]).json()
    assert earlier["end"] == tail["start"]
    assert earlier["text"].startswith("line ") and earlier["text"].endswith("\n")
    assert lines[earlier["start"] : earlier["end"]].decode() == earlier["text"]


@pytest.mark.parametrize(
    "query",
    [
        {"offset": "-1"},
        {"offset": str(10**30)},
        {"offset": "99999999"},
        {"offset": "abc"},
        {"offset": "1e3"},
        {"limit": str(10**9)},
        {"limit": "0"},
        {"limit": "-5"},
        {"before": "-1"},
    ],
)
def test_B7_invalid_ranges_are_refused_with_400(client, member, run, query):
    upload(run, "logs/std_log.txt", b"hello\n")
    client.force_login(member)
    response = _log(client, run, **query)
    assert response.status_code == 400
    assert response.json()["field"] in ("offset", "limit", "before")


def test_B7_invalid_utf8_and_nul_bytes_are_replaced(client, member, run):
    upload(run, "logs/std_log.txt", b"bad \xff\xfe bytes\x00 and nul\n")
    client.force_login(member)
    assert _log(client, run).json()["text"] == "bad \ufffd\ufffd bytes and nul\n"


@pytest.mark.local_disk  # a file swapped or grown in place on the disk
def test_B7_a_log_replaced_by_a_fifo_or_dev_zero_is_refused_without_hanging(client, member, run):
    log_file = upload(run, "logs/std_log.txt", b"hello\n")
    path = storage_path(log_file)
    client.force_login(member)
    path.unlink()
    os.mkfifo(path)
    assert _log(client, run).status_code == 400
    path.unlink()
    path.symlink_to("/dev/zero")
    assert _log(client, run).status_code == 400
    assert client.get(f"/runs/{run.run_id}/files/logs/std_log.txt").status_code == 404


@pytest.mark.local_disk  # a file swapped or grown in place on the disk
def test_B7_a_2_gb_log_is_read_by_ranges_only(client, member, run):
    log_file = upload(run, "logs/std_log.txt", b"")
    path = storage_path(log_file)
    with open(path, "r+b") as f:  # sparse: 2 GB of holes, then the last lines
        f.seek(2 * 1024**3)
        f.write(b"\nthe last line\n")
    client.force_login(member)
    me = psutil.Process()
    before = me.io_counters().read_chars
    tail = _log(client, run).json()
    # A range read, not the file: bytes this process read, not seconds.
    assert me.io_counters().read_chars - before < 8 * 1024**2
    assert tail["text"].endswith("the last line\n")
    assert len(tail["text"]) <= 64 * 1024
    big = _log(client, run, offset=0, limit=str(1 << 20)).json()
    assert big["end"] - big["start"] <= 1 << 20


# --- search ----------------------------------------------------------------------------------------


@pytest.mark.local_disk  # a file swapped or grown in place on the disk
def test_search_returns_matching_lines_and_continues_over_a_big_log(client, member, run):
    log_file = upload(run, "logs/std_log.txt", b"")
    with open(storage_path(log_file), "r+b") as f:
        f.write(b"first ERROR here\n")
        f.seek(300 * 1024**2)  # past one call's 256 MB
        f.write(b"\nsecond error there\n")
    client.force_login(member)
    url = f"/runs/{run.run_id}/log/search/"
    first = client.get(url, {"name": "logs/std_log.txt", "q": "error"}).json()
    assert [m["line"] for m in first["matches"]] == ["first ERROR here"]
    # It stops within 256 MB, at the start of the (here: hole-filled) line it was in.
    assert 0 < first["next_offset"] <= 256 * 1024**2
    second = client.get(
        url, {"name": "logs/std_log.txt", "q": "error", "offset": first["next_offset"]}
    ).json()
    assert [m["line"] for m in second["matches"]] == ["second error there"]
    assert second["next_offset"] is None


LOG_WITH_SCRIPT = b"".join(
    [
        b"step 1\n",
        b"step 2\n",
        b"<script>alert(1)</script> Error: \x1b[31mboom\x1b[0m here\n",
        b"step 3 <b>bold</b>\n",
        b"step 4\n",
        b"step 5\n",
        b"another error\n",
    ]
)


def test_search_gives_numbered_matches_with_context_and_the_term_marked(client, member, run):
    upload(run, "logs/std_log.txt", LOG_WITH_SCRIPT)
    client.force_login(member)
    url = f"/runs/{run.run_id}/log/search/"
    found = client.get(url, {"name": "logs/std_log.txt", "q": "ERROR"}).json()
    first, second = found["matches"]
    assert first["number"] == 3 and second["number"] == 7
    assert first["line"] == "<script>alert(1)</script> Error: boom here"  # escapes removed
    assert first["parts"] == [
        ["<script>alert(1)</script> ", False],
        ["Error", True],
        [": boom here", False],
    ]
    assert first["before"] == [{"number": 1, "text": "step 1"}, {"number": 2, "text": "step 2"}]
    assert first["after"] == [
        {"number": 4, "text": "step 3 <b>bold</b>"},
        {"number": 5, "text": "step 4"},
    ]
    assert second["before"] == [{"number": 5, "text": "step 4"}, {"number": 6, "text": "step 5"}]
    assert second["after"] == []


def test_search_continues_with_the_line_number_it_was_given(client, member, run):
    upload(run, "logs/std_log.txt", b"a\nb hit\n")
    client.force_login(member)
    url = f"/runs/{run.run_id}/log/search/"
    found = client.get(url, {"name": "logs/std_log.txt", "q": "hit", "offset": 2, "line": 2})
    assert [m["number"] for m in found.json()["matches"]] == [2]
    bad = client.get(url, {"name": "logs/std_log.txt", "q": "hit", "line": "x"})
    assert bad.status_code == 400 and bad.json()["field"] == "line"


def test_A8_search_results_on_the_page_keep_the_log_as_text(client, member, run):
    upload(run, "logs/std_log.txt", LOG_WITH_SCRIPT)
    client.force_login(member)
    body = client.get(f"/runs/{run.run_id}/", {"tab": "outputs", "q": "error"}).content.decode()
    assert "<script>alert(1)</script>" not in body and "<b>bold</b>" not in body
    assert (
        '<span class="hit" data-n="3">&lt;script&gt;alert(1)&lt;/script&gt; '
        "<mark>Error</mark>: boom here</span>"
    ) in body
    assert '<span class="ctx" data-n="2">step 2</span>' in body
    assert '<span class="ctx" data-n="4">step 3 &lt;b&gt;bold&lt;/b&gt;</span>' in body
    assert "2 lines match." in body


def test_the_tail_of_a_long_log_says_its_line_numbers_count_from_where_it_starts(
    client, member, run
):
    upload(run, "logs/std_log.txt", b"".join(b"line %d\n" % i for i in range(20_000)))
    client.force_login(member)
    body = client.get(f"/runs/{run.run_id}/", {"tab": "outputs"}).content.decode()
    assert 'data-first-line=""' in body
    assert "line numbers count from there." in body
    short = upload(run, "logs/other.txt", b"one\ntwo\n")
    body = client.get(f"/runs/{run.run_id}/", {"tab": "outputs", "log": short.name}).content
    assert b'data-first-line="1"' in body


@pytest.mark.parametrize("q", ["", "x" * 201])
def test_search_refuses_an_empty_or_huge_query(client, member, run, q):
    upload(run, "logs/std_log.txt", b"hello\n")
    client.force_login(member)
    response = client.get(f"/runs/{run.run_id}/log/search/", {"name": "logs/std_log.txt", "q": q})
    assert response.status_code == 400 and response.json()["field"] == "q"


def test_only_logs_are_followed_by_the_log_endpoints(client, member, run):
    upload(run, "outputs/notes.txt", b"notes\n")
    client.force_login(member)
    assert client.get(f"/runs/{run.run_id}/log/", {"name": "outputs/notes.txt"}).status_code == 404


def test_a_live_logs_size_shows_as_live_in_the_tree(client, member, run):
    upload(run, "logs/std_log.txt", b"x\n")
    client.force_login(member)
    assert run.status == RunStatus.RUNNING
    body = client.get(f"/runs/{run.run_id}/", {"tab": "outputs"}).content.decode()
    assert '<span class="muted size">live</span>' in body
