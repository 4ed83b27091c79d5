"""The offline run (issue 10 item 9), RunDetails, set_diagnostics_collection and the
azureml.exceptions names (item 11)."""

from __future__ import annotations

import pytest

import studio.errors as errors


@pytest.fixture
def offline(sdk, monkeypatch):
    monkeypatch.delenv("STUDIO_RUN_ID", raising=False)
    return sdk.Run.get_context()


def test_the_offline_run_prints_what_it_would_have_done(offline, capsys, tmp_path):
    assert offline.id.startswith("OfflineRun_") and len(offline.id) == len("OfflineRun_") + 36
    model = tmp_path / "model.pkl"
    model.write_bytes(b"m")
    offline.log("accuracy", 0.9)
    offline.log_row("final", epochs=3)
    offline.upload_file("outputs/model.pkl", str(model))
    offline.upload_folder("outputs", str(tmp_path))
    offline.set_tags({"team": "vision"})
    offline.tag("stage", "dev")
    out = capsys.readouterr().out
    assert "Attempted to log scalar metric accuracy:\n0.9\n" in out
    assert "Attempted to log row metric final:\n{'epochs': 3}\n" in out
    assert f"Attempted to track file outputs/model.pkl at {model}\n" in out
    assert f"Attempted to track folder outputs at {tmp_path}\n" in out
    assert "Attempted to set tags {'team': 'vision'}\n" in out
    assert offline.get_tags() == {"team": "vision", "stage": "dev"}


def test_the_offline_run_has_children_status_and_a_with_block(offline, capsys):
    with offline.child_run(name="fold-1") as child:
        child.log("loss", 0.1)
    assert child.id == f"{offline.id}.fold-1" and child.parent is offline
    out = capsys.readouterr().out
    assert f"[START] Run {child.id} context" in out and f"[STOP] Run {child.id} context" in out
    offline.fail(error_details="diverged", error_code="nan")
    assert "Run failed with error code nan:\ndiverged" in capsys.readouterr().out
    assert offline.get_status() == "Failed"
    other = offline.child_run()
    other.cancel()
    assert other.get_status() == "Canceled"
    other.complete()  # no error: v1's offline run accepts every call


def test_the_offline_run_refuses_a_file_that_does_not_exist(offline, tmp_path):
    with pytest.raises(errors.ValidationError):
        offline.upload_file("x", str(tmp_path / "missing"))


def test_run_details_in_a_terminal_prints_the_url(ws, sdk, capsys):
    run = sdk.Experiment(ws, "widgets").start_logging()
    assert sdk.RunDetails(run).show() is None
    assert capsys.readouterr().out == f"Run {run.id}: {run.get_portal_url()}\n"


def test_run_details_block_refreshes_until_the_run_ends(ws, sdk):
    from studio.sdk.widgets import RunDetails, render_html

    run = sdk.Experiment(ws, "widgets").start_logging()
    run.log("loss", 0.5)
    run.tag("x", "<b>")
    first = render_html(run)
    assert "Running" in first and run.get_portal_url() in first and "0.5" in first
    shown: list[str] = []
    details = RunDetails(run)
    details._follow(shown.append, every=0.01)
    run.log("loss", 0.25)
    run.complete()
    details._thread.join(timeout=10)
    assert not details._thread.is_alive()  # stopped by itself once the run ended
    assert "Completed" in shown[-1] and "0.25" in shown[-1]


def test_run_details_escapes_what_it_shows(ws, sdk):
    from studio.sdk.widgets import render_html

    run = sdk.Experiment(ws, "widgets").start_logging()
    run.log("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
    shown = render_html(run)
    assert "<script>" not in shown and "<img" not in shown
    assert "&lt;script&gt;" in shown


def test_set_diagnostics_collection_is_accepted(sdk):
    assert sdk.set_diagnostics_collection(send_diagnostics=True) is None


@pytest.mark.parametrize("name", errors.V1_EXCEPTIONS)
def test_every_v1_exception_name_is_a_studio_error(sdk, name):
    cls = getattr(sdk, name)
    assert issubclass(cls, errors.StudioError)


def test_v1_exceptions_catch_what_v1_caught(ws, sdk, tmp_path):
    with pytest.raises(sdk.UserErrorException):
        sdk.Experiment(ws, "exc").start_logging().upload_file("x", str(tmp_path / "missing"))
    with pytest.raises(sdk.AzureMLException):
        sdk.Run.get(ws, "no-such-run")
    assert sdk.ActivityFailedException is errors.RunFailed
