"""Figures that tests measure (lost points, double claims, time to Canceled, ...):
appended to one file shared by every xdist worker and printed as one line each in
pytest's terminal summary, so CI shows them whatever captured the test's output."""

import os


def report(line: str) -> None:
    with open(os.environ["STUDIO_TEST_FIGURES"], "a") as f:
        f.write(line.strip() + "\n")


def collected() -> list[str]:
    path = os.environ.get("STUDIO_TEST_FIGURES")
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n") for line in f if line.strip()]
