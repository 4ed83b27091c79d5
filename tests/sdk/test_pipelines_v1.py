"""Pipelines with the Azure ML SDK v1 names (issue 10, item 4), on both stores: the
steps of aml-pipelines-getting-started.ipynb (PythonScriptStep, run_after, a
pipeline built from its last step, validate(), Experiment.submit with v1's
keywords, PipelineRun and StepRun), and continue_on_step_failure honoured by the
driver. Over HTTP the steps run on this machine (the local target)."""

from __future__ import annotations

import json
import textwrap

import pytest

from studio.errors import RunFailed, ValidationError
from studio.tracking.models import Run as RunModel
from tests.conftest import database_url
from tests.jobs import kill_leftovers, wait_for_status, wait_terminal, wait_until


@pytest.fixture
def pws(ws, monkeypatch):
    """A workspace on each store whose submitted steps run here; whatever a test
    leaves running is killed."""
    monkeypatch.setenv("DATABASE_URL", database_url())  # the local store's children
    monkeypatch.setenv("STUDIO_LOCAL_CAPACITY", "4")
    yield ws
    kill_leftovers()


@pytest.fixture
def src(tmp_path):
    def write(folder: str, name: str, text: str) -> str:
        path = tmp_path / folder
        path.mkdir(exist_ok=True)
        (path / name).write_text(textwrap.dedent(text))
        return str(path)

    return write


def test_validate_lists_what_is_wrong_and_submit_refuses_it_creating_nothing(sdk, src, tmp_path):
    folder = src("steps", "a.py", "print('a')\n")
    a = sdk.PythonScriptStep("a.py", name="a", source_directory=folder)
    b = sdk.PythonScriptStep("b.py", name="b", source_directory=folder)  # no such script
    c = sdk.PythonScriptStep("a.py", name="c", source_directory=folder)
    b.run_after(a)
    c.run_after(b)
    ws = sdk.Workspace.from_config()
    pipeline = sdk.Pipeline(workspace=ws, steps=[c])  # a and b come with c
    assert [s.name for s in pipeline.steps] == ["c", "b", "a"]
    assert pipeline.validate() == [f"Step 'b': script 'b.py' is not in {folder!r}."]

    a.run_after(c)  # v1 builds it; validate() says why it cannot run
    errors = pipeline.validate()
    assert errors[-1] == "The steps form a cycle: c -> a -> b -> c."
    with pytest.raises(ValidationError) as err:
        sdk.Experiment(ws, "v1").submit(pipeline)
    assert "cycle" in str(err.value)
    assert not RunModel.objects.exists()


def test_a_step_waits_for_the_step_that_produces_its_input_and_records_it(sdk, src):
    folder = src("steps", "s.py", "print('s')\n")
    data = type("PipelineData", (), {"name": "prepared"})()
    prepare = sdk.PythonScriptStep("s.py", name="prepare", outputs=[data], source_directory=folder)
    train = sdk.PythonScriptStep(
        "s.py", name="train", inputs=[data], arguments=["--data", data], source_directory=folder
    )
    pipeline = sdk.Pipeline(sdk.Workspace.from_config(), steps=[prepare, train])
    specs = {spec["name"]: spec for spec in pipeline._specs({})}
    assert specs["train"]["after"] == ["prepare"]
    assert specs["train"]["arguments"] == ["--data", "prepared"]
    assert specs["train"]["properties"]["azureml.pipeline.inputs"] == "prepared"
    assert specs["prepare"]["properties"]["azureml.pipeline.outputs"] == "prepared"


