"""The v1 workspace surface (issue 10 item 1): Azure coordinates from the config or
the environment, get_details() with v1's keys, experiments, compute targets as a
mapping, Workspace.get and from_config with a file or a folder."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from studio.errors import ValidationError


def test_azure_coordinates_have_defaults_and_follow_the_environment(sdk, monkeypatch):
    ws = sdk.Workspace.from_config()
    assert (ws.name, ws.subscription_id, ws.resource_group, ws.location) == (
        "default",
        "local",
        "studio",
        "local",
    )
    monkeypatch.setenv("STUDIO_RESOURCE_GROUP", "ml-team")
    monkeypatch.setenv("STUDIO_LOCATION", "eu-west")
    ws = sdk.Workspace.from_config()
    assert (ws.resource_group, ws.location) == ("ml-team", "eu-west")


def _write_v1_config(folder, **extra):
    (folder / ".azureml").mkdir(parents=True)
    config = {"subscription_id": "sub-1", "resource_group": "rg-1", "workspace_name": "team"}
    (folder / ".azureml" / "config.json").write_text(json.dumps({**config, **extra}))
    return folder / ".azureml" / "config.json"


def test_from_config_reads_a_v1_config_file_or_its_folder(sdk, tmp_path):
    path = _write_v1_config(tmp_path / "proj", location="westeurope")
    for given in (path, tmp_path / "proj", str(path)):
        ws = sdk.Workspace.from_config(path=given)
        assert (ws.name, ws.subscription_id, ws.resource_group, ws.location) == (
            "team",
            "sub-1",
            "rg-1",
            "westeurope",
        )


def test_from_config_of_a_folder_without_a_config_says_where_it_looked(sdk, tmp_path):
    with pytest.raises(ValidationError, match=".azureml/config.json"):
        sdk.Workspace.from_config(path=tmp_path)


def test_v1_positional_constructor_and_get(sdk):
    ws = sdk.Workspace("sub-2", "rg-2", "positional")
    assert (ws.name, ws.subscription_id, ws.resource_group) == ("positional", "sub-2", "rg-2")
    assert ws.tracking_uri == "local"
    got = sdk.Workspace.get("named", subscription_id="sub-3")
    assert (got.name, got.subscription_id) == ("named", "sub-3")


def test_get_details_has_v1_keys(ws):
    details = ws.get_details()
    assert details["name"] == "default"
    assert details["id"] == (
        "/subscriptions/local/resourceGroups/studio/providers/"
        "Microsoft.MachineLearningServices/workspaces/default"
    )
    assert {"location", "type", "workspaceid", "friendlyName", "tags", "sku"} <= set(details)
    assert details["workspaceid"] == ws.get_details()["workspaceid"]


def test_experiments_by_name(ws, sdk):
    sdk.Experiment(ws, "a").start_logging()
    sdk.Experiment(ws, "b")
    assert sorted(ws.experiments) == ["a", "b"]
    assert ws.experiments["a"].name == "a"


def test_compute_targets_is_a_mapping(ws):
    targets = ws.compute_targets
    assert isinstance(targets, Mapping)
    assert "gpu-cluster" not in targets and len(targets) == 0
    assert targets["gpu-cluster"].name == "gpu-cluster"  # made on first use
    targets["cpu"]
    assert "gpu-cluster" in ws.compute_targets
    assert list(ws.compute_targets) == ["cpu", "gpu-cluster"]
    assert [(name, t.name) for name, t in ws.compute_targets.items()] == [
        ("cpu", "cpu"),
        ("gpu-cluster", "gpu-cluster"),
    ]


def test_write_config_round_trips(ws, sdk, tmp_path):
    path = ws.write_config(path=tmp_path)
    config = json.loads(open(path).read())
    assert config["workspace_name"] == "default"
    assert config["tracking_uri"] == ws.tracking_uri
