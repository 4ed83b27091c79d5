"""Runs a job's script as ``__main__`` and then flushes what azureml-core still holds,
as Azure ML's own job harness does around a script (``context_manager_injector``):
``python studio_job_main.py SCRIPT ARGS...``.

azureml-core sends logged values from worker threads in batches; a script that logs
its last values and ends without ``run.complete()`` or ``run.flush()`` (most v1
training scripts: Azure ML's harness completes the run for them) would lose them,
and Python 3.12 allows no new thread once the interpreter shuts down, so no exit hook
can flush. Here the flush runs while the interpreter is still whole.

The script sees what ``python SCRIPT ARGS...`` gives it: ``sys.argv``, its folder
first on ``sys.path``, ``__name__ == "__main__"``, its exit status and traceback.
No Studio import: the job's interpreter may not have Studio.
"""

import os
import runpy
import sys


def _flush_azureml_runs() -> None:
    run_module = sys.modules.get("azureml.core.run")
    if run_module is None:  # the script never used azureml-core
        return
    runs = getattr(run_module._SubmittedRun, "_SubmittedRun__instances", {})
    for run in list(runs.values()):
        try:
            run.flush()
        except Exception as exc:  # the script's own outcome stands
            print(f"studio: flushing run {run.id} failed: {exc}", file=sys.stderr)


def main() -> None:
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        _flush_azureml_runs()


if __name__ == "__main__":
    main()
