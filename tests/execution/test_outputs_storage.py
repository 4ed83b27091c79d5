"""A run's outputs and the files storage it runs against: the supervisor's path."""

from __future__ import annotations

import pytest

from tests.jobs import wait_terminal, wait_until

# Writes an output, says so, and ends (exit 0) once told to.
WRITES_THEN_WAITS = """
    import pathlib, sys, time
    pathlib.Path("outputs").mkdir(exist_ok=True)
    pathlib.Path("outputs/model.bin").write_bytes(b"weights")
    print("output written", flush=True)
    pathlib.Path(sys.argv[1]).write_text("written")
    while not pathlib.Path(sys.argv[2]).exists():
        time.sleep(0.05)
"""


@pytest.fixture
def own_bucket(settings, monkeypatch):
    """A local S3 server of this test's own, which the studio and the supervisors it
    starts store run files in; the test stops it to make the bucket unreachable."""
    from studio.settings import _s3_files_storage
    from tests.s3server import S3Server

    server = S3Server().start()
    monkeypatch.setenv("STUDIO_S3_ENDPOINT_URL", server.url)
    monkeypatch.setenv("STUDIO_S3_ATTEMPTS", "2")
    settings.STORAGES = {**settings.STORAGES, "studio_files": _s3_files_storage()}
    yield server
    server.stop()


@pytest.mark.s3
@pytest.mark.slow
def test_outputs_the_bucket_cannot_take_fail_the_run_with_the_reason(
    submit, source, own_bucket, tmp_path
):
    written, go = tmp_path / "written", tmp_path / "go"
    script = source.write("train.py", WRITES_THEN_WAITS)
    run = submit(script, written, go)
    wait_until(written.exists)
    own_bucket.stop()  # the script has run; its outputs are about to be collected
    go.write_text("go")

    assert wait_terminal(run) == "Failed"
    error = run.get_details()["error"]
    assert error["code"] == "outputs_failed"
    assert error["message"].startswith("The outputs could not be stored:")
    assert "file storage could not be reached" in error["message"]
    assert "outputs/model.bin" not in run.get_file_names()


def test_outputs_are_stored_and_the_log_shipped_in_the_storage_in_use(submit, source, tmp_path):
    """The same script with the storage reachable: Completed, its output and its log
    readable (the local disk in one pass, the session's S3 server in the other)."""
    written, go = tmp_path / "written", tmp_path / "go"
    go.write_text("go")
    script = source.write("train.py", WRITES_THEN_WAITS)
    run = submit(script, written, go)

    assert wait_terminal(run) == "Completed"
    out = tmp_path / "model.bin"
    run.download_file("outputs/model.bin", out)
    assert out.read_bytes() == b"weights"
    data, _ = run._store.read_file(run.id, "logs/std_log.txt")
    assert b"output written\n" in data
