"""The pipeline driver: one process per pipeline run, started by the local store on
the submitting machine or by a worker that claimed the pipeline (never by the web
server: each driver is a Python process of its own, so a worker bounds them). Steps are child runs of type
``step``; each starts once every step it waits for (``after``) has completed, up to
its target's capacity (local steps under a supervisor started here, others queued
for a worker). A failed step fails the pipeline and its dependants never start.
Cancelling the pipeline cancels its running and pending steps.

``python -m studio.execution.pipeline RUN_ID``
"""

from __future__ import annotations

import os
import signal
import sys
import time

from studio.execution.supervisor import PR_SET_PDEATHSIG, _prctl

POLL_EVERY = 0.3


def _dependants(failed: set[str], after: dict[str, list[str]]) -> set[str]:
    """Every step that waits, directly or not, for one of ``failed``."""
    blocked: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, deps in after.items():
            if name not in blocked and (set(deps) & (failed | blocked)):
                blocked.add(name)
                changed = True
    return blocked


def drive(run_id: str) -> str:
    from django.conf import settings

    from studio.errors import InvalidTransition
    from studio.execution import services as execution
    from studio.execution.launch import spawn
    from studio.execution.models import ComputeTarget
    from studio.execution.supervisor import _transition_quietly, process_start_time
    from studio.rules import transitions
    from studio.tracking import selectors
    from studio.tracking import services as tracking
    from studio.tracking.models import Run, RunStatus

    pipeline = selectors.run_get(run_id=run_id)
    execution.execution_record(
        run=pipeline,
        host=os.uname().nodename,
        supervisor_pid=os.getpid(),
        supervisor_started=process_start_time(os.getpid()),
    )
    try:
        tracking.run_transition(run=pipeline, status=RunStatus.RUNNING, reason="running steps")
    except InvalidTransition:
        pass  # cancelled before the driver started: the loop below winds it down
    local_capacity = int(getattr(settings, "STUDIO_LOCAL_CAPACITY", 0) or os.cpu_count() or 2)
    capacity = {
        t.name: t.capacity for t in ComputeTarget.objects.filter(workspace=pipeline.workspace)
    }
    children: dict[int, object] = {}
    # Local steps whose supervisor was started: the step stays NotStarted until that
    # supervisor is up, which takes longer than one turn of this loop.
    launched: set[int] = set()
    last_beat = 0.0

    def status_of(run: Run) -> str:
        return Run.objects.filter(pk=run.pk).values_list("status", flat=True).get()

    while True:
        for pk, proc in list(children.items()):
            if proc.poll() is not None:
                del children[pk]
        if time.monotonic() - last_beat >= execution.heartbeat_every():
            last_beat = time.monotonic()
            tracking.run_heartbeat(run=pipeline)
        current = status_of(pipeline)
        steps = execution.steps_of(pipeline=pipeline)
        unfinished = [s for s in steps if s.status not in transitions.TERMINAL]

        if current in (RunStatus.CANCEL_REQUESTED, RunStatus.FAILED, RunStatus.CANCELED):
            for step in unfinished:
                try:
                    tracking.run_cancel(run=step)
                except InvalidTransition:
                    pass
            if all(s.status in transitions.TERMINAL for s in execution.steps_of(pipeline=pipeline)):
                if current == RunStatus.CANCEL_REQUESTED:
                    _transition_quietly(pipeline, RunStatus.CANCELED, "canceled")
                break
            time.sleep(POLL_EVERY)
            continue

        by_name = {s.execution.step_name: s for s in steps}
        after = {s.execution.step_name: list(s.execution.after) for s in steps}
        broken = {
            n for n, s in by_name.items() if s.status in (RunStatus.FAILED, RunStatus.CANCELED)
        }
        for name in _dependants(broken, after):
            step = by_name[name]
            if step.status in (RunStatus.NOT_STARTED, RunStatus.QUEUED):
                _transition_quietly(
                    step, RunStatus.CANCELED, "a step it waits for did not complete"
                )

        active: dict[str, int] = {}
        for s in steps:
            if s.status not in transitions.TERMINAL and (
                s.status != RunStatus.NOT_STARTED or s.pk in launched
            ):
                active[s.compute_target] = active.get(s.compute_target, 0) + 1
        for name, step in by_name.items():
            if step.status != RunStatus.NOT_STARTED or step.pk in launched:
                continue
            if not all(by_name[d].status == RunStatus.COMPLETED for d in after[name]):
                continue
            target = step.compute_target
            limit = local_capacity if target == execution.LOCAL else capacity.get(target, 4)
            if active.get(target, 0) >= limit:
                continue
            active[target] = active.get(target, 0) + 1
            if target == execution.LOCAL:
                launched.add(step.pk)
                children[step.pk] = spawn(
                    "studio.execution.supervisor", step.run_id, detached=False, die_with_parent=True
                )
            else:
                execution.run_enqueue(run=step)

        steps = execution.steps_of(pipeline=pipeline)
        if all(s.status in transitions.TERMINAL for s in steps):
            bad = [s.execution.step_name for s in steps if s.status != RunStatus.COMPLETED]
            if bad:
                error = {
                    "message": f"Steps that did not complete: {', '.join(bad)}.",
                    "code": "step_failed",
                }
                _transition_quietly(pipeline, RunStatus.FAILED, "step failed", error)
            else:
                _transition_quietly(pipeline, RunStatus.COMPLETED, "completed")
            break
        time.sleep(POLL_EVERY)

    for proc in children.values():
        proc.wait()
    return status_of(pipeline)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m studio.execution.pipeline")
    parser.add_argument("run_id")
    parser.add_argument("--die-with-parent", action="store_true")
    args = parser.parse_args(argv)
    if args.die_with_parent:  # started by a worker: a dead worker's pipelines are lost
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    from studio.bootstrap import setup_django

    setup_django()
    drive(args.run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
