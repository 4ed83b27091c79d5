"""``studio workspace ...`` through the SDK, on the local store and over HTTP."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["local", "rest"])
def studio(request, cli, monkeypatch):
    """``cli`` on each store: over HTTP as alice (owner of "default"), through the
    environment, as a user on a fresh machine would."""
    if request.param == "rest":
        live_server = request.getfixturevalue("live_server")
        monkeypatch.setenv("STUDIO_TOKEN", request.getfixturevalue("api_user").secret)
        monkeypatch.setenv("STUDIO_TRACKING_URI", live_server.url)
    return cli


def test_create_list_show_rename_archive_delete(studio):
    assert studio("workspace", "create", "team-a").json()["role"] == "owner"
    assert "team-a" in [w["name"] for w in studio("workspace", "list").json()]
    assert studio("workspace", "show", "team-a").json()["archived"] is False
    assert studio("workspace", "rename", "team-a", "team-b").json()["name"] == "team-b"
    assert studio("workspace", "archive", "team-b").json()["archived"] is True
    assert "team-b" not in [w["name"] for w in studio("workspace", "list").json()]
    listed = studio("workspace", "list", "--all", "-o", "table").out
    assert "team-b" in listed and "yes" in listed
    assert studio("workspace", "archive", "team-b", "--undo").json()["archived"] is False
    refused = studio("workspace", "delete", "team-b")
    assert refused.code == 1 and "--confirm team-b" in refused.err
    wrong = studio("workspace", "delete", "team-b", "--confirm", "team-a")
    assert wrong.code == 1 and "[invalid]" in wrong.err
    assert studio("workspace", "delete", "team-b", "--confirm", "team-b").json()["deleted"]
    assert "team-b" not in [w["name"] for w in studio("workspace", "list", "--all").json()]


@pytest.mark.parametrize("name", ["", "x" * 256, "../x", "a\x00b", "   ", "Default"], ids=repr)
def test_bad_names_fail_in_one_line_and_create_nothing(studio, name):
    studio("workspace", "create", "default")  # the local store: make "default" exist
    before = studio("workspace", "list", "--all").json()
    result = studio("workspace", "create", name)
    assert result.code == 1 and result.err.count("\n") == 1
    assert "[invalid]" in result.err or "[conflict]" in result.err
    assert studio("workspace", "list", "--all").json() == before
