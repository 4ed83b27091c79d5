"""The pipeline driver: one process per pipeline run, started by the local store on
the submitting machine or by a worker that claimed the pipeline (never by the web
server: each driver is a Python process of its own, so a worker bounds them). Steps are child runs of type
``step``; each starts once every step it waits for (``after``) has completed, up to
its target's capacity (local steps under a supervisor started here, others queued
for a worker). A step that fails (or is cancelled) fails the pipeline: by default
(v1's) that stops the steps still running and starts no other; with the pipeline's
``azureml.continue_on_step_failure`` property "True", only the steps that wait for
it are cancelled and the others run to their end. Cancelling the pipeline cancels
its running and pending steps. The driver reaches the studio through a backend: the
database, or the API when it runs on the submitting machine of a remote studio
(``--client``).

``python -m studio.execution.pipeline RUN_ID``
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from studio.execution.backends import LOCAL, Backend, LocalBackend
from studio.execution.supervisor import PR_SET_PDEATHSIG, _prctl

# The pipeline's option, as v1 names the property (studio.sdk.pipeline records it).
CONTINUE_ON_STEP_FAILURE = "azureml.continue_on_step_failure"

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


def _step_error(names) -> dict[str, str]:
    return {
        "message": f"Steps that did not complete: {', '.join(sorted(names))}.",
        "code": "step_failed",
    }


def drive(run_id: str, backend: Backend | None = None) -> str:
    """Run a pipeline's steps to the pipeline's end; return its final status."""
    from studio.execution.supervisor import process_start_time
    from studio.rules.transitions import (
        CANCEL_REQUESTED,
        CANCELED,
        COMPLETED,
        FAILED,
        NOT_STARTED,
        QUEUED,
        RUNNING,
        TERMINAL,
    )

    backend = backend or LocalBackend()
    pipeline = backend.run(run_id)
    backend.record(
        run_id,
        host=os.uname().nodename,
        supervisor_pid=os.getpid(),
        supervisor_started=process_start_time(os.getpid()),
    )
    # Refused when cancelled before the driver started: the loop below winds it down.
    backend.start(run_id, RUNNING, "running steps")
    # continue_on_step_failure: a step that fails stops only the steps waiting for it.
    keep_going = pipeline["properties"].get(CONTINUE_ON_STEP_FAILURE) == "True"
    local_capacity = backend.local_capacity()
    capacity: dict[str, int] = {}
    children: dict[str, subprocess.Popen] = {}
    # Local steps whose supervisor was started: the step stays NotStarted until that
    # supervisor is up, which takes longer than one turn of this loop.
    launched: set[str] = set()
    last_beat = 0.0

    while True:
        for step_id, proc in list(children.items()):
            if proc.poll() is not None:
                del children[step_id]
        if time.monotonic() - last_beat >= backend.heartbeat_every():
            last_beat = time.monotonic()
            backend.heartbeat(run_id)
        current = backend.status(run_id)
        steps = backend.steps(run_id)
        unfinished = [s for s in steps if s["status"] not in TERMINAL]

        if current in (CANCEL_REQUESTED, FAILED, CANCELED):
            for step in unfinished:
                backend.cancel(step["id"])
            if all(s["status"] in TERMINAL for s in backend.steps(run_id)):
                if current == CANCEL_REQUESTED:
                    backend.transition(run_id, CANCELED, "canceled")
                break
            time.sleep(POLL_EVERY)
            continue

        by_name = {s["name"]: s for s in steps}
        after = {s["name"]: list(s["after"]) for s in steps}
        broken = {n for n, s in by_name.items() if s["status"] in (FAILED, CANCELED)}
        if broken and not keep_going:
            # v1's default: the first step that does not complete fails the pipeline,
            # which stops the steps still running and never starts the others.
            backend.transition(run_id, FAILED, "step failed", _step_error(broken))
            continue
        for name in _dependants(broken, after):
            step = by_name[name]
            if step["status"] in (NOT_STARTED, QUEUED):
                backend.transition(step["id"], CANCELED, "a step it waits for did not complete")

        active: dict[str, int] = {}
        for s in steps:
            if s["status"] not in TERMINAL and (s["status"] != NOT_STARTED or s["id"] in launched):
                active[s["compute_target"]] = active.get(s["compute_target"], 0) + 1
        for name, step in by_name.items():
            if step["status"] != NOT_STARTED or step["id"] in launched:
                continue
            if not all(by_name[d]["status"] == COMPLETED for d in after[name]):
                continue
            target = step["compute_target"]
            if target == LOCAL:
                limit = local_capacity
            else:
                if target not in capacity:
                    capacity[target] = backend.capacity(pipeline["workspace"], target)
                limit = capacity[target]
            if active.get(target, 0) >= limit:
                continue
            active[target] = active.get(target, 0) + 1
            if target == LOCAL:
                launched.add(step["id"])
                children[step["id"]] = backend.start_supervisor(step["id"])
            else:
                backend.enqueue(step["id"])

        steps = backend.steps(run_id)
        if all(s["status"] in TERMINAL for s in steps):
            bad = [s["name"] for s in steps if s["status"] != COMPLETED]
            if bad:
                backend.transition(run_id, FAILED, "step failed", _step_error(bad))
            else:
                backend.transition(run_id, COMPLETED, "completed")
            break
        time.sleep(POLL_EVERY)

    for proc in children.values():
        proc.wait()
    return backend.status(run_id)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m studio.execution.pipeline")
    parser.add_argument("run_id")
    parser.add_argument("--die-with-parent", action="store_true")
    parser.add_argument("--server", default="", help="the studio's URL (with --client)")
    parser.add_argument(
        "--client",
        action="store_true",
        help="drive over the studio's API at --server (STUDIO_TOKEN), on the submitting machine",
    )
    parser.add_argument(
        "--run-token",
        action="store_true",
        help="with --client: STUDIO_TOKEN is the pipeline run's own token (a worker "
        "claimed it over the API)",
    )
    args = parser.parse_args(argv)
    if args.die_with_parent:  # started by a worker: a dead worker's pipelines are lost
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if args.client:
        from studio.execution.backends import RestBackend

        drive(args.run_id, RestBackend(args.server, run_token=args.run_token))
        return 0
    from studio.bootstrap import setup_django

    setup_django()
    drive(args.run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
