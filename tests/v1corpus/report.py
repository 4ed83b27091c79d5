"""The corpus table: per item and mode, whether it passes or its first failing cell,
and the share of notebook cells that ran, per mode (issue 10's figure).

    python tests/v1corpus/report.py              # runs the corpus tests, then prints
    python tests/v1corpus/report.py RESULTS      # prints a results file a run wrote

The corpus tests append one JSON line per item and mode to ``results_path()``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
MODES = ("in-process", "http")


def results_path() -> str:
    if os.environ.get("V1CORPUS_RESULTS"):
        return os.environ["V1CORPUS_RESULTS"]
    figures = os.environ.get("STUDIO_TEST_FIGURES") or os.path.join(tempfile.gettempdir(), "x")
    return os.path.join(os.path.dirname(figures), "v1corpus.jsonl")


def load(path: str) -> dict[tuple[str, str], dict]:
    rows = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                rows[(row["item"], row["mode"])] = row  # the last run of an item wins
    return rows


def _cell_text(row: dict) -> str:
    cells = row["cells"]
    ok = sum(c["status"] == "ok" for c in cells)
    failed = next((c for c in cells if c["status"] == "failed"), None)
    if failed is None:
        return f"passes ({ok}/{len(cells)} cells)"
    where = failed["line"] or failed["first_line"]
    return f"cell {failed['number']} `{where}`: {failed['error']} ({ok}/{len(cells)})"


def summary_lines(path: str) -> list[str]:
    rows = load(path)
    items = sorted({item for item, _ in rows})
    lines = []
    for mode in MODES:
        mine = [rows[(i, mode)] for i in items if (i, mode) in rows]
        if not mine:
            continue
        passed = sum(all(c["status"] == "ok" for c in r["cells"]) for r in mine)
        cells = [c for r in mine for c in r["cells"]]
        ok = sum(c["status"] == "ok" for c in cells)
        lines.append(
            f"v1 corpus {mode}: {passed} of {len(mine)} pass; "
            f"{100 * ok / max(len(cells), 1):.0f} % of cells run ({ok} of {len(cells)})"
        )
    return lines


def table(path: str) -> str:
    rows = load(path)
    items = sorted({item for item, _ in rows})
    out = ["| item | " + " | ".join(MODES) + " |", "|---|" + "---|" * len(MODES)]
    for item in items:
        cells = [_cell_text(rows[(item, m)]) if (item, m) in rows else "-" for m in MODES]
        out.append(f"| {item} | " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join([*out, "", *summary_lines(path)])


def main(argv: list[str]) -> int:
    if argv:
        print(table(argv[0]))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "v1corpus.jsonl")
        env = {**os.environ, "V1CORPUS_RESULTS": path, "PYTHONPATH": str(ROOT)}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-n",
                "0",
                "-m",
                "v1corpus",
                "-p",
                "no:cacheprovider",
                str(ROOT / "tests" / "v1corpus"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        if not os.path.exists(path):
            print("the corpus tests wrote no results", file=sys.stderr)
            return 1
        print(table(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
