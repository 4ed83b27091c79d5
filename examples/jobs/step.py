"""One step of the demo pipeline (examples/submit_jobs.py): it prints what it does,
logs a metric per tick and writes a small file to ./outputs. ``--seconds`` is how
long it works (a tick a second)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from studio.sdk import Run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", required=True)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    run = Run.get_context()
    print(f"{args.step}: starting", flush=True)
    started, tick, value = time.monotonic(), 0, 1.0
    while time.monotonic() - started < args.seconds:
        value *= 0.97
        run.log("progress_loss", value)
        print(f"{args.step}: tick {tick} loss {value:.4f}", flush=True)
        tick += 1
        time.sleep(1)
    Path("outputs").mkdir(exist_ok=True)
    Path("outputs", f"{args.step}.json").write_text(json.dumps({"step": args.step, "ticks": tick}))
    print(f"{args.step}: done after {tick} ticks", flush=True)


if __name__ == "__main__":
    main()
