"""The v1 run and experiment surface (issue 10 item 6) on both stores: names, details,
portal URLs, lookups, and a run's files with v1's methods."""

from __future__ import annotations

import io
import zipfile

import pytest

from studio.errors import ValidationError


@pytest.fixture
def exp(ws, sdk):
    return sdk.Experiment(workspace=ws, name="surface")


@pytest.fixture
def queued(exp, sdk, tmp_path):
    """A script run submitted to a named target nobody serves: it stays Queued, with
    its snapshot uploaded."""
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "train.py").write_text("print('hi')\n")
    (src / "pkg" / "util.py").write_text("X = 1\n")
    config = sdk.ScriptRunConfig(
        source_directory=src, script="train.py", arguments=["--lr", 0.5], compute_target="gpu"
    )
    return exp.submit(config)


def _base(ws) -> str:
    return ws.tracking_uri.rstrip("/") if ws.tracking_uri != "local" else "http://127.0.0.1:8000"


def test_run_name_is_the_display_name_and_can_be_set(exp, sdk):
    run = exp.start_logging()
    assert run.name == run.id
    run.name = "baseline"
    assert run.display_name == "baseline"
    assert sdk.Run.get(exp.workspace, run.id).name == "baseline"


def test_get_details_has_the_run_definition(queued):
    details = queued.get_details()
    assert details["runDefinition"] == {
        "script": "train.py",
        "arguments": ["--lr", "0.5"],
        "target": "gpu",
        "environment": None,
    }
    assert details["logFiles"] == {}
    assert details["status"] == "Queued"


def test_portal_urls_point_at_the_studio(exp, ws):
    run = exp.start_logging()
    assert run.get_portal_url() == f"{_base(ws)}/runs/{run.id}/"
    assert exp.get_portal_url() == f"{_base(ws)}/experiments/surface/?ws=default"


def test_the_local_store_uses_the_configured_studio_url(sdk, monkeypatch):
    monkeypatch.setenv("STUDIO_URL", "https://studio.example.org/")
    ws = sdk.Workspace.from_config()
    run = sdk.Experiment(ws, "surface").start_logging()
    assert run.get_portal_url() == f"https://studio.example.org/runs/{run.id}/"


def test_run_get_list_and_experiment_list(exp, ws, sdk):
    first = exp.start_logging()
    second = exp.start_logging()
    second.complete()
    assert sdk.Run.get(ws, first.id) == first
    assert [r.id for r in sdk.Run.list(exp)] == [second.id, first.id]
    assert [r.id for r in sdk.Run.list(exp, status="Completed")] == [second.id]
    sdk.Experiment(ws, "other")
    assert sorted(e.name for e in sdk.Experiment.list(ws)) == ["other", "surface"]
    assert [e.name for e in sdk.Experiment.list(ws, experiment_name="other")] == ["other"]


def test_experiment_id_is_stable_and_differs_per_name(exp, ws, sdk):
    assert exp.id == sdk.Experiment(ws, "surface").id
    assert exp.id != sdk.Experiment(ws, "other").id
    listed = {e.name: e.id for e in sdk.Experiment.list(ws)}
    assert listed == {"surface": exp.id, "other": sdk.Experiment(ws, "other").id}


def test_upload_files_and_folder_then_download_by_prefix(exp, tmp_path):
    run = exp.start_logging()
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("A")
    b.write_text("B")
    run.upload_files(["outputs/a.txt", "outputs/b.txt"], [str(a), str(b)])
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "w.bin").write_bytes(b"\x00\x01")
    (folder / "sub" / "cfg.json").write_text("{}")
    run.upload_folder("model", str(folder))
    assert sorted(run.get_file_names()) == [
        "model/sub/cfg.json",
        "model/w.bin",
        "outputs/a.txt",
        "outputs/b.txt",
    ]
    written = run.download_files(prefix="model/", output_directory=tmp_path / "dl")
    assert sorted(written) == sorted(
        [str(tmp_path / "dl/model/w.bin"), str(tmp_path / "dl/model/sub/cfg.json")]
    )
    assert (tmp_path / "dl/model/w.bin").read_bytes() == b"\x00\x01"
    run.download_files(prefix="model/", output_directory=tmp_path / "cut", append_prefix=False)
    assert (tmp_path / "cut/sub/cfg.json").read_text() == "{}"


def test_upload_files_checks_every_path_before_uploading(exp, tmp_path):
    run = exp.start_logging()
    there = tmp_path / "a.txt"
    there.write_text("A")
    with pytest.raises(ValidationError):
        run.upload_files(["a.txt", "b.txt"], [str(there), str(tmp_path / "missing.txt")])
    assert run.get_file_names() == []


def test_restore_snapshot_zips_the_submitted_folder(queued, tmp_path):
    path = queued.restore_snapshot(path=tmp_path / "restored")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["pkg/util.py", "train.py"]
        assert archive.read("train.py") == b"print('hi')\n"
    named = queued.restore_snapshot(path=tmp_path / "snap.zip")
    assert named == str(tmp_path / "snap.zip")


def test_restore_snapshot_of_a_run_without_one_says_so(exp):
    with pytest.raises(ValidationError, match="no snapshot"):
        exp.start_logging().restore_snapshot()


def test_logs_with_their_content_and_downloaded(exp, tmp_path):
    run = exp.start_logging()
    run.upload_file("logs/train.log", io.BytesIO(b"epoch 1\nepoch 2\n"))
    run.upload_file("outputs/x.txt", io.BytesIO(b"x"))
    assert run.get_details()["logFiles"] == {"logs/train.log": "logs/train.log"}
    assert run.get_details_with_logs()["logFiles"] == {"logs/train.log": "epoch 1\nepoch 2\n"}
    written = run.get_all_logs(destination=tmp_path / "logs-here")
    assert written == [str(tmp_path / "logs-here/logs/train.log")]
    assert (tmp_path / "logs-here/logs/train.log").read_text() == "epoch 1\nepoch 2\n"


def test_get_all_logs_refuses_a_destination_that_is_a_file(exp, tmp_path):
    run = exp.start_logging()
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(ValidationError):
        run.get_all_logs(destination=target)


def test_get_context_outside_a_job_without_offline_raises(sdk, monkeypatch):
    monkeypatch.delenv("STUDIO_RUN_ID", raising=False)
    with pytest.raises(sdk.RunEnvironmentException):
        sdk.Run.get_context(allow_offline=False)
    assert sdk.Run.get_context().id.startswith("OfflineRun_")
