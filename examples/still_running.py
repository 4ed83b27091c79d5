"""A run that is still going.

    STUDIO_HOME=/tmp/studio-demo .venv/bin/python examples/still_running.py
    STUDIO_HOME=/tmp/studio-demo .venv/bin/python examples/still_running.py --minutes 30

It starts, logs a few points and prints its id. Without ``--minutes`` the process
then exits without completing the run, as a job that crashed would: the studio shows
it Running until its heartbeats stop counting (the lease), then Failed ("lost").
With ``--minutes N`` it keeps training for N minutes, a point every 2 seconds (the SDK
heartbeats it meanwhile), then completes: the studio's lists refresh its status and
duration as it goes. No ``with`` block on purpose: that would complete it on exit.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from studio.sdk import Experiment, Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=0.0, help="keep training this long")
    args = parser.parse_args()

    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="long-training")
    run = exp.start_logging(display_name="1000-epoch training")
    run.add_properties({"author": "studio-demo", "dataset": "synthetic-blobs seed=5"})
    run.tag("lr", "0.05")
    run.tag("epochs", "1000")
    rng = np.random.default_rng(5)
    loss = 1.0
    for _ in range(25):
        loss *= 0.95 + rng.normal(0.0, 0.01)
        run.log("loss", loss)
    run.flush()  # the points are stored; the run itself stays Running
    going = (
        f"training for {args.minutes:g} more minutes" if args.minutes else "left running on purpose"
    )
    print(f"{run.id}: {run.get_status()} ({going})", flush=True)
    if not args.minutes:
        return
    sys.stdout.close()  # whoever started it may stop listening now
    deadline = time.monotonic() + 60 * args.minutes
    while time.monotonic() < deadline:
        time.sleep(2)
        loss = max(loss * (0.998 + rng.normal(0.0, 0.004)), 1e-4)
        run.log("loss", loss)
    run.complete()


if __name__ == "__main__":
    main()
