"""Shared fixtures: the personas, a workspace, the SDK bound to the test database, and
an environment for subprocesses that must reach the same database.

The personas, one set for every test (``persona.api`` is a client calling the JSON API
with the persona's token, made on first use):

    owner     alice    owner of "default"
    member    bob      contributor in "default"
    reader    dave     reader in "default"
    outsider  charlie  owner of "other-team", not a member of "default"

Each signs in with the password ``pw-<username>``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from django.db import connection

from studio.accounts.models import Role
from tests.factories import (
    ApiClient,
    ExperimentFactory,
    MembershipFactory,
    RunFactory,
    WorkspaceFactory,
)

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    from django.conf import settings

    # Tests only: the default hasher (PBKDF2, 1.5M iterations) makes every persona
    # cost a noticeable fraction of a second; production keeps it. The default ones
    # stay behind MD5 to check passwords a subprocess (``manage.py demo``) hashed.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]
    # The throttle's counts (studio/accounts/throttle.py) per test process, emptied
    # before each test: every test client comes from the same address.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(scope="session", autouse=True)
def s3_server():
    """With STUDIO_TEST_STORAGE=s3 (tests/envsetup.py), the local S3 server that every
    run file of the session goes to; None on the local disk."""
    if os.environ.get("STUDIO_STORAGE") != "s3":
        yield None
        return
    from tests.s3server import from_environment

    server = from_environment().start()
    yield server
    server.stop()


def on_local_disk() -> bool:
    return os.environ.get("STUDIO_STORAGE", "local") != "s3"


def pytest_runtest_setup(item):
    if item.get_closest_marker("local_disk") and not on_local_disk():
        pytest.skip("about run files on the local disk; this pass stores them in S3")
    if item.get_closest_marker("s3") and on_local_disk():
        pytest.skip("needs run files in S3: STUDIO_TEST_STORAGE=s3 (.ci/run, make test-s3)")


@pytest.fixture(autouse=True)
def _empty_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="default")


@pytest.fixture
def other_workspace(db):
    return WorkspaceFactory(name="other-team")


def _persona(username: str, workspace, role: str):
    user = MembershipFactory(user__username=username, workspace=workspace, role=role).user
    user.api = ApiClient(user)
    return user


@pytest.fixture
def owner(workspace):
    return _persona("alice", workspace, Role.OWNER)


@pytest.fixture
def member(workspace):
    return _persona("bob", workspace, Role.CONTRIBUTOR)


@pytest.fixture
def reader(workspace):
    return _persona("dave", workspace, Role.READER)


@pytest.fixture
def outsider(other_workspace):
    return _persona("charlie", other_workspace, Role.OWNER)


@pytest.fixture
def experiment(workspace):
    return ExperimentFactory(workspace=workspace, name="explore-runs")


@pytest.fixture
def run(experiment):
    return RunFactory(experiment=experiment, submitted_by="alice")


@pytest.fixture
def sdk(transactional_db, tmp_path, monkeypatch):
    """``studio.sdk`` on the local store, in a folder with no workspace config.

    Needs committed data (the SDK flushes from a background thread with its own
    connection), hence ``transactional_db``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STUDIO_TRACKING_URI", raising=False)
    monkeypatch.delenv("STUDIO_WORKSPACE", raising=False)
    import studio.sdk
    from studio.sdk.buffer import _flusher

    yield studio.sdk
    # Send what a test left buffered while its database still exists, and stop
    # heartbeating its runs (its test server is gone).
    _flusher.flush_all()
    _flusher.alive.clear()


def database_url() -> str:
    """A DATABASE_URL naming the database this test session uses."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{s['NAME']}"


@pytest.fixture
def subprocess_env(transactional_db, tmp_path):
    """Environment for a child process that must use this test's database."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env["STUDIO_HOME"] = os.environ["STUDIO_HOME"]
    env["PYTHONPATH"] = str(ROOT)
    env.pop("STUDIO_TRACKING_URI", None)
    return env


PYTHON = sys.executable


@pytest.fixture
def api_user(transactional_db):
    """alice, owner of "default", with an API token (its secret in ``.secret``)."""
    from studio.accounts.services import token_create

    workspace = WorkspaceFactory(name="default")
    user = MembershipFactory(user__username="alice", workspace=workspace, role=Role.OWNER).user
    _, user.secret = token_create(user=user, name="tests")
    return user


@pytest.fixture
def submitter(transactional_db):
    """The account of the user the local store submits as (STUDIO_USER): a job run by
    a worker reports through the API as its submitter, a contributor of "default"."""
    workspace = WorkspaceFactory(name="default")
    return MembershipFactory(
        user__username=os.environ["STUDIO_USER"], workspace=workspace, role=Role.CONTRIBUTOR
    ).user


@pytest.fixture
def rest_workspace(sdk, live_server, api_user, monkeypatch):
    """``Workspace`` of the SDK's REST store, talking to a live test server."""
    monkeypatch.setenv("STUDIO_TOKEN", api_user.secret)
    return sdk.Workspace(name="default", tracking_uri=live_server.url)


@pytest.fixture
def jobs(sdk, monkeypatch):
    """For tests that submit runs. Supervisors are spawned with this process's
    environment, so DATABASE_URL points them (and their jobs) at the test database;
    whatever a test leaves running is killed before the database is flushed."""
    monkeypatch.setenv("DATABASE_URL", database_url())
    yield sdk
    from tests.jobs import kill_leftovers

    kill_leftovers()


def pytest_terminal_summary(terminalreporter):
    from tests.figures import collected

    lines = collected()
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)
