"""The SDK's behaviour, which every store must give the same way. Parametrised by
store: the REST store joins the list when the API lands."""

import io
import math
import subprocess
import textwrap

import pytest

from studio.errors import InvalidTransition, PropertyConflict, ValidationError
from tests.conftest import PYTHON


@pytest.fixture
def exp(ws, sdk):
    return sdk.Experiment(workspace=ws, name="contract")


def test_log_forms_series_and_get_metrics_returns_them(exp):
    run = exp.start_logging()
    for i in range(1000):
        run.log("loss", 1.0 / (i + 1))
    run.log("single", 3)
    metrics = run.get_metrics()
    assert len(metrics["loss"]) == 1000 and metrics["loss"][9] == 0.1
    assert metrics["single"] == 3.0
    assert run.get_metrics(name="single") == {"single": 3.0}


def test_special_floats_round_trip_through_the_sdk(exp):
    run = exp.start_logging()
    for value in (float("nan"), float("inf"), float("-inf")):
        run.log("x", value)
    values = run.get_metrics()["x"]
    assert math.isnan(values[0]) and values[1:] == [float("inf"), float("-inf")]


def test_metric_history_round_trips_steps_and_special_floats_exactly(exp):
    import numpy as np

    from studio.errors import NotFound

    run = exp.start_logging()
    logged = [(0, 0.5), (3, float("nan")), (2**53 + 1, float("inf")), (7, float("-inf"))]
    for step, value in logged:
        run.log("x", value, step=step)
    run.log("n", 4)
    run.log("n", 5)
    run.log("phase", "warm")
    run.log_row("row", a=1)
    history = run.get_metric_history("x")
    steps, values, times = history["steps"], history["values"], history["times"]
    assert steps.dtype == np.int64 and steps.tolist() == [s for s, _ in logged]
    want = np.array([v for _, v in logged])
    assert values.dtype == np.float64 and np.array_equal(values.view(np.int64), want.view(np.int64))
    assert times.dtype == np.float64 and len(times) == 4 and np.all(np.diff(times) >= 0)
    ints = run.get_metric_history("n")["values"]
    assert ints.dtype == np.int64 and ints.tolist() == [4, 5]
    assert run.get_metric_history("phase")["values"] == ["warm"]
    with pytest.raises(NotFound):
        run.get_metric_history("nope")
    with pytest.raises(ValidationError):
        run.get_metric_history("row")


@pytest.mark.parametrize("value", [[1.0], {"a": 1}, b"1"])
def test_log_refuses_non_numbers_at_the_call(exp, value):
    run = exp.start_logging()
    with pytest.raises(ValidationError) as err:
        run.log("x", value)
    assert err.value.field == "value"
    run.complete()
    assert run.get_metrics() == {}


def test_log_refuses_mixing_text_and_numbers_in_one_series(exp):
    run = exp.start_logging()
    run.log("x", 1.0)
    with pytest.raises(ValidationError):
        run.log("x", "one")


@pytest.mark.parametrize("name", ["", "x" * 256, "a\x00b", "\ud800"])
def test_bad_metric_names_fail_at_the_call(exp, name):
    run = exp.start_logging()
    with pytest.raises(ValidationError):
        run.log(name, 1.0)


def test_explicit_steps_are_kept(exp):
    run = exp.start_logging()
    for step in (0, 10, 20):
        run.log("loss", step / 10, step=step)
    run.flush()
    from studio.tracking import selectors

    steps, _, _ = selectors.metric_series(run=selectors.run_get(run_id=run.id), name="loss")
    assert steps.tolist() == [0, 10, 20]


def test_lists_rows_tables(exp):
    run = exp.start_logging()
    run.log_list("accuracies", [0.5, 0.7])
    run.log_row("epochs", epoch=1, loss=0.5)
    run.log_row("epochs", epoch=2, loss=0.25)
    run.log_table("confusion", {"a": [1, 2], "b": [3, 4]})
    assert run.get_metrics() == {
        "accuracies": [0.5, 0.7],
        "confusion": {"a": [1, 2], "b": [3, 4]},
        "epochs": {"epoch": [1, 2], "loss": [0.5, 0.25]},
    }


