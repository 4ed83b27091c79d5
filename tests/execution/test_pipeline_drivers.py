"""Pipelines submitted over HTTP (issue 9, item 7): enqueueing one queues it for a
worker of its first step's target, which drives it; the web server never starts a
driver, each pipeline is driven exactly once, and a worker drives a bounded number
at a time."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest

from studio.rules.transitions import TERMINAL
from tests.figures import report
from tests.jobs import DEADLINE

DRIVER = "studio.execution.pipeline"


def drivers_under(pid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.Process(pid).children(recursive=True):
        try:
            if DRIVER in proc.cmdline():
                found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.mark.slow
def test_four_concurrent_enqueues_start_no_driver_in_the_web_server_and_each_pipeline_is_driven_once(
    rest_workspace, sdk, live_server, api_user, start_worker, tmp_path
):
    src = tmp_path / "steps"
    src.mkdir()
    (src / "step.py").write_text("import time\ntime.sleep(0.2)\nprint('step done')\n")

    def submit(_):
        ws = sdk.Workspace(name="default", tracking_uri=live_server.url)
        step = sdk.ScriptStep(
            name="only", script="step.py", source_directory=str(src), compute_target="drivers"
        )
        return sdk.Experiment(ws, "drivers").submit(sdk.Pipeline(ws, steps=[step]))

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        pipelines = list(pool.map(submit, range(4)))
    enqueued_in = time.monotonic() - started
    assert [p.get_status() for p in pipelines] == ["Queued"] * 4
    # The live server answers in this process: nothing it started drives a pipeline.
    assert drivers_under(psutil.Process().pid) == []

    def enqueue_again(pipeline):
        return httpx.post(
            f"{live_server.url}/api/v1/runs/{pipeline.id}/enqueue",
            json={},
            headers={"Authorization": f"Bearer {api_user.secret}"},
        ).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(enqueue_again, pipelines)) == [400] * 4

    worker = start_worker("drivers", "--drivers", "2", "--concurrency", "2")
    most = 0
    # Four pipelines, two at a time, on a machine that may be busy.
    deadline = time.monotonic() + 4 * DEADLINE
    while not all(p.get_status() in TERMINAL for p in pipelines):
        assert time.monotonic() < deadline, [p.get_status() for p in pipelines]
        most = max(most, len(drivers_under(worker.pid)))
        time.sleep(0.05)

    assert [p.get_status() for p in pipelines] == ["Completed"] * 4
    assert 1 <= most <= 2
    worker.kill()
    output = worker.communicate()[0]
    for pipeline in pipelines:
        assert output.count(f"claimed {pipeline.id}") == 1
        [step] = pipeline.get_children()
        assert step.get_status() == "Completed"
    report(
        f"pipeline enqueue | 4 concurrent over HTTP in {enqueued_in:.2f} s"
        f" | drivers in the web server 0 | most drivers at once {most} (bound 2)"
    )
