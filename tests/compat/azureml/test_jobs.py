"""Unmodified azureml-core scripts run as Studio jobs log into Studio: read back
through studio.sdk, values compared (NaN included)."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.slow

LOGGING = """
    from azureml.core import Run

    run = Run.get_context()
    run.log("loss", 0.5)
    run.log("loss", float("nan"))
    run.log("loss", 0.25)
    run.log("epochs", 3)
    run.log("message", "hello from azureml-core")
    run.log_list("accuracies", [0.5, 0.75, 1.0])
    run.log_row("per class", cls="cat", precision=0.9)
    run.log_row("per class", cls="dog", precision=0.8)
    run.log_table("confusion", {"actual": [0, 1], "predicted": [0, 0]})
    run.tag("quality", "great run")
    run.add_properties({"author": "azureml-user"})
    run.display_name = "from azureml-core"
    run.description = "logged by **azureml-core**"
    run.complete()
"""


def test_a_v1_script_logs_every_metric_kind_tags_and_properties(az_submit):
    run = az_submit(LOGGING)
    assert run.get_status() == "Completed", run.get_details()
    metrics = run.get_metrics()
    loss = metrics["loss"]
    assert loss[0] == 0.5 and math.isnan(loss[1]) and loss[2] == 0.25
    assert metrics["epochs"] == 3
    assert metrics["message"] == "hello from azureml-core"
    assert metrics["accuracies"] == [0.5, 0.75, 1.0]
    assert metrics["per class"] == {"cls": ["cat", "dog"], "precision": [0.9, 0.8]}
    assert metrics["confusion"] == {"actual": [0, 1], "predicted": [0, 0]}
    assert run.get_tags()["quality"] == "great run"
    assert run.get_properties()["author"] == "azureml-user"
    assert run.display_name == "from azureml-core"
    assert run.description == "logged by **azureml-core**"


def test_the_run_page_says_the_run_was_logged_with_azureml_core(az_submit, client, owner):
    run = az_submit(LOGGING)
    from studio.tracking.models import Run

    assert Run.objects.get(run_id=run.id).logged_with.startswith("azureml-core 1.61")


FILES = """
    import hashlib
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from azureml.core import Run

    run = Run.get_context()
    with open("small.txt", "w") as f:
        f.write("hello from azureml-core")
    run.upload_file("outputs/small.txt", "small.txt")
    size = int(SIZE)
    digest = hashlib.sha256()
    with open("big.bin", "wb") as f:
        block = bytes(range(256)) * 4096  # 1 MiB
        for i in range(size // len(block)):
            chunk = block[i % 256 :] + block[: i % 256]
            digest.update(chunk)
            f.write(chunk)
    run.upload_file("outputs/big.bin", "big.bin")
    run.tag("big_sha256", digest.hexdigest())
    plt.plot([1, 2, 3], [3, 1, 2])
    run.log_image("curve", plot=plt)
    print("names:", run.get_file_names())
    run.complete()
"""


def _files(size: int) -> str:
    return FILES.replace("int(SIZE)", str(size))


def _sha256_of_download(run, name, tmp_path) -> str:
    import hashlib

    target = tmp_path / "download.bin"
    run.download_file(name, str(target))
    return hashlib.sha256(target.read_bytes()).hexdigest()


def test_upload_file_and_log_image_reach_the_runs_files(az_submit, tmp_path):
    run = az_submit(_files(2 * 1024 * 1024))
    assert run.get_status() == "Completed", run.get_details()
    names = run.get_file_names()
    assert "outputs/small.txt" in names and "outputs/big.bin" in names
    image = run.get_metrics()["curve"]
    assert image in names and image.endswith(".png")
    assert _sha256_of_download(run, "outputs/big.bin", tmp_path) == run.get_tags()["big_sha256"]
    run.download_file("outputs/small.txt", str(tmp_path / "small.txt"))
    assert (tmp_path / "small.txt").read_text() == "hello from azureml-core"


def test_a_100_mib_file_arrives_intact(az_submit, tmp_path):
    # Above 64 MiB azureml-core would switch to Put Block + Put Block List.
    run = az_submit(_files(100 * 1024 * 1024))
    assert run.get_status() == "Completed", run.get_details()
    assert _sha256_of_download(run, "outputs/big.bin", tmp_path) == run.get_tags()["big_sha256"]


CHILDREN = """
    from azureml.core import Run

    run = Run.get_context()
    child = run.child_run(name="kid")
    child.log("child loss", 1.5)
    child.tag("role", "kid")
    child.complete()
    batch = list(run.create_children(count=2))
    for i, c in enumerate(batch):
        c.log("i", i)
        c.complete()
    tagged = list(run.create_children(tag_key="fold", tag_values=["a", "b", "c"]))
    tagged[0].fail(error_details="fold a diverged")
    print("children:", [c.id for c in run.get_children()])
    run.complete()
"""


def test_child_run_and_create_children_make_studio_child_runs(az_submit):
    run = az_submit(CHILDREN)
    assert run.get_status() == "Completed", run.get_details()
    children = list(run.get_children())
    assert len(children) == 6
    by_name = {c.display_name: c for c in children}
    kid = by_name["kid"]
    assert kid.get_status() == "Completed"
    assert kid.get_metrics() == {"child loss": 1.5}
    assert kid.get_tags()["role"] == "kid"
    assert kid.parent.id == run.id
    folds = {c.get_tags().get("fold"): c for c in children if "fold" in c.get_tags()}
    assert set(folds) == {"a", "b", "c"}
    assert folds["a"].get_status() == "Failed"
    assert "fold a diverged" in str(folds["a"].get_details()["error"])
    assert folds["b"].get_status() == "Running"  # started by create_children, not ended
    numbered = sorted(
        c.get_metrics()["i"] for c in children if "azureml.batch_child_number" in c.get_tags()
    )
    assert numbered == [0, 1]


FAIL = """
    from azureml.core import Run

    run = Run.get_context()
    run.log("before", 1)
    run.fail(error_details="the data was wrong")
"""


def test_fail_marks_the_job_failed_with_its_message(az_submit):
    run = az_submit(FAIL)
    assert run.get_status() == "Failed"
    assert "the data was wrong" in str(run.get_details()["error"])
    assert run.get_metrics() == {"before": 1}


def test_a_job_run_by_a_worker_logs_through_the_studio_server(az_submit, start_worker):
    start_worker("az-pool")
    run = az_submit(
        LOGGING.replace('run.log("epochs", 3)', 'run.log("epochs", 4)'), target="az-pool"
    )
    assert run.get_status() == "Completed", run.get_details()
    metrics = run.get_metrics()
    assert metrics["epochs"] == 4 and math.isnan(metrics["loss"][1])
    assert run.get_tags()["quality"] == "great run"


READ_BACK = """
    import json, math
    from azureml.core import Run

    run = Run.get_context()
    run.log("loss", 0.5)
    run.log("loss", float("nan"))
    run.tag("phase", "read-back")
    with open("note.txt", "w") as f:
        f.write("kept by azureml-core")
    run.upload_file("outputs/note.txt", "note.txt")
    run.flush()
    metrics = run.get_metrics()
    run.download_file("outputs/note.txt", "note-back.txt")
    details = run.get_details()
    seen = {
        "loss": [None if math.isnan(v) else v for v in metrics["loss"]],
        "files": sorted(run.get_file_names()),
        "note": open("note-back.txt").read(),
        "tags": run.get_tags().get("phase"),
        "run_id": details["runId"],
        "status": details["status"],
    }
    with open("seen.json", "w") as f:
        json.dump(seen, f)
    run.upload_file("outputs/seen.json", "seen.json")
"""


def test_the_client_reads_back_what_it_logged(az_submit, tmp_path):
    """get_metrics, get_file_names, download_file, get_tags and get_details through
    azureml-core itself, inside the job: what it wrote, as Studio stored it."""
    run = az_submit(READ_BACK)
    assert run.get_status() == "Completed", run.get_details()
    run.download_file("outputs/seen.json", tmp_path / "seen.json")
    import json

    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["loss"] == [0.5, None]
    assert "outputs/note.txt" in seen["files"]
    assert seen["note"] == "kept by azureml-core"
    assert seen["tags"] == "read-back"
    assert seen["run_id"] == run.id
    assert seen["status"] == "Running"


CANCEL = """
    from azureml.core import Run

    run = Run.get_context()
    child = run.child_run(name="abandoned")
    child.log("started", 1)
    child.flush()  # metrics still queued when the cancel lands are refused: it has ended
    child.cancel()
    run.log("after cancel", 1)
"""


def test_cancel_of_a_child_run_ends_it_canceled(az_submit):
    """A child's cancel() sends Run.Canceled: the child ends Canceled in Studio, its
    parent (the job's own run, whose cancel() azureml-core refuses inside a job) goes
    on and completes."""
    run = az_submit(CANCEL)
    assert run.get_status() == "Completed", run.get_details()["error"]
    (child,) = list(run.get_children())
    assert child.display_name == "abandoned"
    assert child.get_status() == "Canceled"
    assert child.get_metrics() == {"started": 1}
    # Logged last, never flushed by the script: Studio's job harness flushes it.
    assert run.get_metrics() == {"after cancel": 1}
