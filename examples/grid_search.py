"""A grid search: one parent run, 48 child runs (learning rate x L2 x seed).

    STUDIO_HOME=/tmp/studio-demo .venv/bin/python examples/grid_search.py

The children are made in one round trip (``create_children``), each tagged with its
configuration. Each trains a small numpy logistic regression with an L2 penalty
and logs its loss curve; the largest learning rates diverge, and those
children are marked Failed with the reason, as a real sweep's bad corners are. The
parent records the best configuration. In the studio the sweep is one row that
expands in place, so 48 children do not bury the other runs.
"""

from __future__ import annotations

import itertools

import numpy as np

from studio.sdk import Experiment, Workspace

LEARNING_RATES = ["0.01", "0.1", "1.0", "8.0"]
L2 = ["0.0", "0.001", "0.01", "0.1"]
SEEDS = ["1", "2", "3"]
EPOCHS = 25


def make_data(seed: int, n: int = 500, d: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(np.where(y[:, None] == 1, 0.4, -0.4), 1.0, (n, d))
    x[:, 0] *= 5.0  # one badly scaled feature: large learning rates blow up on it
    return x, y


def train(run, lr: float, l2: float, seed: int) -> float | None:
    """Logistic regression by gradient descent; None when the loss diverges."""
    x, y = make_data(seed)
    w, b = np.random.default_rng(seed).normal(0.0, 0.1, x.shape[1]), 0.0
    for _ in range(EPOCHS):
        z = np.clip(x @ w + b, -500, 500)
        p = 1.0 / (1.0 + np.exp(-z))
        w -= lr * (x.T @ (p - y) / len(y) + l2 * w)
        b -= lr * float(np.mean(p - y))
        p = np.clip(1.0 / (1.0 + np.exp(-np.clip(x @ w + b, -500, 500))), 1e-12, 1 - 1e-12)
        loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        run.log("loss", loss)
        if loss > 5.0:
            return None
    accuracy = float(np.mean((p > 0.5) == y))
    run.log("accuracy", accuracy)
    return loss


def main() -> None:
    grid = list(itertools.product(LEARNING_RATES, L2, SEEDS))
    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="grid-search")
    with exp.start_logging(display_name="grid lr x l2 x seed") as parent:
        parent.add_properties({"author": "studio-demo", "grid": "lr x l2 x seed"})
        parent.tag("sweep", "grid")
        configs = [f"lr={lr} l2={l2} seed={seed}" for lr, l2, seed in grid]
        children = parent.create_children(tag_key="config", tag_values=configs)
        results = {}
        for child, (lr, l2, seed) in zip(children, grid, strict=True):
            child.display_name = f"lr={lr} l2={l2} s{seed}"
            child.set_tags({"lr": lr, "l2": l2, "seed": seed})
            loss = train(child, float(lr), float(l2), int(seed))
            if loss is None:
                child.fail(error_details=f"loss diverged with lr={lr}; lower the learning rate")
            else:
                results[(lr, l2, seed)] = loss
                child.complete()
        best = min(results, key=results.get)
        parent.log("best_loss", results[best])
        parent.tag("best", f"lr={best[0]} l2={best[1]}")
    failed = len(grid) - len(results)
    print(f"{parent.id}: {parent.get_status()}, {len(grid)} children, {failed} diverged")


if __name__ == "__main__":
    main()
