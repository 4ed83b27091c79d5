"""A submitted training script (examples/submit_jobs.py sends it to the ``local``
target): it prints its progress (the run's live log), logs metrics, and writes
./outputs — a model file, a plot of its loss curve (PNG) and the curve as CSV —
which become the run's outputs when it ends. With ``--minutes N`` it trains slowly,
a line every 2 seconds, for N minutes: a live run to watch.
"""

from __future__ import annotations

import argparse
import csv
import struct
import time
import zlib
from pathlib import Path

import numpy as np

from studio.sdk import Run


def png(pixels: np.ndarray) -> bytes:
    """An RGB image (height x width x 3, uint8) as PNG bytes: no plotting library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def plot(losses: list[float], width: int = 480, height: int = 240) -> bytes:
    """The loss curve drawn on a light grid."""
    image = np.full((height, width, 3), 255, np.uint8)
    image[::40, :] = image[:, ::60] = (232, 235, 240)
    values = np.log(np.asarray(losses))
    low, high = float(values.min()), float(values.max())
    xs = np.linspace(8, width - 8, len(values))
    ys = height - 8 - (values - low) / ((high - low) or 1.0) * (height - 16)
    for x0, y0, x1, y1 in zip(xs, ys, xs[1:], ys[1:], strict=False):
        for t in np.linspace(0.0, 1.0, 12):
            x, y = int(x0 + t * (x1 - x0)), int(y0 + t * (y1 - y0))
            image[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2] = (47, 91, 211)
    return png(image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--minutes", type=float, default=0.0, help="train slowly this long")
    args = parser.parse_args()

    run = Run.get_context()
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 1000)
    x = rng.normal(np.where(y[:, None] == 1, 0.4, -0.4), 1.0, (1000, 8))
    w, b = np.zeros(x.shape[1]), 0.0
    print(f"training a logistic regression on {len(y)} samples, lr={args.lr}", flush=True)
    deadline = time.monotonic() + 60 * args.minutes
    losses: list[float] = []
    epoch = 0
    while epoch < args.epochs or time.monotonic() < deadline:
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        w -= args.lr * x.T @ (p - y) / len(y)
        b -= args.lr * float(np.mean(p - y))
        q = np.clip(p, 1e-12, 1 - 1e-12)
        loss = float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))
        accuracy = float(np.mean((p > 0.5) == y))
        losses.append(loss)
        run.log("loss", loss)
        run.log("accuracy", accuracy)
        print(f"epoch {epoch:4d}  loss {loss:.4f}  accuracy {accuracy:.3f}", flush=True)
        epoch += 1
        if args.minutes:
            time.sleep(2)
    outputs = Path("outputs")
    outputs.mkdir(exist_ok=True)
    np.savez(outputs / "model.npz", weights=w, bias=np.array([b]))
    (outputs / "plot.png").write_bytes(plot(losses))
    with open(outputs / "metrics.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "loss"])
        writer.writerows(enumerate(losses))
    print(f"done: final loss {losses[-1]:.4f}; wrote outputs/model.npz, plot.png, metrics.csv")


if __name__ == "__main__":
    main()