def test_log_image_stores_the_file_and_names_it(exp, tmp_path):
    png = tmp_path / "plot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 32)
    run = exp.start_logging()
    run.log_image("roc", path=png)
    name = run.get_metrics()["roc"]
    assert name.startswith("images/") and name in run.get_file_names()
    out = run.download_file(name, tmp_path / "back.png")
    assert open(out, "rb").read() == png.read_bytes()


def test_property_conflict_names_key_and_both_values(exp):
    run = exp.start_logging()
    run.add_properties({"author": "a"})
    with pytest.raises(PropertyConflict) as err:
        run.add_properties({"author": "b"})
    assert err.value.code == "property_conflict"
    assert "'author'" in str(err.value) and "'a'" in str(err.value) and "'b'" in str(err.value)
    assert run.get_properties() == {"author": "a"}


def test_a_property_batch_with_one_conflict_adds_nothing(exp):
    run = exp.start_logging()
    run.add_properties({"author": "a"})
    with pytest.raises(PropertyConflict):
        run.add_properties({"dataset": "mnist", "author": "b"})
    assert run.get_properties() == {"author": "a"}


def test_tags_set_remove_and_key_only(exp):
    run = exp.start_logging()
    run.set_tags({"a": "1", "b": None})
    run.set_tags(["c"])
    run.remove_tags(["a"])
    assert run.get_tags() == {"b": None, "c": None}


def test_display_name_and_description_are_settable(exp, sdk):
    run = exp.start_logging()
    assert run.display_name == run.id
    run.display_name = "baseline"
    run.description = "# Notes\nlr **0.1**"
    again = sdk.Run(exp, run.id)
    assert (again.display_name, again.description) == ("baseline", "# Notes\nlr **0.1**")


def test_run_numbers_count_up_within_an_experiment(exp):
    numbers = [exp.start_logging().number for _ in range(3)]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


def test_run_ids_follow_the_spec_format(exp):
    import re

    assert re.fullmatch(r"contract_\d{10}_[0-9a-f]{8}", exp.start_logging().id)


def test_get_runs_filters_by_type_and_status_and_skips_children(exp):
    done = exp.start_logging()
    done.child_run()
    done.complete()
    running = exp.start_logging()
    assert [r.id for r in exp.get_runs(status="Completed")] == [done.id]
    assert [r.id for r in exp.get_runs()] == [running.id, done.id]
    assert len(list(exp.get_runs(include_children=True))) == 3
    assert len(list(exp.get_runs(type="interactive"))) == 2
    with pytest.raises(ValidationError):
        list(exp.get_runs(status="Done"))


def test_complete_twice_is_refused_with_the_current_state(exp):
    run = exp.start_logging()
    run.complete()
    with pytest.raises(InvalidTransition) as err:
        run.complete()
    assert "Completed" in str(err.value)


def test_cancelling_a_finished_run_changes_nothing_and_says_so(exp):
    run = exp.start_logging()
    run.complete()
    with pytest.raises(InvalidTransition) as err:
        run.cancel()
    assert "already Completed" in str(err.value)
    assert run.get_status() == "Completed"


def test_files_upload_list_download(exp, tmp_path):
    run = exp.start_logging()
    source = tmp_path / "model.txt"
    source.write_text("weights")
    run.upload_file("outputs/model.txt", str(source))
    run.upload_file("outputs/nested/stream.bin", io.BytesIO(b"\x00\x01"))
    assert run.get_file_names() == ["outputs/model.txt", "outputs/nested/stream.bin"]
    target = run.download_file("outputs/model.txt", tmp_path / "copy.txt")
    assert open(target).read() == "weights"


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "outputs/../../x",
        "C:\\Windows\\win.ini",
        "a\x00.txt",
        ".",
        "",
        "outputs//x",
        "con.txt",
    ],
)
def test_unsafe_file_names_are_refused_and_nothing_is_stored(exp, name):
    run = exp.start_logging()
    with pytest.raises(ValidationError):
        run.upload_file(name, io.BytesIO(b"x"))
    assert run.get_file_names() == []


