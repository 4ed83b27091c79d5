"""The System group of the run page in Debian's Chromium: a script run under a
supervisor that samples every 0.2 s has its CPU and memory drawn in a group of
their own, apart from the metric the script logged."""

from __future__ import annotations

import re
import textwrap

import pytest

from studio.execution import sysmetrics
from studio.tracking.models import MetricSummary

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOGS_AND_WAITS = """
    import sys, time
    from pathlib import Path
    from studio.sdk import Run

    run = Run.get_context()
    for step in range(5):
        run.log("loss", 1.0 / (step + 1))
    run.flush()
    while not Path(sys.argv[1]).exists():
        time.sleep(0.05)
"""


def test_the_run_page_draws_system_metrics_in_their_own_group(
    browser, member, jobs, tmp_path, monkeypatch
):
    from tests.jobs import wait_terminal, wait_until

    monkeypatch.setenv(sysmetrics.ENV, "0.2")
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(textwrap.dedent(LOGS_AND_WAITS))
    gate = tmp_path / "gate"
    exp = jobs.Experiment(jobs.Workspace.from_config(), "explore-runs")
    run = exp.submit(
        jobs.ScriptRunConfig(source_directory=str(source), script="train.py", arguments=[str(gate)])
    )

    def sampled():
        found = MetricSummary.objects.filter(run__run_id=run.id)
        return found.filter(name="loss").exists() and found.filter(
            name="sys/cpu_percent", count__gte=2
        )

    wait_until(sampled)
    gate.touch()
    assert wait_terminal(run) == "Completed"

    browser.sign_in("bob", "pw-bob")
    browser.page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto(f"/runs/{run.id}/?tab=metrics")
    page = browser.page
    system = page.locator('[data-metric-group="system"]')
    assert system.locator("h2").inner_text() == "System"
    system.locator('[data-name="sys/cpu_percent"] .scatterlayer .trace path').first.wait_for()
    system.locator('[data-name="sys/memory_rss_mb"] .scatterlayer .trace path').first.wait_for()
    page.locator('[data-name="loss"] .scatterlayer .trace path').first.wait_for()
    # The script's own metric is drawn above the group, not in it.
    assert system.locator('[data-name="loss"]').count() == 0
    assert system.locator('[data-name^="sys/gpu"]').count() == 0  # no NVIDIA library here
    assert page.locator('.chart:not([data-metric-group="system"] .chart)').count() == 1
    assert browser.console_errors == []
    assert browser.csp_violations() == []
