"""Run files in the files storage, through the interfaces users touch (the SDK over
HTTP, the API, the studio's downloads): the local disk in the default pass, a local
S3 server with STUDIO_TEST_STORAGE=s3 (.ci/run, ``make test-s3``)."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess

import pytest

from studio.tracking import services
from tests.conftest import PYTHON, ROOT

UPLOADER = """
import io, sys
from studio.sdk import Experiment, Run, Workspace

ws = Workspace(name="default", tracking_uri=sys.argv[1])
run = Run(Experiment(workspace=ws, name="explore-runs"), sys.argv[2])
proc = int(sys.argv[3])
for i in range(100):
    run.upload_file(f"outputs/p{proc}/file {i:03d} é.txt", io.BytesIO(f"{proc}:{i}".encode()))
"""


def _expected_names() -> set[str]:
    return {f"outputs/p{p}/file {i:03d} é.txt" for p in range(8) for i in range(100)}


@pytest.mark.slow
def test_eight_processes_uploading_a_hundred_files_each_store_all_with_their_names(
    rest_workspace, api_user, live_server, s3_server, tmp_path
):
    from studio.sdk import Experiment

    run = Experiment(workspace=rest_workspace, name="explore-runs").start_logging()
    env = {**os.environ, "STUDIO_TOKEN": api_user.secret, "PYTHONPATH": str(ROOT)}
    env.pop("STUDIO_TRACKING_URI", None)
    procs = [
        subprocess.Popen(
            [PYTHON, "-c", UPLOADER, live_server.url, run.id, str(p)],
            env=env,
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(8)
    ]
    errors = [proc.communicate(timeout=600)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 8, errors

    names = [n for n in run.get_file_names() if n.startswith("outputs/")]
    assert len(names) == 800
    assert set(names) == _expected_names()
    for p, i in ((0, 0), (3, 57), (7, 99)):
        out = tmp_path / f"{p}-{i}.txt"
        run.download_file(f"outputs/p{p}/file {i:03d} é.txt", out)
        assert out.read_bytes() == f"{p}:{i}".encode()
    if s3_server is not None:  # each one an object of its own in the bucket
        from studio.tracking.models import Run

        prefix = f"runs/{Run.objects.get(run_id=run.id).uuid.hex}/"
        assert len(s3_server.keys(prefix)) == 800
    run.complete()


@pytest.mark.slow
def test_a_200_mb_output_is_uploaded_and_downloaded_byte_identical(
    rest_workspace, s3_server, tmp_path
):
    from studio.sdk import Experiment

    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with source.open("wb") as f:
        block = os.urandom(1 << 20)
        for i in range(200):
            piece = block[i:] + block[:i]  # 200 different megabytes
            f.write(piece)
            digest.update(piece)
    run = Experiment(workspace=rest_workspace, name="explore-runs").start_logging()
    run.upload_file("outputs/big.bin", str(source))
    back = tmp_path / "back.bin"
    run.download_file("outputs/big.bin", back)

    assert back.stat().st_size == 200 << 20
    assert hashlib.sha256(back.read_bytes()).hexdigest() == digest.hexdigest()
    if s3_server is not None:
        from studio.tracking.models import RunFile

        key = RunFile.objects.get(run__run_id=run.id, name="outputs/big.bin").storage_key
        head = s3_server.client.head_object(Bucket=s3_server.bucket, Key=key)
        assert head["ContentLength"] == 200 << 20
    run.complete()


# --- ranges ------------------------------------------------------------------------------------

DATA = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def files(run):
    """An output, and a live log shipped in 10 chunks of 1,024 bytes."""
    services.run_file_upload(run=run, name="outputs/data.bin", content=io.BytesIO(DATA))
    for at in range(0, len(DATA), 1024):
        services.run_live_log_append(run=run, offset=at, data=DATA[at : at + 1024])
    return run


def _urls(run, name):
    return [f"/api/v1/runs/{run.run_id}/files/{name}", f"/runs/{run.run_id}/files/{name}"]


def _get(client, member, url, header):
    extra = {"HTTP_RANGE": header} if header else {}
    return (member.api if url.startswith("/api/") else client).get(url, **extra)


@pytest.mark.parametrize("name", ["outputs/data.bin", "logs/std_log.txt"])
@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=1000-3100", 1000, 3100),  # across three chunks of the log
        ("bytes=10000-", 10000, 10239),
        ("bytes=-100", 10140, 10239),
        ("bytes=10200-99999", 10200, 10239),  # the end is clamped
        ("bytes=-99999", 0, 10239),
    ],
)
def test_a_range_gets_206_with_exactly_those_bytes(
    client, member, files, name, header, first, last
):
    client.force_login(member)
    for url in _urls(files, name):
        response = _get(client, member, url, header)
        assert response.status_code == 206, url
        assert response["Content-Range"] == f"bytes {first}-{last}/{len(DATA)}"
        assert int(response["Content-Length"]) == last - first + 1
        assert b"".join(response.streaming_content) == DATA[first : last + 1]


@pytest.mark.parametrize("name", ["outputs/data.bin", "logs/std_log.txt"])
@pytest.mark.parametrize(
    "header",
    [
        "bytes=10240-",  # starts at the end
        "bytes=99999-100000",
        "bytes=5-2",  # backwards
        "bytes=-0",
        "bytes=-",
        "bytes=abc",
        "bytes=0-1,5-6",  # several ranges: not served
        "bytes=1.5-2",
    ],
)
def test_a_range_naming_no_byte_of_the_file_is_416_with_its_size(
    client, member, files, name, header
):
    client.force_login(member)
    for url in _urls(files, name):
        response = _get(client, member, url, header)
        assert response.status_code == 416, (url, header)
        assert response["Content-Range"] == f"bytes */{len(DATA)}"
        assert response.json()["error"]["code"] == "range_not_satisfiable"


def test_without_a_range_or_in_another_unit_the_whole_file_comes_with_accept_ranges(
    client, member, files
):
    client.force_login(member)
    for url in _urls(files, "logs/std_log.txt"):
        for header in ("", "items=0-5"):
            response = _get(client, member, url, header)
            assert response.status_code == 200
            assert response["Accept-Ranges"] == "bytes"
            assert b"".join(response.streaming_content) == DATA


def test_the_log_viewer_tails_and_searches_a_log_of_many_chunks(client, member, run):
    lines = [b"step %06d loss %d\n" % (i, i % 7) for i in range(30_000)]
    blob = b"".join(lines)
    sent = 0
    for i in range(0, len(lines), 1000):  # 30 shipments, as a supervisor sends them
        piece = b"".join(lines[i : i + 1000])
        services.run_live_log_append(run=run, offset=sent, data=piece)
        sent += len(piece)
    client.force_login(member)
    tail = client.get(f"/runs/{run.run_id}/log/", {"name": "logs/std_log.txt"}).json()
    assert tail["size"] == len(blob)
    assert tail["text"].endswith(lines[-1].decode())
    assert blob[tail["start"] : tail["end"]].decode() == tail["text"]
    found = client.get(
        f"/runs/{run.run_id}/log/search/", {"name": "logs/std_log.txt", "q": "STEP 01234"}
    ).json()
    assert [m["line"] for m in found["matches"]] == [
        f"step 01234{d} loss {(12340 + d) % 7}" for d in range(10)
    ]
    assert [m["offset"] for m in found["matches"]] == [
        blob.index(b"step 01234%d" % d) for d in range(10)
    ]


def test_a_live_log_keeps_few_chunks_when_shipped_in_small_pieces(run):
    from studio.tracking.models import LogChunk

    text = b""
    for i in range(60):
        piece = b"tick %03d\n" % i
        services.run_live_log_append(run=run, offset=len(text), data=piece)
        text += piece
    chunks = LogChunk.objects.filter(run_file__run=run).order_by("offset")
    assert chunks.count() < 8  # merged as it went: a tail reads a few objects, not 60
    assert [c.offset for c in chunks] == sorted({c.offset for c in chunks})
    from studio.tracking import selectors

    live = selectors.file_get(run=run, name="logs/std_log.txt")
    assert selectors.file_read(run_file=live)[0] == text
    assert selectors.file_read(run_file=live, offset=-9)[0] == b"tick 059\n"


def test_a_chunk_sent_again_changes_nothing_and_a_gap_is_refused(run):
    from studio.errors import Conflict

    assert services.run_live_log_append(run=run, offset=0, data=b"hello ") == 6
    assert services.run_live_log_append(run=run, offset=0, data=b"hello ") == 6
    assert services.run_live_log_append(run=run, offset=3, data=b"lo world") == 11
    with pytest.raises(Conflict):
        services.run_live_log_append(run=run, offset=20, data=b"gap")
    from studio.tracking import selectors

    live = selectors.file_get(run=run, name="logs/std_log.txt")
    assert selectors.file_read(run_file=live) == (b"hello world", 11)


# --- an unreachable storage ----------------------------------------------------------------------


@pytest.fixture
def unreachable(settings, monkeypatch):
    """The files storage pointed at a port where nothing listens."""
    from studio.settings import _s3_files_storage
    from tests.s3server import free_port

    monkeypatch.setenv("STUDIO_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("STUDIO_S3_BUCKET", "studio-test")
    monkeypatch.setenv("STUDIO_S3_ATTEMPTS", "2")
    settings.STORAGES = {**settings.STORAGES, "studio_files": _s3_files_storage()}


@pytest.mark.s3
def test_an_upload_to_an_unreachable_bucket_fails_clearly_and_stores_nothing(
    member, run, unreachable
):
    url = f"/api/v1/runs/{run.run_id}/files/outputs/model.bin"
    response = member.api.put(url, data=b"weights", content_type="application/octet-stream")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "unavailable"
    assert "file storage could not be reached" in error["message"]
    assert member.api.get(f"/api/v1/runs/{run.run_id}/files").json()["files"] == []


@pytest.mark.s3
def test_an_upload_to_a_missing_bucket_fails_clearly_and_stores_nothing(
    member, run, settings, monkeypatch
):
    from studio.settings import _s3_files_storage

    monkeypatch.setenv("STUDIO_S3_BUCKET", "no-such-bucket")
    settings.STORAGES = {**settings.STORAGES, "studio_files": _s3_files_storage()}
    url = f"/api/v1/runs/{run.run_id}/files/outputs/model.bin"
    response = member.api.put(url, data=b"weights", content_type="application/octet-stream")
    assert response.status_code == 503
    assert "NoSuchBucket" in response.json()["error"]["message"]
    assert member.api.get(f"/api/v1/runs/{run.run_id}/files").json()["files"] == []


def test_storage_settings_are_checked_at_start_up(tmp_path):
    """STUDIO_STORAGE=s3 without a bucket, or an unknown storage: the settings do not
    load, and the error says what to set."""
    code = "import django; django.setup()"
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_S3_", "STUDIO_STORAGE"))
    }
    base |= {"DJANGO_SETTINGS_MODULE": "studio.settings", "STUDIO_HOME": str(tmp_path)}

    def start(**env):
        return subprocess.run([PYTHON, "-c", code], env=base | env, capture_output=True, text=True)

    missing = start(STUDIO_STORAGE="s3")
    assert missing.returncode != 0
    assert "STUDIO_STORAGE=s3 needs STUDIO_S3_BUCKET" in missing.stderr
    unknown = start(STUDIO_STORAGE="ftp")
    assert unknown.returncode != 0
    assert "STUDIO_STORAGE must be 'local' or 's3', not 'ftp'" in unknown.stderr
    bad_url = start(STUDIO_STORAGE="s3", STUDIO_S3_BUCKET="b", STUDIO_S3_ENDPOINT_URL="minio:9000")
    assert bad_url.returncode != 0
    assert "STUDIO_S3_ENDPOINT_URL must be an http(s) URL" in bad_url.stderr
    assert start(STUDIO_STORAGE="s3", STUDIO_S3_BUCKET="b").returncode == 0


@pytest.mark.local_disk
def test_a_live_log_begun_before_chunks_keeps_growing_in_place(run):
    """A run started before the upgrade: its log is one file appended in place."""
    from studio.tracking import selectors

    services.run_file_upload(run=run, name="logs/std_log.txt", content=io.BytesIO(b"old "))
    assert services.run_live_log_append(run=run, offset=4, data=b"and new") == 11
    live = selectors.file_get(run=run, name="logs/std_log.txt")
    assert not live.chunked
    assert selectors.file_read(run_file=live) == (b"old and new", 11)


@pytest.mark.s3
def test_an_uploaded_log_in_a_bucket_takes_no_appends(run):
    from studio.errors import Conflict

    services.run_file_upload(run=run, name="logs/std_log.txt", content=io.BytesIO(b"old "))
    with pytest.raises(Conflict, match="uploaded as a file"):
        services.run_live_log_append(run=run, offset=4, data=b"and new")


def test_deleting_a_workspace_deletes_its_live_logs_chunks(
    owner, run, s3_server, django_capture_on_commit_callbacks
):
    from studio.tracking import storage
    from studio.tracking.models import LogChunk

    services.run_file_upload(run=run, name="outputs/a.txt", content=io.BytesIO(b"a"))
    for at in range(0, len(DATA), 1024):
        services.run_live_log_append(run=run, offset=at, data=DATA[at : at + 1024])
    services.run_complete(run=run)
    keys = list(LogChunk.objects.values_list("storage_key", flat=True))
    store = storage.files_storage()
    assert len(keys) >= 2 and all(store.exists(k) for k in keys)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.api.delete(
            "/api/v1/workspaces/default", '{"confirm": "default"}', content_type="application/json"
        )
    assert response.status_code == 200, response.content
    assert [k for k in keys if store.exists(k)] == []
    folder = f"runs/{run.uuid.hex}"
    if s3_server is not None:
        assert s3_server.keys(folder + "/") == []
    else:
        assert not os.path.exists(store.path(folder))
