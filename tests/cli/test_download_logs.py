"""``studio run download-logs``: every ``logs/`` file, and nothing outside the folder."""

from __future__ import annotations

import io
import json

import pytest

from studio.sdk.stores.local import LocalStore


@pytest.fixture
def logged_run(exp):
    run = exp.start_logging()
    run.upload_file("logs/stdout.txt", io.BytesIO(b"hello\n"))
    run.upload_file("logs/worker/0.txt", io.BytesIO(b"rank 0\n"))
    run.upload_file("outputs/model.pkl", io.BytesIO(b"not a log"))
    return run


def test_download_logs_writes_every_log_keeping_sub_paths(cli, logged_run, tmp_path):
    out = tmp_path / "dl"
    written = cli("run", "download-logs", "-r", logged_run.id, "-o", str(out)).json()
    assert sorted(written) == [str(out / "stdout.txt"), str(out / "worker" / "0.txt")]
    assert (out / "stdout.txt").read_bytes() == b"hello\n"
    assert (out / "worker" / "0.txt").read_bytes() == b"rank 0\n"
    assert sorted(p.name for p in out.rglob("*")) == ["0.txt", "stdout.txt", "worker"]


@pytest.mark.parametrize(
    "bad_name", ["logs/../../escape.txt", "logs/../escape.txt", "logs//escape.txt"]
)
def test_download_logs_skips_names_that_would_leave_the_folder(
    cli, logged_run, tmp_path, monkeypatch, bad_name
):
    """The store may be a server: its names are checked, not trusted."""
    real = LocalStore.file_names
    monkeypatch.setattr(
        LocalStore, "file_names", lambda self, run_id: [bad_name, *real(self, run_id)]
    )
    out = tmp_path / "deep" / "dl"

    result = cli("run", "download-logs", "-r", logged_run.id, "-o", str(out))

    assert result.code == 1
    assert result.err.startswith(f"studio: warning: skipped {bad_name!r}")
    assert result.err.count("\n") == 1
    assert sorted(json.loads(result.out)) == [
        str(out / "stdout.txt"),
        str(out / "worker" / "0.txt"),
    ]
    assert [p.name for p in tmp_path.rglob("escape.txt")] == []


def test_download_logs_does_not_follow_a_symlink_out_of_the_folder(cli, logged_run, tmp_path):
    out, outside = tmp_path / "dl", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "worker").symlink_to(outside)

    result = cli("run", "download-logs", "-r", logged_run.id, "-o", str(out))

    assert result.code == 1
    assert "skipped 'logs/worker/0.txt'" in result.err
    assert list(outside.iterdir()) == []
    assert json.loads(result.out) == [str(out / "stdout.txt")]


def test_download_logs_of_a_run_without_logs_prints_an_empty_list(cli, exp, tmp_path):
    run = exp.start_logging()
    assert cli("run", "download-logs", "-r", run.id, "-o", str(tmp_path / "dl")).json() == []
