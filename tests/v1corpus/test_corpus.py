"""Each corpus item (tests/v1corpus/items, made by convert.py from public Azure ML v1
samples with only their imports changed, other edits listed in each README) runs to
its end in-process (local store) and over HTTP (REST store against the live test
server), and what it logged is in Studio: read from the database, not through the SDK
under test.

Items that stop today are marked xfail(strict) with the first missing name: they turn
the suite red when they start passing, and the mark is then removed."""

from __future__ import annotations

import pytest

from studio.rules.transitions import TERMINAL
from tests.jobs import wait_until
from tests.v1corpus.report import results_path
from tests.v1corpus.runner import run_item

pytestmark = pytest.mark.v1corpus

WS = "default"
# Items whose compute target is a cluster or an attached machine: Studio's queue
# target of that name, served by a worker during the test.
WORKERS = {
    "train-on-amlcompute": "cpu-cluster",
    "sklearn-iris": "hd-cluster",
    "pipelines-getting-started": "cpu-cluster",
    "mnist-part1": "cpu-cluster",
    "train-on-remote-vm": "cpudsvm",
}
ARGS = {"offline-train-iris": ["--kernel", "rbf", "--penalty", "0.5"]}


def runs(experiment: str, **filters):
    from studio.tracking.models import Run

    return Run.objects.filter(workspace__name=WS, experiment__name=experiment, **filters).order_by(
        "number"
    )


def metric_names(run) -> set[str]:
    from studio.tracking.models import MetricRecord, MetricSummary

    return set(MetricSummary.objects.filter(run=run).values_list("name", flat=True)) | set(
        MetricRecord.objects.filter(run=run).values_list("name", flat=True)
    )


def tags(run) -> dict:
    return dict(run.tags.values_list("key", "value"))


def files(run) -> set[str]:
    return set(run.files.values_list("name", flat=True))


def settled(experiment: str, count: int):
    """The experiment's top-level runs once ``count`` exist and all have ended."""

    def done():
        found = list(runs(experiment, parent=None))
        return found if len(found) >= count and all(r.status in TERMINAL for r in found) else None

    return wait_until(done, timeout=120, every=0.2)


def check_logging_api(result):
    (run,) = runs("logging-api-test")
    assert run.status == "Completed"
    assert {
        "Category",
        "scale factor",
        "Magic Number",
        "Fibonacci",
        "Sigmoid",
        "Cosine Wave",
        "Sine Wave",
        "Accuracy",
    } <= metric_names(run)
    assert "logging-api/myfile.txt" in files(run)
    assert tags(run)["Competition Rank"] == "1" and "My Favorite Run" in tags(run)


def check_manage_runs(result):
    top = settled("explore-runs", 6)
    statuses = [r.status for r in top]
    assert statuses.count("Canceled") == 1 and statuses.count("Failed") == 1
    (tagged,) = [r for r in top if tags(r).get("quality") == "fantastic run"]
    assert "worth another look" in tags(tagged)
    assert dict(tagged.properties.values_list("key", "value")) == {"author": "azureml-user"}
    with_children = [r for r in top if r.children.count() == 5]
    assert len(with_children) == 2  # hello_with_children.py and the notebook's child runs
    for parent in with_children:
        assert all(c.status == "Completed" for c in parent.children.all())


def check_train_on_local(result):
    done = runs("train-on-local", status="Completed")
    assert done.count() >= 2  # user-managed, then system-managed (Docker is not installed)
    for run in done:
        assert {"alpha", "mse"} <= metric_names(run)
        assert "outputs/ridge_0.40.pkl" in files(run)


def check_using_environments(result):
    (run,) = runs("environment-example")
    assert run.status == "Completed"


def check_amlcompute(result):
    done = runs("train-on-amlcompute", status="Completed")
    assert done.count() == 2
    assert all({"alpha", "mse"} <= metric_names(r) for r in done)


def check_sklearn_iris(result):
    (run,) = runs("train_iris")
    assert run.status == "Completed"
    assert {"Kernel type", "Penalty", "Accuracy"} <= metric_names(run)
    assert "outputs/model.joblib" in files(run)


def check_pipelines(result):
    for experiment in ("Hello_World1", "Hello_World2"):
        (pipeline,) = settled(experiment, 1)
        assert pipeline.status == "Completed"
        steps = {c.display_name for c in pipeline.children.all()}
        assert steps == {"train_step", "compare_step", "extract_step"}


def check_first_experiment(result):
    done = runs("diabetes-experiment", status="Completed")
    assert done.count() == 10
    assert all({"alpha_value", "rmse"} <= metric_names(r) for r in done)
    assert "model_alpha_0.1.pkl" in files(done[0])


def check_mnist(result):
    (run,) = runs("Tutorial-sklearn-mnist")
    assert run.status == "Completed"
    assert {"regularization rate", "accuracy"} <= metric_names(run)
    assert "outputs/sklearn_mnist_model.pkl" in files(run)


def check_remote_vm(result):
    top = settled("train-on-remote-vm", 4)
    assert {"alpha", "mse"} <= metric_names(top[-1]) and top[-1].status == "Completed"


def check_offline(metric: str):
    def check(result):
        from studio.tracking.models import Run

        # v1's offline run tracks nothing: it prints what it would have logged.
        assert not Run.objects.exists()
        assert any(
            metric in line and "metric" in line.lower() for line in result.output.splitlines()
        ), result.output[-2000:]

    return check


CHECKS = {
    "logging-api": check_logging_api,
    "manage-runs": check_manage_runs,
    "train-on-local": check_train_on_local,
    "using-environments": check_using_environments,
    "train-on-amlcompute": check_amlcompute,
    "sklearn-iris": check_sklearn_iris,
    "pipelines-getting-started": check_pipelines,
    "first-experiment": check_first_experiment,
    "mnist-part1": check_mnist,
    "train-on-remote-vm": check_remote_vm,
    "offline-train-diabetes": check_offline("mse"),
    "offline-train-iris": check_offline("Accuracy"),
}

# (item, mode) -> the first v1 name or behaviour it stops at today.
XFAIL: dict[tuple[str, str], str] = {}


def cases():
    for item in CHECKS:
        for mode in ("in-process", "http"):
            reason = XFAIL.get((item, mode))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(item, mode, marks=marks, id=f"{item}-{mode}")


@pytest.fixture
def studio_mode(request, jobs, monkeypatch):
    """Point ``Workspace.from_config()`` at the local store or the live server."""

    def enter(mode: str):
        if mode == "http":
            request.getfixturevalue("rest_workspace")  # the server, alice and her token
            live_server = request.getfixturevalue("live_server")
            monkeypatch.setenv("STUDIO_TRACKING_URI", live_server.url)
            monkeypatch.setenv("STUDIO_WORKSPACE", WS)
        elif mode == "in-process":
            # A worker's jobs report through the API as their submitter.
            request.getfixturevalue("submitter")

    return enter


@pytest.mark.slow
@pytest.mark.parametrize("item,mode", list(cases()))
def test_item_runs_and_its_runs_are_in_studio(item, mode, studio_mode, request, tmp_path):
    studio_mode(mode)
    if item in WORKERS:
        request.getfixturevalue("start_worker")(WORKERS[item])
    result = run_item(item, tmp_path / "work", mode, ARGS.get(item))
    with open(results_path(), "a") as f:
        f.write(result.to_json() + "\n")
    assert result.passed, result.describe()
    CHECKS[item](result)
