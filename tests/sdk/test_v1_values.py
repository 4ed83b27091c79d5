"""v1's value rules (issue 10 item 7) on both stores: non-string tags and properties
become str() with a warning, booleans and None are kept as logged, integers read
back as int, and one log_row reads back as a dict of scalars."""

from __future__ import annotations

import warnings

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def fresh_warnings():
    """Each test sees the once-per-process warnings anew."""
    from studio.sdk import notice

    notice._warned.clear()
    yield
    notice._warned.clear()


@pytest.fixture
def run(ws, sdk):
    return sdk.Experiment(workspace=ws, name="values").start_logging()


def test_non_string_tags_are_stored_as_their_text_with_a_warning(run, sdk):
    with pytest.warns(sdk.V1CompatibilityWarning, match="'epochs'"):
        run.tag("epochs", 10)
    run.set_tags({"lr": 0.1, "flag": True, "bare": None})
    assert run.get_tags() == {"epochs": "10", "lr": "0.1", "flag": "True", "bare": None}


def test_non_string_properties_are_stored_as_their_text(run, sdk):
    with pytest.warns(sdk.V1CompatibilityWarning):
        run.add_properties({"seed": 42})
    assert run.get_properties() == {"seed": "42"}


def test_the_warning_is_given_once_per_key(run, sdk):
    with pytest.warns(sdk.V1CompatibilityWarning):
        run.tag("once", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.tag("once", 2)  # the same key: no second warning
    assert run.get_tags()["once"] == "2"


def test_booleans_and_none_are_kept_as_logged(run):
    run.log("converged", True)
    run.log("best", None)
    run.log("flags", False)
    run.log("flags", True)
    assert run.get_metrics() == {"converged": True, "best": None, "flags": [False, True]}


def test_integers_read_back_as_int_and_floats_as_float(run):
    run.log("epochs", 3)
    for i in range(3):
        run.log("batch", i)
    run.log("mixed", 1)
    run.log("mixed", 2.5)
    run.log("np", np.int64(7))
    metrics = run.get_metrics()
    assert metrics == {"epochs": 3, "batch": [0, 1, 2], "mixed": [1.0, 2.5], "np": 7}
    assert type(metrics["epochs"]) is int and type(metrics["np"]) is int
    assert all(type(v) is int for v in metrics["batch"])
    assert type(metrics["mixed"][0]) is float


def test_a_series_of_ints_stays_int_across_batches(run):
    for i in range(5):
        run.log("step_count", i * 10)
        run.flush()
    values = run.get_metrics()["step_count"]
    assert values == [0, 10, 20, 30, 40] and all(type(v) is int for v in values)
    run.log("step_count", 0.5)  # one float: the series reads back as floats
    assert all(type(v) is float for v in run.get_metrics()["step_count"])


def test_one_log_row_reads_back_as_a_dict_of_scalars(run):
    run.log_row("final", accuracy=0.9, epochs=10)
    assert run.get_metrics()["final"] == {"accuracy": 0.9, "epochs": 10}
    run.log_row("curve", x=1, y=0.5)
    run.log_row("curve", x=2, y=0.25)
    assert run.get_metrics()["curve"] == {"x": [1, 2], "y": [0.5, 0.25]}
