"""Ingest benchmark: how fast points get into the database, through the SDK
(``run.log()`` then ``run.flush()``) and through ``services.metric_log_batch``
directly, on SQLite and on PostgreSQL. Each figure is followed by a check that every
point sent is stored, once, in order.

    .venv/bin/python bench/ingest.py [--postgres URL | --no-postgres] [--points N]
"""

from __future__ import annotations

import sys
import uuid
from time import perf_counter, time

import harness

SDK_POINTS_TARGET = 500_000  # points/s into SQLite through the SDK
LOG_CALL_TARGET_US = 5.0  # cost of one run.log() to the training loop


def add_arguments(parser) -> None:
    parser.add_argument("--points", type=int, default=1_000_000, help="points per run")
    parser.add_argument(
        "--batch", type=int, default=10_000, help="points per metric_log_batch call"
    )
    parser.add_argument("--no-multi", action="store_true", help="skip the 10-metric variant")


# --- child: measure -----------------------------------------------------------------


def _values(count: int) -> list[float]:
    import numpy as np

    return np.random.default_rng(0).standard_normal(count).tolist()


def _check(run, names: list[str], values: list[float]) -> dict:
    """Stored points per metric against what was sent: count, steps and values."""
    import numpy as np

    from studio.tracking import selectors

    sent = len(names) * len(values)
    stored, intact = 0, True
    expected = np.array(values)
    for name in names:
        steps, got, _ = selectors.metric_series(run=run, name=name)
        stored += len(steps)
        intact = (
            intact
            and np.array_equal(steps, np.arange(len(values)))
            and np.array_equal(got, expected)
        )
    return {"sent": sent, "stored": stored, "intact": bool(intact)}


def bench_sdk(names: list[str], per_metric: int) -> dict:
    from studio.sdk import Experiment, Workspace
    from studio.tracking import selectors

    ws = Workspace.from_config()
    run = Experiment(workspace=ws, name="bench-ingest").start_logging()
    values = _values(per_metric)
    log = run.log
    started = perf_counter()
    if len(names) == 1:
        name = names[0]
        for v in values:
            log(name, v)
    else:
        for v in values:
            for name in names:
                log(name, v)
    logged = perf_counter()
    run.flush()
    flushed = perf_counter()
    points = len(names) * per_metric
    result = {
        "points": points,
        "seconds": flushed - started,
        "loop_seconds": logged - started,
        "flush_seconds": flushed - logged,
        "points_per_s": points / (flushed - started),
        "log_call_us": (logged - started) / points * 1e6,
    }
    result.update(_check(selectors.run_get(run_id=run.id), names, values))
    run.complete()
    return result


def bench_service(names: list[str], per_metric: int, batch: int) -> dict:
    from studio.tracking import services

    workspace = services.workspace_get_or_create(name="default")
    experiment = services.experiment_get_or_create(workspace=workspace, name="bench-ingest")
    run = services.run_create(experiment=experiment, submitted_by="bench")
    values = _values(per_metric)
    steps = list(range(per_metric))
    start = time()
    times = [start + i * 1e-3 for i in range(per_metric)]
    # Plain lists, as the SDK and the JSON API hand them over; batches built up front.
    per_batch = max(1, batch // len(names))
    batches = [
        (
            uuid.uuid4().hex,
            [
                {
                    "name": name,
                    "steps": steps[lo : lo + per_batch],
                    "values": values[lo : lo + per_batch],
                    "times": times[lo : lo + per_batch],
                }
                for name in names
            ],
        )
        for lo in range(0, per_metric, per_batch)
    ]
    started = perf_counter()
    for batch_id, series in batches:
        services.metric_log_batch(run=run, batch_id=batch_id, series=series)
    seconds = perf_counter() - started
    points = len(names) * per_metric
    # A retry of a batch that was stored must be recognised and store nothing.
    retry = services.metric_log_batch(run=run, batch_id=batches[0][0], series=batches[0][1])
    result = {
        "points": points,
        "batch": per_batch * len(names),
        "batches": len(batches),
        "seconds": seconds,
        "points_per_s": points / seconds,
        "retry_skipped": retry["duplicate"] and retry["stored"] == 0,
    }
    result.update(_check(run, names, values))
    return result


def child(args) -> None:
    backend = harness.setup_child()
    variants = [("1 metric", ["loss"], args.points)]
    if not args.no_multi:
        variants.append(("10 metrics", [f"metric_{i}" for i in range(10)], args.points // 10))
    results = {"backend": backend, "version": harness.backend_version(), "runs": []}
    for label, names, per_metric in variants:
        results["runs"].append(
            {
                "label": f"{label} x {harness.n(per_metric)}",
                "sdk": bench_sdk(names, per_metric),
                "service": bench_service(names, per_metric, args.batch),
            }
        )
    harness.write_results(args.child, results)


# --- parent: print ------------------------------------------------------------------


def report(backend: str, results: dict) -> bool:
    harness.line(backend, f"{results['version']}, {harness.machine()}")
    ok = True
    for run in results["runs"]:
        sdk, svc = run["sdk"], run["service"]
        what = f"sdk     {run['label']}"
        target = ""
        if backend == "sqlite":
            met = sdk["points_per_s"] >= SDK_POINTS_TARGET
            target = f"target >= {harness.n(SDK_POINTS_TARGET)}: {'met' if met else 'MISSED'}"
        harness.line(
            backend,
            f"{what}: {harness.n(sdk['points_per_s'])} points/s through run.log() + flush() "
            f"({sdk['seconds']:.2f} s)",
            target,
        )
        met = sdk["log_call_us"] <= LOG_CALL_TARGET_US
        harness.line(
            backend,
            f"{what}: run.log() costs the caller {sdk['log_call_us']:.2f} µs per call "
            f"(loop {sdk['loop_seconds']:.2f} s, then flush {sdk['flush_seconds']:.2f} s)",
            f"target <= {LOG_CALL_TARGET_US:g} µs: {'met' if met else 'MISSED'}",
        )
        ok = harness.stored_line(backend, what, sdk) and ok
        what = f"service {run['label']}"
        harness.line(
            backend,
            f"{what}: {harness.n(svc['points_per_s'])} points/s through metric_log_batch, "
            f"{harness.n(svc['batches'])} batches of {harness.n(svc['batch'])} "
            f"({svc['seconds']:.2f} s)",
        )
        retried = ", retried batch skipped" if svc["retry_skipped"] else ", retried batch STORED"
        ok = harness.stored_line(backend, what, svc, retried) and svc["retry_skipped"] and ok
    return ok


def main() -> int:
    args = harness.parse_args(__doc__.splitlines()[0], add_arguments)
    if args.child:
        child(args)
        return 0
    argv = ["--points", str(args.points), "--batch", str(args.batch)]
    if args.no_multi:
        argv.append("--no-multi")
    return harness.run_backends(__file__, args, argv, report)


if __name__ == "__main__":
    sys.exit(main())
