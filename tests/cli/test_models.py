"""``studio model list/show/download`` through the SDK's local store."""

from __future__ import annotations

import io

import pytest


@pytest.fixture
def models(exp):
    run = exp.start_logging()
    run.upload_file("outputs/model.pkl", io.BytesIO(b"weights"))
    run.register_model("mnist", "outputs/model.pkl", tags={"area": "digits"})
    run.register_model("mnist", "outputs/model.pkl", description="second")
    run.register_model("iris", "outputs/model.pkl")
    return run


def test_model_list_prints_versions_newest_first_and_filters(cli, models):
    assert [m["id"] for m in cli("model", "list").json()] == ["iris:1", "mnist:2", "mnist:1"]
    assert [m["id"] for m in cli("model", "list", "--latest").json()] == ["iris:1", "mnist:2"]
    assert [m["id"] for m in cli("model", "list", "--tag", "area=digits").json()] == ["mnist:1"]
    assert [m["id"] for m in cli("model", "list", "-n", "iris").json()] == ["iris:1"]
    table = cli("model", "list", "-o", "table").out
    assert "mnist" in table and models.id in table


def test_model_show_gives_the_latest_or_the_asked_version(cli, models):
    assert cli("model", "show", "mnist").json()["description"] == "second"
    assert cli("model", "show", "mnist", "-v", "1").json()["tags"] == {"area": "digits"}


def test_model_show_of_a_missing_model_fails_in_one_line(cli, models):
    result = cli("model", "show", "nope")
    assert result.code == 1
    assert (
        result.err.startswith("studio: error: ModelNotFound") and "[model_not_found]" in result.err
    )
    assert result.err.count("\n") == 1


def test_model_download_writes_the_files_and_refuses_to_overwrite(cli, models, tmp_path):
    out = tmp_path / "dl"
    assert cli("model", "download", "mnist", "-d", str(out)).json() == {
        "id": "mnist:2",
        "path": str(out / "model.pkl"),
    }
    assert (out / "model.pkl").read_bytes() == b"weights"
    again = cli("model", "download", "mnist", "-d", str(out))
    assert again.code == 1 and "exist_ok" in again.err
    assert cli("model", "download", "mnist", "-d", str(out), "--exist-ok").code == 0
