"""Loaded with ``-p tests.envsetup`` before pytest-django reads the settings: each
test session (each xdist worker) gets its own STUDIO_HOME, and SQLite tests use a
file database that subprocesses started by tests can open too."""

import os
import tempfile

_home = tempfile.mkdtemp(prefix="studio-test-")
os.environ["STUDIO_HOME"] = _home
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Each xdist worker has its own home (above) and its own database file.
    os.environ["STUDIO_TEST_SQLITE"] = os.path.join(_home, "test.sqlite3")
else:
    os.environ.setdefault("STUDIO_TEST_SQLITE", os.path.join(_home, "test.sqlite3"))
os.environ.setdefault("STUDIO_USER", "tester")
# Live event streams end (and browsers reconnect, resuming) every 2 s: a test that
# reads a whole stream waits no longer than that.
os.environ.setdefault("STUDIO_LIVE_LIFETIME_SECONDS", "2")

# Shared by the controller and its xdist workers (they inherit the environment).
os.environ.setdefault("STUDIO_TEST_FIGURES", os.path.join(_home, "figures.txt"))

# STUDIO_TEST_STORAGE=s3: run files go to a local S3 server (moto's, started by the
# session fixture in tests/conftest.py on this port; each process has its own), so
# the file tests run against object storage too. Subprocesses inherit these.
if os.environ.get("STUDIO_TEST_STORAGE") == "s3":
    import socket

    with socket.socket() as _s:
        _s.bind(("127.0.0.1", 0))
        _port = _s.getsockname()[1]
    os.environ.update(
        STUDIO_STORAGE="s3",
        STUDIO_S3_BUCKET="studio-test",
        STUDIO_S3_ENDPOINT_URL=f"http://127.0.0.1:{_port}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
