"""Scripts submitted as jobs, as a team uses the studio: each is a snapshot of
``examples/jobs`` run on the ``local`` target under its own supervisor (detached:
this script may exit), its stdout and stderr streamed into the run's log, the files
it writes to ``./outputs`` kept as the run's outputs.

    STUDIO_HOME=/tmp/studio-demo .venv/bin/python examples/submit_jobs.py --minutes 30

- ``train.py``: completes with a model file, a plot (PNG) and a CSV; its description
  has a table, the plot and a live chart of its loss;
- ``broken.py``: fails with a traceback on stderr;
- with ``--minutes N``, ``train.py`` again, training slowly for N minutes (a live log);
- a pipeline of four steps, ``prepare-data`` then ``train-small`` and ``train-large``
  side by side then ``evaluate``, whose training steps work for N minutes (a few
  seconds without ``--minutes``): its page shows the step graph and Cancel meanwhile.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from studio.sdk import Experiment, Pipeline, ScriptRunConfig, ScriptStep, Workspace

JOBS = str(Path(__file__).resolve().parent / "jobs")
WAIT = 120  # seconds, for a job this script waits for

DESCRIPTION = """\
A baseline logistic regression, **submitted as a script** to the `local` target
(`examples/jobs/train.py`): its log, metrics and outputs came from the job.

| setting | value |
| --- | --- |
| learning rate | 0.1 |
| epochs | 60 |
| data | 1,000 samples, 8 features (synthetic blobs, seed 7) |
| outputs | `model.npz`, `plot.png`, `metrics.csv` |

![The loss curve the script drew](outputs/plot.png)

The loss, live from the run's metrics:

```chart metric=loss runs=this
```
"""


def script(name: str, *arguments: object) -> ScriptRunConfig:
    return ScriptRunConfig(
        source_directory=JOBS,
        script=name,
        arguments=[str(a) for a in arguments],
        compute_target="local",
    )


def wait_until(what, condition, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout} s")
        time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=0.0, help="how long the live jobs run")
    args = parser.parse_args()

    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="submitted-scripts")

    trained = exp.submit(script("train.py", "--lr", 0.1, "--epochs", 60), tags={"lr": "0.1"})
    broken = exp.submit(script("broken.py"))
    broken.display_name = "feature loader (submitted)"
    trained.wait_for_completion(timeout=WAIT)
    trained.display_name = "baseline logreg (submitted)"
    trained.description = DESCRIPTION
    print(f"{trained.id}: {trained.get_status()}, outputs {sorted(trained.get_file_names())}")
    broken.wait_for_completion(raise_on_error=False, timeout=WAIT)
    print(
        f"{broken.id}: {broken.get_status()} as intended ({broken.get_details()['error']['message']})"
    )

    if args.minutes:
        live = exp.submit(script("train.py", "--lr", 0.05, "--minutes", args.minutes))
        live.display_name = f"slow training ({args.minutes:g} min)"
        wait_until("the live job's start", lambda: live.get_status() == "Running")
        print(f"{live.id}: {live.get_status()} (training for {args.minutes:g} minutes)")

    seconds = 60 * args.minutes if args.minutes else 5
    prepare = ScriptStep(
        "prepare-data", "step.py", JOBS, ["--step", "prepare-data", "--seconds", 2]
    )
    small = ScriptStep(
        "train-small", "step.py", JOBS, ["--step", "train-small", "--seconds", 0.8 * seconds],
        after=[prepare],
    )  # fmt: skip
    large = ScriptStep(
        "train-large", "step.py", JOBS, ["--step", "train-large", "--seconds", seconds],
        after=[prepare],
    )  # fmt: skip
    evaluate = ScriptStep(
        "evaluate", "step.py", JOBS, ["--step", "evaluate", "--seconds", 2], after=[small, large]
    )
    pipeline = exp.submit(Pipeline(ws, steps=[prepare, small, large, evaluate]))
    pipeline.display_name = "prepare → train ×2 → evaluate"
    if args.minutes:
        wait_until(
            "the pipeline's training steps",
            lambda: (
                {s.get_status() for s in pipeline.get_steps() if s.name.startswith("train")}
                == {"Running"}
            ),
        )
    print(f"{pipeline.id}: {pipeline.get_status()} (a pipeline of 4 steps)")


if __name__ == "__main__":
    main()
