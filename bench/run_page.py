"""Run page benchmark: server time for a 1,000,000-point metric chart (the JSON the
chart fetches: reduce, build the plotly figure, encode) and for the last 64 KB of a
1 GB log, on SQLite and on PostgreSQL. Also the metrics tab with that series
embedded, a line read from the middle of the log, and a search of the whole log.

    .venv/bin/python bench/run_page.py [--postgres URL | --no-postgres] [--points N] [--log-mb N]

Server time is measured in-process: the view called through Django's test client
(access check, session, selector, figure, JSON), and the parts alone. No HTTP.
"""

from __future__ import annotations

import inspect
import json
import statistics
import sys
from time import perf_counter, time

import harness

CHART_TARGET_MS = 100.0
TAIL_TARGET_MS = 20.0
REPEAT = 11
DATABASE = "studio_bench_run_page"


def add_arguments(parser) -> None:
    parser.add_argument("--points", type=int, default=1_000_000, help="points in the series")
    parser.add_argument("--log-mb", type=int, default=1024, help="size of the log in MB")


# --- child: measure -----------------------------------------------------------------


def _median_ms(call, repeat: int = REPEAT):
    result = call()  # warm: connection, query compilation, page cache
    seconds = []
    for _ in range(repeat):
        started = perf_counter()
        result = call()
        seconds.append(perf_counter() - started)
    return statistics.median(seconds) * 1e3, result


def _store_series(run, count: int) -> None:
    import numpy as np

    from studio.tracking import services

    rng = np.random.default_rng(0)
    steps = np.arange(count, dtype=np.int64)
    values = 2.0 * np.exp(-steps / (count / 5)) + 0.05 * rng.standard_normal(count)
    values[int(count * 0.654321)] = 100.0
    times = time() + steps * 1e-3
    for i, lo in enumerate(range(0, count, 100_000)):
        services.metric_log_batch(
            run=run,
            batch_id=f"page-{i}",
            series=[{"name": "loss", "steps": steps[lo : lo + 100_000],
                     "values": values[lo : lo + 100_000], "times": times[lo : lo + 100_000]}],
        )  # fmt: skip


def _write_log(run, megabytes: int):
    """A real log of ``megabytes`` MB (training lines, one ERROR near the end), written
    at the storage path of the run's ``logs/std_log.txt`` as the supervisor writes it."""
    import io
    from pathlib import Path

    from studio.tracking import services, storage

    run_file = services.run_file_upload(run=run, name="logs/std_log.txt", content=io.BytesIO(b""))
    path = Path(storage.files_storage().path(run_file.storage_key))
    block = b"".join(
        b"epoch %06d step %09d: loss=0.%06d lr=0.000100 \x1b[32mok\x1b[0m\n" % (i % 1000, i, i)
        for i in range(16_384)
    )
    target = megabytes * 1024 * 1024
    written = 0
    with open(path, "wb") as f:
        while written < target:
            if target - written <= len(block):
                f.write(b"ERROR: CUDA out of memory at step 123456789\n")
            f.write(block)
            written += len(block)
    return run_file, path.stat().st_size


def child(args) -> None:
    backend = harness.setup_child()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from studio.accounts.models import Membership, Role
    from studio.tracking import selectors, services
    from studio.web import charts, run_files
    from studio.web.views.run_page import CHART_POINTS, _metric_figure

    workspace = services.workspace_get_or_create(name="default")
    experiment = services.experiment_get_or_create(workspace=workspace, name="bench-page")
    run = services.run_create(experiment=experiment, submitted_by="bench")
    user = get_user_model().objects.create_user(username="bench", password="bench-pw-0")
    Membership.objects.create(user=user, workspace=workspace, role=Role.READER)
    client = Client()
    client.force_login(user)

    _store_series(run, args.points)
    figures: dict = {"points": args.points}

    options = charts.ChartOptions()
    figures["selector_ms"], data = _median_ms(
        lambda: selectors.metric_chart_data(run=run, name="loss", max_points=CHART_POINTS)
    )
    figures["buckets"] = len(data["min"]) if data["reduced"] else len(data["steps"])
    figures["figure_ms"], _ = _median_ms(
        lambda: json.dumps(_metric_figure(run, "loss", options), allow_nan=False)
    )
    url = f"/runs/{run.run_id}/chart/?name=loss"
    figures["chart_view_ms"], response = _median_ms(lambda: client.get(url))
    assert response.status_code == 200, response.content[:500]
    figures["chart_bytes"] = len(response.content)
    body = response.json()
    figures["chart_peak"] = max(v for v in body["data"][0]["y"] if v is not None)
    lo, hi = int(args.points * 0.65), int(args.points * 0.66)
    figures["zoom_view_ms"], zoom = _median_ms(lambda: client.get(f"{url}&lo={lo}&hi={hi}"))
    figures["zoom_reduced"] = zoom.json()["reduced"]
    figures["metrics_tab_ms"], page = _median_ms(
        lambda: client.get(f"/runs/{run.run_id}/?tab=metrics"), 5
    )
    assert page.status_code == 200

    started = perf_counter()
    run_file, size = _write_log(run, args.log_mb)
    figures["log_write_s"] = perf_counter() - started
    figures["log_bytes"] = size
    figures["tail_read_ms"], tail = _median_ms(
        lambda: run_files.read_log(run_file, mode="tail", limit=64 * 1024)
    )
    figures["tail_text_bytes"] = len(tail["text"].encode())
    figures["tail_ok"] = tail["end"] == size and tail["text"].endswith("\n")
    log_url = f"/runs/{run.run_id}/log/?name=logs/std_log.txt"
    figures["tail_view_ms"], _ = _median_ms(lambda: client.get(log_url))
    figures["middle_view_ms"], _ = _median_ms(lambda: client.get(f"{log_url}&offset={size // 2}"))
    search_url = f"/runs/{run.run_id}/log/search/?name=logs/std_log.txt&q=cuda+out+of+memory"

    def search_all():
        offset, found, calls = 0, [], 0
        while offset is not None:
            page = client.get(f"{search_url}&offset={offset}").json()
            found += page["matches"]
            offset = page["next_offset"]
            calls += 1
        return found, calls

    figures["search_ms"], (found, calls) = _median_ms(search_all, 3)
    figures["search_found"] = len(found)
    figures["search_calls"] = calls
    figures["version"] = harness.backend_version()
    figures["backend"] = backend
    harness.write_results(args.child, figures)


