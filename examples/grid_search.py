"""A hyper-parameter sweep: one parent run, 60 child runs (learning rate x L2 x batch
size x seed), each trained for 2,000 steps.

    STUDIO_HOME=/tmp/studio-demo .venv/bin/python examples/grid_search.py

The children are made in one round trip (``create_children``); each records its
hyper-parameters as properties (immutable, as a run's configuration is) and its
configuration without the seed as the tag ``config``, so the two seeds of a
configuration group together (group the list by ``tag:config``). Each trains a small
numpy logistic regression by minibatch SGD with a cosine learning-rate schedule and
logs ``loss`` and ``lr`` every step, ``val_loss`` and ``val_accuracy`` every 50 steps.
The largest learning rate diverges on the badly scaled feature: those children are
marked Failed with the reason, as a real sweep's bad corners are. The parent records
the best configuration. In the studio the sweep is one row that expands in place.
"""

from __future__ import annotations

import itertools

import numpy as np

from studio.sdk import Experiment, Workspace

LEARNING_RATES = ["0.01", "0.05", "0.2", "1.0", "6.0"]
L2 = ["0.0", "0.001", "0.01"]
BATCH_SIZES = ["32", "128"]
SEEDS = ["1", "2"]
STEPS = 2000
EVAL_EVERY = 50


def make_data(seed: int, n: int = 2400, d: int = 6) -> tuple[np.ndarray, ...]:
    """Train and validation splits of two overlapping blobs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(np.where(y[:, None] == 1, 0.35, -0.35), 1.0, (n, d))
    x[:, 0] *= 6.0  # one badly scaled feature: large learning rates blow up on it
    cut = n * 5 // 6
    return x[:cut], y[:cut], x[cut:], y[cut:]


def _loss(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple[float, np.ndarray]:
    p = 1.0 / (1.0 + np.exp(-np.clip(x @ w + b, -500, 500)))
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))), p


def train(run, lr: float, l2: float, batch: int, seed: int) -> float | None:
    """Minibatch SGD; the last validation loss, or None when the loss diverges."""
    x, y, vx, vy = make_data(seed)
    rng = np.random.default_rng(seed)
    w, b = rng.normal(0.0, 0.1, x.shape[1]), 0.0
    val = None
    for step in range(STEPS):
        rate = lr * 0.5 * (1 + np.cos(np.pi * step / STEPS))  # cosine decay
        pick = rng.integers(0, len(y), batch)
        loss, p = _loss(x[pick], y[pick], w, b)
        w -= rate * (x[pick].T @ (p - y[pick]) / batch + l2 * w)
        b -= rate * float(np.mean(p - y[pick]))
        run.log("loss", loss, step=step)
        run.log("lr", rate, step=step)
        if not np.isfinite(loss) or loss > 8.0:
            return None
        if step % EVAL_EVERY == EVAL_EVERY - 1:
            val, p = _loss(vx, vy, w, b)
            run.log("val_loss", val, step=step)
            run.log("val_accuracy", float(np.mean((p > 0.5) == vy)), step=step)
    return val


def main() -> None:
    grid = list(itertools.product(LEARNING_RATES, L2, BATCH_SIZES, SEEDS))
    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="grid-search")
    with exp.start_logging(display_name="sweep lr x l2 x batch x seed") as parent:
        parent.add_properties({"author": "studio-demo", "grid": "lr x l2 x batch_size x seed"})
        parent.tag("sweep", "grid")
        configs = [f"lr={lr} l2={l2} bs={bs}" for lr, l2, bs, _ in grid]
        children = parent.create_children(tag_key="config", tag_values=configs)
        results = {}
        for child, (lr, l2, bs, seed) in zip(children, grid, strict=True):
            child.display_name = f"lr={lr} l2={l2} bs={bs} s{seed}"
            child.add_properties({"lr": lr, "l2": l2, "batch_size": bs, "seed": seed})
            loss = train(child, float(lr), float(l2), int(bs), int(seed))
            if loss is None:
                child.fail(error_details=f"loss diverged with lr={lr}; lower the learning rate")
            else:
                results[(lr, l2, bs, seed)] = loss
                child.complete()
        best = min(results, key=results.get)
        parent.log("best_val_loss", results[best])
        parent.tag("best", f"lr={best[0]} l2={best[1]} bs={best[2]}")
    failed = len(grid) - len(results)
    print(f"{parent.id}: {parent.get_status()}, {len(grid)} children, {failed} diverged")


if __name__ == "__main__":
    main()
