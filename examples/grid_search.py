"""A hyper-parameter sweep: one parent run, 60 child runs (learning rate x L2 x batch
size x seed), each trained for 2,000 steps.

    STUDIO_HOME=/tmp/studio-demo .venv/bin/python examples/grid_search.py

The children are made in one round trip (``create_children``); each records its
hyper-parameters as properties (immutable, as a run's configuration is) and its
configuration without the seed as the tag ``config``, so the two seeds of a
configuration group together (group the list by ``tag:config``). Each trains a small
numpy logistic regression by minibatch SGD with a cosine learning-rate schedule and
logs ``loss`` and ``lr`` every step, ``val_loss`` and ``val_accuracy`` every 50 steps
(the models of one batch size train side by side, in one batched numpy step).
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


def _loss(x, y, w, b) -> tuple[np.ndarray, np.ndarray]:
    """Per model (first axis): the logistic loss, from the logits (no overflow), and
    the predictions."""
    z = np.clip(np.einsum("rnd,rd->rn", x, w) + b[:, None], -500.0, 500.0)
    return np.mean(np.logaddexp(0.0, z) - y * z, axis=1), 1.0 / (1.0 + np.exp(-z))


def train(runs: list, grid: list[tuple[str, ...]]) -> list[float | None]:
    """Minibatch SGD of one model per run, side by side (one batched numpy step for
    all of them: the same batch size each); per run its last validation loss, or
    None when its loss diverged (it stops logging there)."""
    lr, l2 = (np.array([float(g[i]) for g in grid]) for i in (0, 1))
    batch, seeds = int(grid[0][2]), [int(g[3]) for g in grid]
    data = {seed: make_data(seed) for seed in set(seeds)}
    x, y, vx, vy = (np.stack([data[seed][i] for seed in seeds]) for i in range(4))
    rngs = [np.random.default_rng(seed) for seed in seeds]
    w = np.stack([rng.normal(0.0, 0.1, x.shape[2]) for rng in rngs])
    b = np.zeros(len(runs))
    picks = np.stack([rng.integers(0, y.shape[1], (STEPS, batch)) for rng in rngs])
    models = np.arange(len(runs))[:, None]
    rates = lr[:, None] * 0.5 * (1 + np.cos(np.pi * np.arange(STEPS) / STEPS))  # cosine decay
    alive = np.ones(len(runs), bool)
    val: list[float | None] = [None] * len(runs)
    with np.errstate(all="ignore"):  # the diverging models overflow; they are dropped
        for step in range(STEPS):
            xb, yb = x[models, picks[:, step]], y[models, picks[:, step]]
            loss, p = _loss(xb, yb, w, b)
            w -= rates[:, step, None] * (
                np.einsum("rnd,rn->rd", xb, p - yb) / batch + l2[:, None] * w
            )
            b -= rates[:, step] * np.mean(p - yb, axis=1)
            alive &= np.isfinite(loss) & (loss <= 8.0)
            evaluate = step % EVAL_EVERY == EVAL_EVERY - 1
            if evaluate:
                vloss, vp = _loss(vx, vy, w, b)
                vacc = np.mean((vp > 0.5) == vy, axis=1)
            for i in np.flatnonzero(alive):
                runs[i].log("loss", float(loss[i]), step=step)
                runs[i].log("lr", float(rates[i, step]), step=step)
                if evaluate:
                    runs[i].log("val_loss", float(vloss[i]), step=step)
                    runs[i].log("val_accuracy", float(vacc[i]), step=step)
                    val[i] = float(vloss[i])
    return [v if ok else None for v, ok in zip(val, alive, strict=True)]


def main() -> None:
    grid = list(itertools.product(LEARNING_RATES, L2, BATCH_SIZES, SEEDS))
    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="grid-search")
    with exp.start_logging(display_name="sweep lr x l2 x batch x seed") as parent:
        parent.add_properties({"author": "studio-demo", "grid": "lr x l2 x batch_size x seed"})
        parent.tag("sweep", "grid")
        configs = [f"lr={lr} l2={l2} bs={bs}" for lr, l2, bs, _ in grid]
        children = parent.create_children(tag_key="config", tag_values=configs)
        for child, (lr, l2, bs, seed) in zip(children, grid, strict=True):
            child.display_name = f"lr={lr} l2={l2} bs={bs} s{seed}"
            child.add_properties({"lr": lr, "l2": l2, "batch_size": bs, "seed": seed})
        results = {}
        for bs in BATCH_SIZES:
            picked = [i for i, g in enumerate(grid) if g[2] == bs]
            losses = train([children[i] for i in picked], [grid[i] for i in picked])
            for i, loss in zip(picked, losses, strict=True):
                if loss is None:
                    children[i].fail(
                        error_details=f"loss diverged with lr={grid[i][0]}; lower the learning rate"
                    )
                else:
                    results[grid[i]] = loss
                    children[i].complete()
        best = min(results, key=results.get)
        parent.log("best_val_loss", results[best])
        parent.tag("best", f"lr={best[0]} l2={best[1]} bs={best[2]}")
    failed = len(grid) - len(results)
    print(f"{parent.id}: {parent.get_status()}, {len(grid)} children, {failed} diverged")


if __name__ == "__main__":
    main()