# --- parent: print ------------------------------------------------------------------


def report(backend: str, r: dict) -> bool:
    n = harness.n
    line = harness.line
    line(backend, f"{r['version']}, {harness.machine()}")
    met = r["chart_view_ms"] <= CHART_TARGET_MS
    line(
        backend,
        f"chart data, {n(r['points'])}-point series -> {r['buckets']} min/max buckets: "
        f"{r['chart_view_ms']:.1f} ms server time for GET /runs/<id>/chart/ "
        f"({r['chart_bytes'] / 1024:.0f} KB JSON; selector {r['selector_ms']:.1f} ms, "
        f"selector + figure + JSON {r['figure_ms']:.1f} ms), median of {REPEAT}",
        f"target <= {CHART_TARGET_MS:g} ms: {'met' if met else 'MISSED'}",
    )
    line(backend, f"zoom to 1% of the steps: {r['zoom_view_ms']:.1f} ms "
                  f"({'reduced' if r['zoom_reduced'] else 'raw points'})")  # fmt: skip
    line(
        backend, f"metrics tab with that chart embedded: {r['metrics_tab_ms']:.1f} ms, median of 5"
    )
    peak_ok = r["chart_peak"] == 100.0
    line(backend, f"the chart keeps the series' peak 100.0 (shows {r['chart_peak']})",
         harness.verdict(peak_ok))  # fmt: skip
    met_tail = r["tail_read_ms"] <= TAIL_TARGET_MS
    line(
        backend,
        f"log of {r['log_bytes'] / 1024**3:.2f} GB (written in {r['log_write_s']:.1f} s): "
        f"last 64 KB read in {r['tail_read_ms']:.2f} ms (read_log: a range read, whole "
        f"lines, ANSI stripped), median of {REPEAT}",
        f"target <= {TAIL_TARGET_MS:g} ms: {'met' if met_tail else 'MISSED'}",
    )
    line(backend, f"GET /runs/<id>/log/ (tail): {r['tail_view_ms']:.2f} ms; from the middle "
                  f"of the log: {r['middle_view_ms']:.2f} ms")  # fmt: skip
    line(
        backend,
        f"search of the whole log: {r['search_ms'] / 1e3:.2f} s in {r['search_calls']} calls "
        f"of <= 256 MB ({r['log_bytes'] / 1024**2 / (r['search_ms'] / 1e3):.0f} MB/s), "
        f"{r['search_found']} match",
        harness.verdict(r["search_found"] == 1),
    )
    tail_ok = r["tail_ok"] and r["tail_text_bytes"] <= 64 * 1024
    line(
        backend,
        "the tail ends at the end of the log, whole lines, <= 64 KB",
        harness.verdict(tail_ok),
    )
    return peak_ok and tail_ok and r["search_found"] == 1


def main() -> int:
    args = harness.parse_args(__doc__.splitlines()[0], add_arguments)
    if args.child:
        child(args)
        return 0
    argv = ["--points", str(args.points), "--log-mb", str(args.log_mb)]
    extra = {}
    if "database" in inspect.signature(harness.run_backends).parameters:
        extra["database"] = DATABASE  # its own PostgreSQL database, beside other benches
    return harness.run_backends(__file__, args, argv, report, **extra)


if __name__ == "__main__":
    sys.exit(main())
