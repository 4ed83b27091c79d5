"""A run that fails: linear regression with a learning rate far too high, so the
loss diverges and the training raises inside the ``with`` block, which marks the
run Failed with the error. The script catches the error afterwards so it still
exits cleanly.

    STUDIO_HOME=/tmp/studio-demo .venv/bin/python examples/failing.py
"""

from __future__ import annotations

import numpy as np

from studio.sdk import Experiment, Workspace


def main() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 3.0, (400, 5))  # unscaled features: the curvature is large
    y = x @ np.array([1.5, -2.0, 0.5, 0.0, 1.0]) + rng.normal(0.0, 0.5, 400)

    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="linreg")
    lr = 0.2
    try:
        with exp.start_logging(display_name=f"linreg lr={lr:g}") as run:
            run.add_properties({"author": "studio-demo", "dataset": "synthetic-linear seed=3"})
            run.tag("lr", f"{lr:g}")
            run.tag("worth another look")
            w = np.zeros(x.shape[1])
            for epoch in range(50):
                residual = x @ w - y
                loss = float(np.mean(residual**2))
                run.log("mse", loss)
                if not np.isfinite(loss) or loss > 1e8:
                    raise FloatingPointError(
                        f"mse diverged to {loss:.3g} at epoch {epoch}; lower the learning rate"
                    )
                w -= lr * 2.0 * x.T @ residual / len(y)
    except FloatingPointError as exc:
        print(f"{run.id}: {run.get_status()} as intended ({exc})")


if __name__ == "__main__":
    main()
