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

# Shared by the controller and its xdist workers (they inherit the environment).
os.environ.setdefault("STUDIO_TEST_FIGURES", os.path.join(_home, "figures.txt"))
