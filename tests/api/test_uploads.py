"""File uploads without a declared length (RELIABILITY E3): a chunked body is
streamed where the WSGI server decodes it (gunicorn), refused with 411 where it
would arrive empty (Django's development server), and never stored empty. A declared
length over the limit is refused before the body is read."""

import io
import re
import subprocess
import time

import httpx
import pytest

from studio.tracking import selectors
from studio.tracking.models import RunFile
from tests.conftest import PYTHON

CHUNKED = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}


def _url(run_id, name="outputs/model.bin"):
    return f"/api/v1/runs/{run_id}/files/{name}"


class _Unread:
    """A request body that must not be read."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def _put(client, run, **extra):
    return client.put(_url(run.run_id), CONTENT_TYPE="application/octet-stream", **extra)


def test_a_chunked_upload_the_server_cannot_read_is_refused_with_411(owner, run):
    response = _put(owner.api, run, **CHUNKED, **{"wsgi.input": io.BytesIO(b"data")})

    assert response.status_code == 411
    assert response.json()["error"]["code"] == "length_required"
    assert not RunFile.objects.exists()


def test_a_chunked_upload_is_streamed_where_the_server_decodes_it(owner, run):
    body = {"wsgi.input": io.BytesIO(b"weights" * 1000), "wsgi.input_terminated": True}

    response = _put(owner.api, run, **CHUNKED, **body)

    assert response.status_code == 201 and response.json()["size"] == 7000
    run_file = selectors.file_get(run=run, name="outputs/model.bin")
    assert selectors.file_read(run_file=run_file, offset=0, limit=10_000)[0] == b"weights" * 1000


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(owner, run, settings):
    settings.STUDIO_MAX_UPLOAD_BYTES = 1000

    response = _put(owner.api, run, CONTENT_LENGTH="1001", **{"wsgi.input": _Unread()})

    assert response.status_code == 413
    assert not RunFile.objects.exists()


def test_a_chunked_body_over_the_limit_is_cut_and_nothing_is_stored(owner, run, settings):
    settings.STUDIO_MAX_UPLOAD_BYTES = 1000
    body = {"wsgi.input": io.BytesIO(b"x" * 5000), "wsgi.input_terminated": True}

    response = _put(owner.api, run, **CHUNKED, **body)

    assert response.status_code == 413
    assert not RunFile.objects.exists()


# --- over real sockets: httpx sends a generator body chunked ---------------------------


def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        yield b"z" * part
        sent += part


def _upload(base_url, secret, run, total, name="outputs/model.bin"):
    return httpx.put(
        base_url + _url(run.id, name),
        content=_chunks(total),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/octet-stream"},
        timeout=60,
    )


def test_the_development_server_answers_a_chunked_upload_with_411(live_server, api_user, sdk):
    run = sdk.Experiment(sdk.Workspace.from_config(), "uploads").start_logging()

    response = _upload(live_server.url, api_user.secret, run, 100_000)

    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 411 and response.json()["error"]["field"] == "Content-Length"
    assert run.get_file_names() == []


# gunicorn's own sync workers on the WSGI application, and the workers ``studio server``
# runs: uvicorn on the ASGI application, whose bridge reads the first 256 KiB of a body
# before the view runs and the rest as the view asks for it (studio/core/wsgi_bridge.py).
SERVED = {
    "wsgi": ["studio.wsgi:application"],
    "asgi": ["studio.asgi:application", "-k", "studio.cli.asgi_worker.StudioWorker"],
}


@pytest.fixture(params=sorted(SERVED))
def gunicorn(request, subprocess_env, tmp_path):
    """The studio under gunicorn (as deployed), on this test's database."""
    env = {**subprocess_env, "STUDIO_MAX_UPLOAD_BYTES": str(3 * 1024 * 1024)}
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", *SERVED[request.param], "-b", "127.0.0.1:0"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"Listening at: (http://\S+)", log.read_text())):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield found.group(1)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gunicorn_streams_a_chunked_upload(gunicorn, api_user, sdk):
    run = sdk.Experiment(sdk.Workspace.from_config(), "uploads").start_logging()

    response = _upload(gunicorn, api_user.secret, run, 2 * 1024 * 1024 + 5)

    assert response.status_code == 201, response.text
    assert response.json()["size"] == 2 * 1024 * 1024 + 5
    out = io.BytesIO()
    run._store.download_file(run.id, "outputs/model.bin", out)
    assert out.getvalue() == b"z" * (2 * 1024 * 1024 + 5)
    # Read back from the same server: a file answer is streamed, chunk by chunk.
    back = httpx.get(
        gunicorn + _url(run.id, "outputs/model.bin"),
        headers={"Authorization": f"Bearer {api_user.secret}"},
    )
    assert back.status_code == 200 and back.content == out.getvalue()


def test_gunicorn_cuts_a_chunked_upload_over_the_limit_and_keeps_nothing(gunicorn, api_user, sdk):
    run = sdk.Experiment(sdk.Workspace.from_config(), "uploads").start_logging()

    response = _upload(gunicorn, api_user.secret, run, 4 * 1024 * 1024)

    assert response.status_code == 413
    assert run.get_file_names() == []
