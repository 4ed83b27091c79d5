"""Chart benchmark: server time to reduce a 1,000,000-point series for a chart
(``selectors.metric_chart_data``), overview and zoomed, and to read every point
(``selectors.metric_series``), on SQLite and on PostgreSQL. Checks that the reduced
data keeps the series' global peak and dip.

    .venv/bin/python bench/chart.py [--postgres URL | --no-postgres] [--points N]
"""

from __future__ import annotations

import statistics
import sys
from time import perf_counter, time

import harness

OVERVIEW_TARGET_MS = 100.0
MAX_POINTS = 2000
REPEAT = 11


def add_arguments(parser) -> None:
    parser.add_argument("--points", type=int, default=1_000_000, help="points in the series")


# --- child: measure -----------------------------------------------------------------


def _series(count: int):
    """A noisy decaying loss with one spike and one dip far outside its range,
    placed mid-bucket so that no bucket edge happens to keep them."""
    import numpy as np

    rng = np.random.default_rng(0)
    steps = np.arange(count, dtype=np.int64)
    values = 2.0 * np.exp(-steps / (count / 5)) + 0.05 * rng.standard_normal(count)
    spike_step, dip_step = int(count * 0.654321), int(count * 0.123457)
    spike = float(values.max()) + 100.0
    dip = float(values.min()) - 100.0
    values[spike_step], values[dip_step] = spike, dip
    times = time() + steps * 1e-3
    return steps, values, times, {"spike": (spike_step, spike), "dip": (dip_step, dip)}


def _store(count: int):
    from studio.tracking import services

    workspace = services.workspace_get_or_create(name="default")
    experiment = services.experiment_get_or_create(workspace=workspace, name="bench-chart")
    run = services.run_create(experiment=experiment, submitted_by="bench")
    steps, values, times, marks = _series(count)
    batch = 100_000
    for i, lo in enumerate(range(0, count, batch)):
        services.metric_log_batch(
            run=run,
            batch_id=f"chart-{i}",
            series=[
                {
                    "name": "loss",
                    "steps": steps[lo : lo + batch],
                    "values": values[lo : lo + batch],
                    "times": times[lo : lo + batch],
                }
            ],
        )
    return run, marks


def _median_ms(call, repeat: int) -> tuple[float, object]:
    result = call()  # warm: connection, query compilation, page cache
    seconds = []
    for _ in range(repeat):
        started = perf_counter()
        result = call()
        seconds.append(perf_counter() - started)
    return statistics.median(seconds) * 1e3, result


def _extremes(data: dict) -> dict:
    """Where the chart data puts its highest and lowest value: (value, step_lo, step_hi)."""
    import numpy as np

    if data["reduced"]:
        hi, lo = int(np.nanargmax(data["max"])), int(np.nanargmin(data["min"]))
        return {
            "max": (float(data["max"][hi]), float(data["step_lo"][hi]), float(data["step_hi"][hi])),
            "min": (float(data["min"][lo]), float(data["step_lo"][lo]), float(data["step_hi"][lo])),
            "rows": len(data["min"]),
        }
    values, steps = np.asarray(data["values"]), np.asarray(data["steps"])
    hi, lo = int(np.nanargmax(values)), int(np.nanargmin(values))
    return {
        "max": (float(values[hi]), float(steps[hi]), float(steps[hi])),
        "min": (float(values[lo]), float(steps[lo]), float(steps[lo])),
        "rows": len(values),
    }


def child(args) -> None:
    backend = harness.setup_child()
    from studio.tracking import selectors
    from studio.tracking.models import MetricChunk

    count = args.points
    run, marks = _store(count)
    spike_step = marks["spike"][0]
    # Zoom windows around the spike: 10% and 1% of the steps.
    windows = {
        "10%": (spike_step - count // 20, spike_step + count // 20 - 1),
        "1%": (spike_step - count // 200, spike_step + count // 200 - 1),
    }
    figures = []

    def chart(step_range=None):
        return selectors.metric_chart_data(
            run=run, name="loss", max_points=MAX_POINTS, step_range=step_range
        )

    ms, data = _median_ms(chart, REPEAT)
    figures.append({"what": "overview", "range": None, "ms": ms, **_extremes(data)})
    figures[-1]["reduced"] = data["reduced"]
    for label, window in windows.items():
        ms, data = _median_ms(lambda w=window: chart(w), REPEAT)
        figures.append({"what": f"zoom {label}", "range": window, "ms": ms, **_extremes(data)})
        figures[-1]["reduced"] = data["reduced"]
    ms, (steps, _, _) = _median_ms(lambda: selectors.metric_series(run=run, name="loss"), 5)
    results = {
        "backend": backend,
        "version": harness.backend_version(),
        "points": count,
        "chunks": MetricChunk.objects.filter(run=run, name="loss").count(),
        "marks": marks,
        "charts": figures,
        "series_ms": ms,
        "series_points": len(steps),
    }
    harness.write_results(args.child, results)


# --- parent: print ------------------------------------------------------------------


def _keeps(fig: dict, key: str, mark: tuple[int, float]) -> bool:
    value, lo, hi = fig[key]
    return value == mark[1] and lo <= mark[0] <= hi


def report(backend: str, r: dict) -> bool:
    n = harness.n
    harness.line(
        backend,
        f"{r['version']}, {harness.machine()}; series of {n(r['points'])} points "
        f"in {n(r['chunks'])} chunks",
    )
    ok = True
    spike, dip = r["marks"]["spike"], r["marks"]["dip"]
    for fig in r["charts"]:
        shape = f"{fig['rows']} min/max buckets" if fig["reduced"] else f"{fig['rows']} raw points"
        where = ""
        if fig["range"]:
            where = f" steps {n(fig['range'][0])}..{n(fig['range'][1])}"
        target = ""
        if fig["what"] == "overview":
            met = fig["ms"] <= OVERVIEW_TARGET_MS
            target = f"target <= {OVERVIEW_TARGET_MS:g} ms: {'met' if met else 'MISSED'}"
        harness.line(
            backend,
            f"metric_chart_data {fig['what']}{where} (max_points={MAX_POINTS}): "
            f"{fig['ms']:.1f} ms median of {REPEAT}, {shape}",
            target,
        )
    harness.line(
        backend,
        f"metric_series all {n(r['series_points'])} points: {r['series_ms']:.1f} ms median of 5",
        harness.verdict(r["series_points"] == r["points"]),
    )
    ok = r["series_points"] == r["points"]
    for fig in r["charts"]:
        # Every view here contains the spike; only the overview contains the dip.
        checks = [("max", spike, "peak")] + ([("min", dip, "dip")] if not fig["range"] else [])
        for key, mark, label in checks:
            kept = _keeps(fig, key, mark)
            harness.line(
                backend,
                f"{fig['what']} keeps the global {label} {mark[1]:+.3f} at step {n(mark[0])} "
                f"(shown {fig[key][0]:+.3f} in steps {n(fig[key][1])}..{n(fig[key][2])})",
                harness.verdict(kept),
            )
            ok = kept and ok
        rows_ok = fig["rows"] <= (MAX_POINTS // 2 if fig["reduced"] else MAX_POINTS)
        if not rows_ok:
            harness.line(backend, f"{fig['what']} returned {fig['rows']} rows", "FAILED")
            ok = False
    return ok


def main() -> int:
    args = harness.parse_args(__doc__.splitlines()[0], add_arguments)
    if args.child:
        child(args)
        return 0
    return harness.run_backends(__file__, args, ["--points", str(args.points)], report)


if __name__ == "__main__":
    sys.exit(main())
