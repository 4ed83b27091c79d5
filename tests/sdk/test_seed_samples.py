"""The in-process code samples of the article in shared/seed/, run with only the
import line changed (``azureml.core`` -> ``studio.sdk``). Each test body is the
sample as printed, followed by assertions on what it did."""

import pytest


@pytest.fixture
def exp(sdk):
    from studio.sdk import Experiment, Run, Workspace  # noqa: F401  (the sample's import)

    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="explore-runs")
    return exp


def test_sample_version_check(sdk, capsys):
    import studio.sdk as azureml_core

    print(azureml_core.VERSION)
    assert capsys.readouterr().out.strip() == sdk.VERSION


def test_sample_setup_and_start_logging(sdk, capsys):
    from studio.sdk import Experiment, Run, Workspace  # noqa: F401

    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="explore-runs")

    notebook_run = exp.start_logging()
    notebook_run.log(name="message", value="Hello from run!")

    print(notebook_run.get_status())

    print(notebook_run.get_details())

    notebook_run.complete()
    print(notebook_run.get_status())

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Running"
    assert f"'runId': '{notebook_run.id}'" in out[1] and "'status': 'Running'" in out[1]
    assert out[2] == "Completed"
    assert notebook_run.get_metrics() == {"message": "Hello from run!"}
    assert ws.name == "default"


def test_sample_with_block_completes_the_run(exp, capsys):
    with exp.start_logging() as notebook_run:
        notebook_run.log(name="message", value="Hello from run!")
        print(notebook_run.get_status())

    print(notebook_run.get_status())

    assert capsys.readouterr().out.splitlines() == ["Running", "Completed"]


def test_with_block_fails_the_run_on_an_exception(exp):
    with pytest.raises(ZeroDivisionError):
        with exp.start_logging() as run:
            run.log("loss", 1.0)
            1 / 0  # noqa: B018
    assert run.get_status() == "Failed"
    assert "ZeroDivisionError" in run.get_details()["error"]["message"]
    assert run.get_metrics() == {"loss": 1.0}


def test_sample_properties_are_immutable(exp, capsys):
    local_run = exp.start_logging()

    local_run.add_properties({"author": "azureml-user"})
    print(local_run.get_properties())

    try:
        local_run.add_properties({"author": "different-user"})
    except Exception as e:
        print(e)

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "{'author': 'azureml-user'}"
    assert "author" in out[1] and "azureml-user" in out[1] and "different-user" in out[1]
    assert local_run.get_properties() == {"author": "azureml-user"}
    local_run.add_properties({"author": "azureml-user"})  # the same value again: a no-op


def test_sample_tags_are_mutable_and_may_have_no_value(exp, capsys):
    local_run = exp.start_logging()

    local_run.tag("quality", "great run")
    print(local_run.get_tags())

    local_run.tag("quality", "fantastic run")
    print(local_run.get_tags())

    local_run.tag("worth another look")
    print(local_run.get_tags())

    assert capsys.readouterr().out.splitlines() == [
        "{'quality': 'great run'}",
        "{'quality': 'fantastic run'}",
        "{'quality': 'fantastic run', 'worth another look': None}",
    ]


def test_sample_query_properties_and_tags(exp):
    local_run = exp.start_logging()
    local_run.add_properties({"author": "azureml-user"})
    local_run.tag("quality", "fantastic run")
    local_run.tag("worth another look")
    other = exp.start_logging()
    other.add_properties({"author": "someone-else"})
    other.tag("quality", "fantastic run")
    great = exp.start_logging()
    great.add_properties({"author": "azureml-user"})
    great.tag("quality", "great run")

    first = list(
        exp.get_runs(properties={"author": "azureml-user"}, tags={"quality": "fantastic run"})
    )
    second = list(exp.get_runs(properties={"author": "azureml-user"}, tags="worth another look"))

    assert [r.id for r in first] == [local_run.id]
    assert [r.id for r in second] == [local_run.id]


def test_cancel_and_fail_of_interactive_runs(exp, capsys):
    local_run = exp.start_logging()
    print(local_run.get_status())

    local_run.cancel()
    print(local_run.get_status())

    local_run = exp.start_logging()
    local_run.fail()
    print(local_run.get_status())

    assert capsys.readouterr().out.splitlines() == ["Running", "Canceled", "Failed"]


def test_fail_turns_a_completed_run_into_failed(exp):
    run = exp.start_logging()
    run.complete()
    run.fail()
    assert run.get_status() == "Failed"


def test_sample_child_runs_in_a_loop(exp):
    with exp.start_logging() as parent_run:
        for c, count in enumerate(range(5)):  # noqa: B007  (verbatim sample)
            with parent_run.child_run() as child:
                child.log(name="Hello from child run", value=c)

    children = parent_run.get_children()
    assert len(children) == 5
    assert all(child.get_status() == "Completed" for child in children)
    assert sorted(child.get_metrics()["Hello from child run"] for child in children) == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert parent_run.get_status() == "Completed"


def test_sample_create_children_in_one_call(exp):
    parent_run = exp.start_logging()

    children = parent_run.create_children(count=5)
    tagged = parent_run.create_children(tag_key="lr", tag_values=["0.1", "0.01", "0.001"])

    assert len(children) == 5 and len(tagged) == 3
    assert [c.get_tags() for c in tagged] == [{"lr": "0.1"}, {"lr": "0.01"}, {"lr": "0.001"}]
    numbers = [c.number for c in children + tagged]
    assert numbers == list(range(numbers[0], numbers[0] + 8))
    assert [c.id for c in parent_run.get_children(tags={"lr": "0.01"})] == [tagged[1].id]


def test_sample_get_children_recursive(exp, capsys):
    parent_run = exp.start_logging()
    child = parent_run.child_run()
    grandchild = child.child_run()
    great = grandchild.child_run()

    print(parent_run.get_children())

    assert [c.id for c in parent_run.get_children()] == [child.id]
    assert {c.id for c in parent_run.get_children(recursive=True)} == {
        child.id,
        grandchild.id,
        great.id,
    }
    assert {c.id for c in child.get_children(recursive=True)} == {grandchild.id, great.id}
    great.complete()
    assert [c.id for c in parent_run.get_children(recursive=True, status="Completed")] == [great.id]
    assert child.id in capsys.readouterr().out


def test_sample_log_to_root_run_through_parent(exp, sdk):
    Run = sdk.Run
    root = exp.start_logging()
    current_child_run = root.child_run().child_run()

    # in child (or even grandchild) run

    def root_run(self: Run) -> Run:
        if self.parent is None:
            return self
        return root_run(self.parent)

    root_run(current_child_run).log("MyMetric", f"Data from child run {current_child_run.id}")

    assert current_child_run.parent.parent.id == root.id
    root.complete()
    assert root.get_metrics() == {"MyMetric": f"Data from child run {current_child_run.id}"}


def test_rebinding_a_run_by_id(exp, sdk):
    run = exp.start_logging()
    run.tag("quality", "ok")
    again = sdk.Run(exp, run.id)
    assert again.id == run.id and again.get_tags() == {"quality": "ok"}
