"""``studio folder attach`` and what it means for commands run below the folder."""

from __future__ import annotations

import json


def test_attach_writes_the_config_and_prints_it(cli, tmp_path):
    printed = cli("folder", "attach", "-w", "team-a", "-e", "exp1").json()
    expected = {"workspace_name": "team-a", "experiment_name": "exp1", "tracking_uri": "local"}
    assert printed == expected
    assert json.loads((tmp_path / ".studio" / "config.json").read_text()) == expected


def test_attach_writes_sample_run_configs_that_document_themselves(cli, tmp_path):
    cli("folder", "attach", "-w", "team-a")
    for name in ("local", "sklearn"):
        config = json.loads((tmp_path / ".studio" / f"{name}.runconfig").read_text())
        assert config["script"] == "train.py"
        assert isinstance(config["arguments"], list)
        assert config["compute_target"] == "local"
        assert any(f"-c {name}" in line for line in config["_about"])


def test_attaching_again_keeps_edited_run_configs(cli, tmp_path):
    cli("folder", "attach", "-w", "team-a")
    edited = tmp_path / ".studio" / "local.runconfig"
    edited.write_text('{"script": "mine.py"}')
    cli("folder", "attach", "-w", "team-b")
    assert edited.read_text() == '{"script": "mine.py"}'
    assert json.loads((tmp_path / ".studio" / "config.json").read_text())["workspace_name"] == (
        "team-b"
    )


def test_run_list_below_an_attached_folder_uses_its_workspace(cli, sdk, tmp_path, monkeypatch):
    cli("folder", "attach", "-w", "team-a", "-e", "exp1")
    theirs = sdk.Experiment(sdk.Workspace("team-a"), "exp1").start_logging()
    sdk.Experiment(sdk.Workspace("default"), "exp1").start_logging()
    below = tmp_path / "src" / "models"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)

    rows = cli("run", "list").json()

    assert [(r["id"], r["workspace"]) for r in rows] == [(theirs.id, "team-a")]
    assert sdk.Workspace.from_config().experiment_name == "exp1"


def test_workspace_name_option_overrides_the_attached_one(cli, sdk):
    cli("folder", "attach", "-w", "team-a")
    other = sdk.Experiment(sdk.Workspace("default"), "exp1").start_logging()
    assert [r["id"] for r in cli("run", "list", "-w", "default").json()] == [other.id]


def test_attach_refuses_a_bad_workspace_name_and_writes_nothing(cli, tmp_path):
    result = cli("folder", "attach", "-w", "../etc")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "Workspace name '../etc' is invalid" in result.err
    assert not (tmp_path / ".studio").exists()


def test_attach_refuses_an_unknown_tracking_uri_and_writes_nothing(cli, tmp_path):
    result = cli("folder", "attach", "-w", "team-a", "--tracking-uri", "ftp://x")
    assert result.code == 1
    assert "Unknown tracking URI" in result.err
    assert not (tmp_path / ".studio").exists()
