"""Pipelines: steps are child runs started in dependency order; a failed step fails
the pipeline and its dependants never start; cancelling the pipeline stops its
running step and cancels the pending ones."""

from __future__ import annotations

import collections
import os
from datetime import datetime

import psutil
import pytest

from studio.rules.transitions import TERMINAL
from tests.jobs import execution, group_members, wait_for_status, wait_terminal, wait_until


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def pipeline(jobs, ws, exp, source):
    """``pipeline(steps)`` with ``steps`` as (name, script text, after): submitted."""

    def submit(steps, **options):
        script_steps = [
            jobs.ScriptStep(
                name=name,
                script=source.write(f"{name}.py", text),
                source_directory=str(source.path),
                after=after,
            )
            for name, text, after in steps
        ]
        return exp.submit(jobs.Pipeline(ws, steps=script_steps), **options)

    return submit


def steps_of(run) -> dict:
    return {child.display_name: child for child in run.get_children()}


@pytest.mark.slow
def test_a_step_starts_only_after_the_steps_it_waits_for_completed(pipeline, tmp_path):
    # a ends only once c has started (or after 30 s): if c waited for a, c would start
    # after a's end and the last assertion fails, whatever the machine's load.
    marker = tmp_path / "c-started"
    wait_for_c = (
        f"import pathlib, time; m = pathlib.Path({str(marker)!r}); t = time.time() + 30\n"
        "while not m.exists() and time.time() < t: time.sleep(0.05)\nprint('a')"
    )
    touch_marker = f"import pathlib; pathlib.Path({str(marker)!r}).touch(); print('c')"
    run = pipeline(
        [
            ("a", wait_for_c, []),
            ("b", "print('b')", ["a"]),
            ("c", touch_marker, []),
        ]
    )
    assert run.type == "pipeline"
    supervisors = collections.defaultdict(dict)  # step id -> {pid: parent pid}

    def finished():
        for proc in psutil.process_iter(["pid", "ppid", "cmdline"]):
            command = proc.info["cmdline"] or []
            if "studio.execution.supervisor" in command:
                step_id = command[command.index("studio.execution.supervisor") + 1]
                supervisors[step_id][proc.info["pid"]] = proc.info["ppid"]
        return run.get_status() in TERMINAL

    wait_until(finished)
    # A supervisor's script, caught between fork and exec, still shows the
    # supervisor's command line: a process whose parent is that step's supervisor is
    # its script, not a second supervisor.
    for seen in supervisors.values():
        for pid in [pid for pid, parent in seen.items() if parent in seen]:
            del seen[pid]

    assert run.get_status() == "Completed"
    steps = steps_of(run)
    # One supervisor per step (the driver once started one per turn of its loop
    # until the first was up).
    assert {steps[name].id: len(supervisors[steps[name].id]) for name in steps} == {
        step.id: 1 for step in steps.values()
    }
    assert {s.type for s in steps.values()} == {"step"}
    details = {name: s.get_details() for name, s in steps.items()}
    assert {d["status"] for d in details.values()} == {"Completed"}
    assert at(details["b"]["startTimeUtc"]) >= at(details["a"]["endTimeUtc"])
    if (os.cpu_count() or 1) >= 2:  # local capacity: one step per CPU
        # c waits for nothing: it ran beside a, not after it.
        assert at(details["c"]["startTimeUtc"]) < at(details["a"]["endTimeUtc"])


@pytest.mark.slow
def test_a_failed_step_fails_the_pipeline_and_its_dependants_never_start(pipeline):
    # continue_on_step_failure: "other" runs to its end whenever "prepare" fails (by
    # default it would be stopped; tests/sdk/test_pipelines_v1.py).
    run = pipeline(
        [
            ("prepare", "raise SystemExit(4)", []),
            ("train", "print('train')", ["prepare"]),
            ("evaluate", "print('evaluate')", ["train"]),
            ("other", "print('other')", []),
        ],
        continue_on_step_failure=True,
    )

    assert wait_terminal(run) == "Failed"

    steps = steps_of(run)
    assert steps["prepare"].get_status() == "Failed"
    assert steps["other"].get_status() == "Completed"
    for name in ("train", "evaluate"):
        details = steps[name].get_details()
        assert details["status"] == "Canceled"
        assert details["startTimeUtc"] is None
        assert execution(steps[name].id).pgid is None
    error = run.get_details()["error"]
    assert error["code"] == "step_failed"
    assert "prepare" in error["message"]


@pytest.mark.slow
def test_cancelling_a_pipeline_stops_its_running_step_and_cancels_the_pending_ones(pipeline):
    run = pipeline(
        [
            ("long", "import time; print('ready', flush=True); time.sleep(1000)", []),
            ("after_long", "print('never')", ["long"]),
        ]
    )
    steps = wait_until(lambda: len(steps_of(run)) == 2 and steps_of(run))
    long = steps["long"]
    wait_for_status(long, "Running")
    wait_until(lambda: execution(long.id).pgid)
    pgid = execution(long.id).pgid
    assert group_members(pgid)

    run.cancel()

    assert wait_terminal(run) == "Canceled"
    assert long.get_status() == "Canceled"
    # By the supervisor that stopped the script, once it was gone (not by a second
    # one the driver started for the same step).
    assert long._data["status_reason"] == "canceled"
    assert group_members(pgid) == []
    pending = steps["after_long"].get_details()
    assert pending["status"] == "Canceled"
    assert pending["startTimeUtc"] is None