@pytest.mark.slow
def test_the_getting_started_pipeline_runs_its_steps_in_order(pws, sdk, src, capsys):
    train = src(
        "train",
        "train.py",
        "import os, sys\nprint('training at', sys.argv[1:], os.environ['AML_PARAMETER_alpha'])\n",
    )
    compare = src("compare", "compare.py", "print('comparing')\n")
    extract = src("extract", "extract.py", "print('extracting')\n")
    rate = sdk.PipelineParameter(name="rate", default_value=0.5)
    step1 = sdk.PythonScriptStep(
        name="train_step",
        script_name="train.py",
        arguments=["--rate", rate],
        compute_target="local",
        source_directory=train,
        allow_reuse=True,
        params={"alpha": 0.3},
    )
    step2 = sdk.PythonScriptStep(
        name="compare_step", script_name="compare.py", source_directory=compare
    )
    step3 = sdk.PythonScriptStep(
        name="extract_step", script_name="extract.py", source_directory=extract
    )
    step2.run_after(step1)
    step3.run_after(step2)
    pipeline = sdk.Pipeline(workspace=pws, steps=[step3])
    assert pipeline.validate() == []

    run = sdk.Experiment(pws, "Hello_World2").submit(
        pipeline, regenerate_outputs=False, pipeline_parameters={"rate": 0.01}
    )

    assert isinstance(run, sdk.PipelineRun)
    assert run.wait_for_completion(show_output=True) == "Completed"
    shown = capsys.readouterr().out
    assert f"PipelineRunId: {run.id}" in shown
    assert "training at ['--rate', '0.01'] 0.3" in shown  # each step's log, followed
    assert "PipelineRun Status: Completed" in shown
    steps = run.get_steps()
    assert [s.name for s in steps] == ["extract_step", "compare_step", "train_step"]
    assert all(isinstance(s, sdk.StepRun) and s.pipeline_run_id == run.id for s in steps)
    found = run.find_step_run("compare_step")
    assert [s.name for s in found] == ["compare_step"]
    assert "comparing" in found[0].get_job_log()
    assert run.find_step_run("no such step") == []
    properties = run.get_properties()
    assert properties["azureml.continue_on_step_failure"] == "False"
    assert json.loads(properties["azureml.parameters"]) == {"rate": "0.01"}
    with pytest.raises(NotImplementedError):
        run.complete()


def _waiter(marker, then: str) -> str:
    """A script that waits (30 s at most) for ``marker`` to exist, then runs ``then``."""
    return (
        f"import pathlib, time\nm = pathlib.Path({str(marker)!r})\nt = time.time() + 30\n"
        f"while not m.exists() and time.time() < t: time.sleep(0.05)\n{then}\n"
    )


def _failing_pipeline(sdk, ws, src, tmp_path, *, slow_until):
    """ "fails" fails once "slow" (independent of it) has started; "after" waits for
    "fails". ``slow_until``: what "slow" waits for before it ends."""
    started = tmp_path / "slow-started"
    folder = src("steps", "fails.py", _waiter(started, "raise SystemExit(2)"))
    src(
        "steps",
        "slow.py",
        f"import pathlib\npathlib.Path({str(started)!r}).touch()\n"
        + _waiter(slow_until, "print('slow done')"),
    )
    src("steps", "after.py", "print('after')\n")
    fails = sdk.PythonScriptStep("fails.py", name="fails", source_directory=folder)
    slow = sdk.PythonScriptStep("slow.py", name="slow", source_directory=folder)
    after = sdk.PythonScriptStep("after.py", name="after", source_directory=folder)
    after.run_after(fails)
    return sdk.Pipeline(ws, steps=[fails, slow, after])


@pytest.mark.slow
def test_by_default_a_failed_step_fails_the_pipeline_and_stops_the_steps_still_running(
    pws, sdk, src, tmp_path
):
    pipeline = _failing_pipeline(sdk, pws, src, tmp_path, slow_until=tmp_path / "never")

    run = sdk.Experiment(pws, "v1").submit(pipeline)

    with pytest.raises(RunFailed):
        run.wait_for_completion(show_output=False)
    steps = {s.name: s for s in run.get_steps()}
    assert wait_terminal(steps["slow"]) == "Canceled"  # it would have run for 30 s
    assert steps["fails"].get_status() == "Failed"
    after = steps["after"].get_details()
    assert (after["status"], after["startTimeUtc"]) == ("Canceled", None)
    assert run.get_details()["error"]["code"] == "step_failed"


@pytest.mark.slow
def test_with_continue_on_step_failure_the_other_steps_run_to_their_end(pws, sdk, src, tmp_path):
    release = tmp_path / "release-slow"
    pipeline = _failing_pipeline(sdk, pws, src, tmp_path, slow_until=release)

    run = sdk.Experiment(pws, "v1").submit(pipeline, continue_on_step_failure=True)

    steps = wait_until(lambda: {s.name: s for s in run.get_steps()})
    wait_for_status(steps["fails"], "Failed")
    assert steps["slow"].get_status() == "Running"  # not stopped by the failure
    release.touch()
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    assert steps["slow"].get_status() == "Completed"
    assert "slow done" in steps["slow"].get_job_log()
    assert steps["after"].get_details()["startTimeUtc"] is None
    assert steps["after"].get_status() == "Canceled"