def test_uploading_the_same_name_twice_is_refused(exp):
    run = exp.start_logging()
    run.upload_file("outputs/a.txt", io.BytesIO(b"1"))
    with pytest.raises(ValidationError) as err:
        run.upload_file("outputs/a.txt", io.BytesIO(b"2"))
    assert err.value.code == "file_exists"


def test_bad_experiment_names_are_refused(ws, sdk):
    for name in ("has space", "", "x" * 256, "dots.not.allowed"):
        with pytest.raises(ValidationError):
            sdk.Experiment(workspace=ws, name=name)


def test_workspace_config_is_found_upward_from_the_cwd(sdk, tmp_path, monkeypatch):
    (tmp_path / ".studio").mkdir()
    (tmp_path / ".studio" / "config.json").write_text('{"workspace_name": "team-a"}')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert sdk.Workspace.from_config().name == "team-a"


def test_points_logged_without_flush_are_stored_at_interpreter_exit(subprocess_env, tmp_path):
    script = textwrap.dedent(
        """
        from studio.sdk import Workspace, Experiment
        run = Experiment(Workspace.from_config(), "exit-flush").start_logging()
        for i in range(25_000):
            run.log("loss", float(i))
        print(run.id)
        """
    )
    out = subprocess.run(
        [PYTHON, "-c", script],
        env=subprocess_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    from studio.tracking import selectors

    run = selectors.run_get(run_id=out.stdout.strip())
    _, values, _ = selectors.metric_series(run=run, name="loss")
    assert values.tolist() == [float(i) for i in range(25_000)]


def test_logging_from_many_threads_loses_nothing(exp):
    import threading

    run = exp.start_logging()

    def work(k):
        for i in range(5000):
            run.log(f"m{k}", float(i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    metrics = run.get_metrics()
    assert all(metrics[f"m{k}"] == [float(i) for i in range(5000)] for k in range(4))


@pytest.mark.parametrize("name", ["sys/cpu_percent", "sys/gpu0/util", "sys/"])
def test_metric_names_under_sys_are_reserved_and_fail_at_the_call(exp, name):
    run = exp.start_logging()
    with pytest.raises(ValidationError) as err:
        run.log(name, 1.0)
    assert "reserved" in str(err.value) and err.value.field == "metric name"
    with pytest.raises(ValidationError):
        run.log_list(name, [1.0])
    run.log("cpu_percent", 1.0)  # the suggested name is fine
    run.complete()
    assert run.get_metrics() == {"cpu_percent": 1.0}


def test_archived_runs_leave_get_runs_and_deleted_runs_leave_every_read(exp, ws):
    from studio.errors import Conflict, NotFound

    kept, archived, deleted = (exp.start_logging() for _ in range(3))
    with deleted.child_run() as child:
        child.log("loss", 1)
    for run in (kept, archived, deleted):
        run.complete()
    archived.archive()
    assert archived.archived
    assert {r.id for r in exp.get_runs()} == {kept.id, deleted.id}
    assert [r.id for r in exp.get_runs(filter="archived")] == [archived.id]

    deleted.delete()
    assert [r.id for r in exp.get_runs()] == [kept.id]
    with pytest.raises(NotFound):
        ws.get_run(child.id)
    restored = ws._store.restore_run(deleted.id)
    assert restored["deleted"] is None
    assert [r.id for r in deleted.get_children()] == [child.id]

    archived.unarchive()
    assert {r.id for r in exp.get_runs()} == {kept.id, archived.id, deleted.id}
    going = exp.start_logging()
    with pytest.raises(Conflict, match="is Running"):
        going.delete()
    assert going.get_status() == "Running"
