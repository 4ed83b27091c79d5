"""A learning-rate sweep: one parent run, one child run per learning rate.

    STUDIO_HOME=/tmp/studio-demo .venv/bin/python examples/sweep.py

``create_children`` makes all the children in one round trip, each tagged with its
``lr``; every child trains and logs its own loss curve, and the parent records the
best learning rate. A last child made with ``child_run()`` refits the winner.
"""

from __future__ import annotations

import numpy as np

from studio.sdk import Experiment, Workspace

LEARNING_RATES = ["0.01", "0.03", "0.1", "0.3", "1.0"]
EPOCHS = 30


def make_data(seed: int = 11, n: int = 600, d: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(np.where(y[:, None] == 1, 0.5, -0.5), 1.0, (n, d))
    return x, y


def train(run, x: np.ndarray, y: np.ndarray, lr: float, epochs: int = EPOCHS) -> float:
    """Gradient descent on the logistic loss; logs the loss per epoch, returns the last."""
    w, b = np.random.default_rng(0).normal(0.0, 1.0, x.shape[1]), 0.0
    loss = float("nan")
    for _ in range(epochs):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        w -= lr * x.T @ (p - y) / len(y)
        b -= lr * float(np.mean(p - y))
        p = np.clip(1.0 / (1.0 + np.exp(-(x @ w + b))), 1e-12, 1 - 1e-12)
        loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        run.log("loss", loss)
    run.log("final_loss", loss)
    return loss


def main() -> None:
    x, y = make_data()
    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="lr-sweep")
    with exp.start_logging(display_name="lr sweep") as parent:
        parent.add_properties({"author": "studio-demo", "dataset": "synthetic-blobs seed=11"})
        parent.tag("sweep", "lr")
        children = parent.create_children(tag_key="lr", tag_values=LEARNING_RATES)
        results = {}
        for child, lr in zip(children, LEARNING_RATES, strict=True):
            with child:
                results[lr] = train(child, x, y, float(lr))
        best = min(results, key=results.get)
        parent.log("best_final_loss", results[best])
        parent.tag("best_lr", best)
        parent.log_table(
            "sweep", {"lr": [float(v) for v in results], "final_loss": list(results.values())}
        )
        with parent.child_run(name=f"refit lr={best}") as refit:
            refit.tag("lr", best)
            train(refit, x, y, float(best), epochs=2 * EPOCHS)
    print(f"{parent.id}: {parent.get_status()}, best lr={best} (loss {results[best]:.3f})")


if __name__ == "__main__":
    main()
