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
