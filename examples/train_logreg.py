"""Train a logistic regression with numpy and track it with Studio.

    STUDIO_HOME=/tmp/studio-demo .venv/bin/python examples/train_logreg.py --lr 0.1

Logs loss and accuracy per epoch (``run.log``), the learned weights
(``run.log_list``), per-class scores (``run.log_row``), immutable properties for
the audit record and tags for people. The ``with`` block completes the run on exit
and fails it if the training raises.
"""

from __future__ import annotations

import argparse

import numpy as np

from studio.sdk import Experiment, Workspace


def make_data(seed: int, n: int = 800, d: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping Gaussian blobs: separable enough to learn, not perfectly."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    centers = np.where(y[:, None] == 1, 0.5, -0.5)
    x = rng.normal(centers, 1.0, (n, d))
    return x, y


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    x, y = make_data(args.seed)
    split = int(0.8 * len(y))
    x_train, y_train, x_val, y_val = x[:split], y[:split], x[split:], y[split:]

    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="logreg")
    with exp.start_logging(display_name=f"logreg lr={args.lr}") as run:
        run.add_properties(
            {"author": "studio-demo", "dataset": f"synthetic-blobs seed={args.seed} n={len(y)}"}
        )
        run.tag("model", "logistic-regression")
        run.tag("lr", str(args.lr))
        run.log("learning_rate", args.lr)

        # A random start, as a real model has: the first epochs visibly learn.
        w, b = np.random.default_rng(args.seed).normal(0.0, 1.0, x.shape[1]), 0.0
        for _ in range(args.epochs):
            p = sigmoid(x_train @ w + b)
            w -= args.lr * x_train.T @ (p - y_train) / len(y_train)
            b -= args.lr * float(np.mean(p - y_train))
            p = np.clip(sigmoid(x_train @ w + b), 1e-12, 1 - 1e-12)
            loss = -np.mean(y_train * np.log(p) + (1 - y_train) * np.log(1 - p))
            run.log("loss", float(loss))
            run.log("accuracy", float(np.mean((p > 0.5) == y_train)))

        predicted = sigmoid(x_val @ w + b) > 0.5
        val_accuracy = float(np.mean(predicted == y_val))
        run.log("val_accuracy", val_accuracy)
        run.log_list("weights", [round(float(v), 4) for v in w])
        for cls in (0, 1):
            hits = np.sum(predicted[y_val == cls] == cls)
            run.log_row(
                "per_class",
                cls=cls,
                recall=float(hits / max(1, np.sum(y_val == cls))),
                support=int(np.sum(y_val == cls)),
            )
        run.tag("quality", "great run" if val_accuracy > 0.8 else "needs work")
        run.description = (
            f"Baseline **logistic regression** on synthetic blobs: "
            f"{val_accuracy:.1%} validation accuracy after {args.epochs} epochs."
        )
    print(f"{run.id}: {run.get_status()}, val_accuracy={val_accuracy:.3f}")


if __name__ == "__main__":
    main()
