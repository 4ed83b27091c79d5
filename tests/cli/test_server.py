"""``studio server`` in a real process: gunicorn with the asked workers, an access log on
stdout, static files precompressed (brotli, gzip), graceful reload on SIGHUP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import httpx
import psutil
import pytest

from tests.conftest import PYTHON, ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 90) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def _workers(pid: int) -> set[int]:
    return {p.pid for p in psutil.Process(pid).children()}


@pytest.fixture
def studio_server(tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDIO_HOME": str(tmp_path / "home")}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "STUDIO_TEST_SQLITE"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [PYTHON, "-m", "studio", "server", "--port", str(port), "--workers", "2"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        yield proc, f"http://127.0.0.1:{port}", tmp_path / "home"
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def test_server_runs_gunicorn_with_precompressed_static_files(studio_server):
    proc, url, home = studio_server
    assert _wait_for(f"{url}/accounts/login/", proc).status_code == 200
    assert len(_workers(proc.pid)) == 2  # the process is gunicorn's master
    # Its threads keep their database connections between requests.
    assert psutil.Process(proc.pid).environ()["STUDIO_CONN_MAX_AGE"] == "600"

    plotly = home / "staticfiles" / "vendor" / "plotly.min.js"
    br = httpx.get(f"{url}/static/vendor/plotly.min.js", headers={"Accept-Encoding": "br"})
    assert br.status_code == 200
    assert br.headers["Content-Encoding"] == "br"
    assert int(br.headers["Content-Length"]) < plotly.stat().st_size / 3
    assert br.content == plotly.read_bytes()  # httpx decodes brotli: the same file
    gz = httpx.get(f"{url}/static/studio/css/studio.css", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip"
    plain = httpx.get(f"{url}/static/studio/css/studio.css", headers={"Accept-Encoding": ""})
    assert "Content-Encoding" not in plain.headers
    assert plain.content == gz.content
    # The API (the threaded WSGI handler) and a live stream (the ASGI handler) answer
    # from the same workers: JSON 401 for no token, the login page for no session.
    api = httpx.get(f"{url}/api/v1/workspaces")
    assert api.status_code == 401 and api.json()["error"]["code"] == "not_authenticated"
    live = httpx.get(f"{url}/live/runs/")
    assert live.status_code == 302 and "/accounts/login/" in live.headers["Location"]

    before = _workers(proc.pid)
    os.kill(proc.pid, signal.SIGHUP)  # graceful reload: new workers, same master
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (_workers(proc.pid) & before or not _workers(proc.pid)):
        time.sleep(0.1)
    assert len(_workers(proc.pid) - before) == 2
    assert _wait_for(f"{url}/accounts/login/", proc).status_code == 200

    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert '"GET /accounts/login/ HTTP/1.1" 200' in out  # the access log, on stdout
    assert '"GET /static/vendor/plotly.min.js HTTP/1.1" 200' in out


def test_a_second_start_reuses_the_compressed_files(studio_server, tmp_path):
    proc, url, home = studio_server
    _wait_for(f"{url}/accounts/login/", proc)
    br = home / "staticfiles" / "vendor" / "plotly.min.js.br"
    # A rewrite keeps the mtime (WhiteNoise copies the source's) but moves the ctime.
    written = br.stat().st_ctime_ns
    proc.terminate()
    proc.wait(timeout=30)

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDIO_HOME": str(home)}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "STUDIO_TEST_SQLITE"):
        env.pop(name, None)
    again = subprocess.Popen(
        [PYTHON, "-m", "studio", "server", "--port", str(port), "--workers", "1"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/accounts/login/", again).status_code == 200
        assert br.stat().st_ctime_ns == written  # not compressed again
    finally:
        again.terminate()
        again.wait(timeout=30)


def test_dev_keeps_djangos_development_server(tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDIO_HOME": str(tmp_path / "home")}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "STUDIO_TEST_SQLITE"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [PYTHON, "-m", "studio", "server", "--dev", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # the auto-reloader's child stops with it
    )  # fmt: skip
    try:
        page = _wait_for(f"http://127.0.0.1:{port}/accounts/login/", proc)
        assert page.status_code == 200
        assert page.headers["Server"].startswith("WSGIServer")  # not gunicorn
        static = httpx.get(f"http://127.0.0.1:{port}/static/studio/css/studio.css")
        assert static.status_code == 200  # from the finders: nothing was collected
        assert not (tmp_path / "home" / "staticfiles" / "studio").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
