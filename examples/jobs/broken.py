"""A submitted script that fails: it reads a column its data does not have, so
Python prints a traceback on stderr and exits with 1. The run ends Failed, and its
page shows the exit code and the end of stderr."""

from __future__ import annotations

import sys

import numpy as np

from studio.sdk import Run


def load(columns: list[str]) -> dict[str, np.ndarray]:
    data = {"age": np.arange(10.0), "income": np.linspace(1.0, 2.0, 10)}
    return {name: data[name] for name in columns}


def main() -> None:
    run = Run.get_context()
    print("loading features: age, income, tenure", flush=True)
    run.log("rows", 10)
    print("warning: 'tenure' is not in the extract of 2024-03", file=sys.stderr, flush=True)
    features = load(["age", "income", "tenure"])
    print(f"loaded {len(features)} features")


if __name__ == "__main__":
    main()
