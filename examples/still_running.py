"""A run that is still going: it starts, logs a few points and the process exits
without completing it, so the studio shows it as Running (as a run on another
machine would be). No ``with`` block on purpose: that would complete it on exit.

    STUDIO_HOME=/tmp/studio-demo .venv/bin/python examples/still_running.py
"""

from __future__ import annotations

import numpy as np

from studio.sdk import Experiment, Workspace


def main() -> None:
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
    print(f"{run.id}: {run.get_status()} (left running on purpose)")


if __name__ == "__main__":
    main()
