"""Workspace benchmark: the runs list with its panel grid, at 100 runs x 5 metrics x
10,000 steps and at 1,000 runs, on SQLite and on PostgreSQL: response bytes and
server time of the page and of the chart series (/charts/series/), and the time to
the first panel drawn in Chromium (Playwright) through a real server.

    .venv/bin/python bench/workspace.py [--postgres URL | --no-postgres]
                                        [--runs N] [--big N] [--steps N] [--no-browser]

Seed: ``--runs`` runs (default 1,000) in one experiment, each logging 5 metrics
through ``services.metric_log_batch``: the ``--big`` first (100) log ``--steps``
(10,000) steps of each, the others 1,000. Properties ``lr`` (5 values) and ``seed``.

Server time is the whole request through Django's test client, signed in (median of
7 after one warm-up). The browser figure starts gunicorn (2 gthread workers, as
``studio server``; static files through WhiteNoise, uncompressed), signs in, and
measures from navigation start to ``performance.mark("studio:first-panel")``, which
charts.js sets when the first panel is drawn: once with an empty cache (plotly.js,
4.8 MB, fetched) and the median of 5 with it cached. Targets (issue 14): the series
of 100 runs x 5 metrics x 10,000 steps <= 200 KB; first panel <= 1 s.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from time import perf_counter

import harness

METRICS = ["loss", "val_loss", "acc", "val_acc", "lr_sched"]
REPEAT = 7
BYTES_TARGET = 200_000
FIRST_PANEL_TARGET_MS = 1000.0
USER, PASSWORD = "bench", "bench-pass-1"
T0 = 1_750_000_000.0


def add_arguments(parser) -> None:
    parser.add_argument("--runs", type=int, default=1_000, help="runs in the workspace")
    parser.add_argument("--big", type=int, default=100, help="runs with --steps steps")
    parser.add_argument("--steps", type=int, default=10_000, help="steps of the big runs")
    parser.add_argument("--no-browser", action="store_true", help="server figures only")


# --- child: seed and measure ------------------------------------------------------------


def _curves(rng, steps: int, k: int):
    import numpy as np

    x = np.arange(steps)
    decay = np.exp(-x / (steps / (3 + k)))
    noise = rng.normal(0, 0.02, steps)
    return [
        decay + noise,  # loss
        decay * 1.1 + noise * 1.5 + 0.05,  # val_loss
        1 - decay * 0.9 + noise,  # acc
        1 - decay + noise * 1.5,  # val_acc
        0.1 * (1 + np.cos(np.pi * x / steps)) / 2,  # lr schedule
    ]


def _seed(count: int, big: int, steps: int) -> tuple[float, int]:
    """(seconds, points) for ``count`` runs: the first ``big`` (newest, listed first)
    with ``steps`` steps per metric, the rest with 1,000."""
    import numpy as np

    from studio.tracking import services

    rng = np.random.default_rng(14)
    workspace = services.workspace_get_or_create(name="default")
    experiment = services.experiment_get_or_create(workspace=workspace, name="sweep")
    started, points = perf_counter(), 0
    for i in range(count):
        n = steps if i >= count - big else 1_000  # the newest are the big ones
        run = services.run_create(
            experiment=experiment,
            submitted_by="bench",
            display_name=f"trial {i}",
            properties={"lr": str([0.1, 0.03, 0.01, 0.003, 0.001][i % 5]), "seed": str(i // 5)},
        )
        x = np.arange(n, dtype=np.int64)
        series = [
            {"name": name, "steps": x, "values": values, "times": T0 + x.astype(np.float64)}
            for name, values in zip(METRICS, _curves(rng, n, i % 5), strict=True)
        ]
        services.metric_log_batch(run=run, batch_id=f"seed-{i}", series=series)
        services.run_complete(run=run)
        points += n * len(METRICS)
    if _vendor() == "postgresql":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return perf_counter() - started, points


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


def _timed(call) -> tuple[float, object]:
    call()  # warm
    seconds, response = [], None
    for _ in range(REPEAT):
        started = perf_counter()
        response = call()
        seconds.append(perf_counter() - started)
    return statistics.median(seconds) * 1e3, response


def _page(client, url: str) -> dict:
    ms, response = _timed(lambda: client.get(url))
    assert response.status_code == 200, (url, response.status_code)
    return {"ms": ms, "bytes": len(response.content)}


def _series(client, run_ids: list[str], metrics: list[str]) -> dict:
    import json

    from studio.web import series

    body = {"runs": ",".join(run_ids), "metric": metrics}
    ms, response = _timed(lambda: client.post("/charts/series/", body))
    assert response.status_code == 200, response.content[:200]
    payload = json.loads(response.content)
    # Checks: every (run, metric) came back, no NaN, each series's peak is kept
    # (its highest high is the stored max of that metric: MetricSummary).
    highs = {
        (payload["runs"][s["r"]]["id"], payload["metrics"][s["m"]]): max(
            v for v in (series.highs(s) if "w" in s else series.decode(s["lo"])) if v is not None
        )
        for s in payload["series"]
    }
    return {
        "ms": ms,
        "bytes": len(response.content),
        "series": len(payload["series"]),
        "expected": len(run_ids) * len(metrics),
        "nan_free": b"NaN" not in response.content,
        "peaks_kept": _peaks_kept(highs),
    }


def _peaks_kept(highs: dict) -> bool:
    from studio.tracking.models import MetricSummary

    stored = {
        (run_id, name): value
        for run_id, name, value in MetricSummary.objects.filter(
            run__run_id__in={k[0] for k in highs}, name__in=METRICS
        ).values_list("run__run_id", "name", "max_value")
    }
    # On the 1-2-5 grid of at most 1,000 steps over the span: within a step.
    return all(abs(highs[k] - stored[k]) <= abs(stored[k]) * 0.01 + 0.01 for k in highs)


def _refused(client, count: int) -> dict:
    ids = ",".join(f"run-{i}" for i in range(count))
    started = perf_counter()
    response = client.post("/charts/series/", {"runs": ids, "metric": "loss"})
    return {"ms": (perf_counter() - started) * 1e3, "status": response.status_code}


def _newest(count: int) -> list[str]:
    from studio.tracking.models import Run

    return list(Run.objects.order_by("-created_at", "-id").values_list("run_id", flat=True)[:count])


def child(args) -> None:
    backend = harness.setup_child()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from studio.accounts.models import Role
    from studio.accounts.services import membership_add
    from studio.tracking import services

    seed_s, points = _seed(args.runs, args.big, args.steps)
    user = get_user_model().objects.create_user(username=USER, password=PASSWORD)
    membership_add(
        user=user, workspace=services.workspace_get_or_create(name="default"), role=Role.OWNER
    )
    client = Client()
    client.force_login(user)
    panels = "&".join(f"panel={m}" for m in METRICS)
    results = {
        "backend": backend,
        "version": harness.backend_version(),
        "runs": args.runs,
        "big": args.big,
        "steps": args.steps,
        "seed_s": seed_s,
        "points": points,
        "page_100": _page(client, f"/runs/?all=1&top={args.big}&{panels}"),
        "series_100": _series(client, _newest(args.big), METRICS),
        "page_1000": _page(client, f"/runs/?all=1&top=200&{panels}"),
        "series_200": _series(client, _newest(200), METRICS),
        "page_default": _page(client, "/runs/?all=1"),
        "refused": _refused(client, args.runs * 10),
    }
    if not args.no_browser:
        results["browser"] = _browser(
            {
                f"{args.big} runs x {len(METRICS)} metrics x {args.steps:,} steps": (
                    f"/runs/?all=1&top={args.big}&{panels}"
                ),
                f"{args.runs:,} runs, top 200 charted": f"/runs/?all=1&top=200&{panels}",
                f"{args.runs:,} runs, default (top 20, 4 panels)": "/runs/?all=1",
            }
        )
    harness.write_results(args.child, results)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _browser(pages: dict[str, str]) -> dict:
    """Time to the first panel per page, through gunicorn and Chromium."""
    import httpx
    from playwright.sync_api import sync_playwright

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(os.environ["STUDIO_HOME"]) / "gunicorn.log"
    argv = [
        sys.executable, "-m", "gunicorn", "studio.wsgi:application", "--bind",
        f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "--worker-class", "gthread",
        "--timeout", "120",
    ]  # fmt: skip
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(1500):
            try:
                if httpx.get(f"{base}/accounts/login/", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.02)
        out = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--headless", "--no-sandbox", "--disable-gpu"],
            )
            for label, path in pages.items():
                out[label] = _first_panel(browser, base, path)
            browser.close()
        return out
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _first_panel(browser, base: str, path: str) -> dict:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", USER)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Runs")
    times = []
    for _ in range(6):  # the first with an empty cache, then cached
        page.goto(f"{base}{path}", wait_until="commit")
        page.wait_for_function(
            "() => performance.getEntriesByName('studio:first-panel').length > 0", timeout=60_000
        )
        times.append(page.evaluate(TIMINGS))
    lines = page.evaluate(
        "Number(document.querySelector('[data-panel][data-drawn]').dataset.drawn)"
    )
    context.close()
    warm = sorted(times[1:], key=lambda t: t["panel"])[len(times[1:]) // 2]  # the median run
    return {"cold_ms": times[0]["panel"], "warm_ms": warm["panel"], "warm": warm,
            "lines": lines, "errors": errors}  # fmt: skip


# Milliseconds from navigation start: the page's HTML received, the scripts run
# (DOMContentLoaded), the series received, the first panel drawn.
TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const series = performance.getEntriesByType("resource").find((e) => e.name.includes("/charts/series/"));
  return {
    html: nav.responseEnd, scripts: nav.domContentLoadedEventEnd,
    series: series ? series.responseEnd : null,
    panel: performance.getEntriesByName("studio:first-panel")[0].startTime,
  };
}"""


# --- parent: print ------------------------------------------------------------------------


def report(backend: str, r: dict) -> bool:
    n = harness.n
    harness.line(
        backend,
        f"{r['version']}, {harness.machine()}; {n(r['runs'])} runs ({n(r['big'])} x "
        f"{len(METRICS)} metrics x {n(r['steps'])} steps, the rest x 1,000), "
        f"{n(r['points'])} points seeded in {r['seed_s']:.0f} s",
    )
    ok = True
    for key, label in (
        ("page_100", f"/runs/ with {r['big']} runs charted (HTML)"),
        ("page_1000", f"/runs/ of {n(r['runs'])} runs, top 200 charted (HTML)"),
        ("page_default", f"/runs/ of {n(r['runs'])} runs, default (HTML)"),
    ):
        page = r[key]
        harness.line(backend, f"{label}: {page['ms']:.0f} ms, {n(page['bytes'])} bytes")
    for key, label, target in (
        ("series_100", f"series of {r['big']} runs x {len(METRICS)} metrics x {n(r['steps'])} steps", True),
        ("series_200", f"series of the newest 200 runs x {len(METRICS)} metrics", False),
    ):  # fmt: skip
        s = r[key]
        checks = s["series"] == s["expected"] and s["nan_free"] and s["peaks_kept"]
        ok = ok and checks
        status = ""
        if target:
            met = s["bytes"] <= BYTES_TARGET
            status = f"target <= {BYTES_TARGET // 1000} KB: {'met' if met else 'MISSED'}"
        harness.line(
            backend,
            f"{label}: {s['ms']:.0f} ms server, {n(s['bytes'])} bytes; {s['series']} of "
            f"{s['expected']} series, no NaN, peaks kept: {verdict(checks)}",
            status,
        )
    refused = r["refused"]
    ok = ok and refused["status"] == 400
    harness.line(
        backend,
        f"series for {n(r['runs'] * 10)} runs: {refused['status']} in {refused['ms']:.0f} ms",
        verdict(refused["status"] == 400),
    )
    for label, b in r.get("browser", {}).items():
        met = b["warm_ms"] <= FIRST_PANEL_TARGET_MS
        ok = ok and not b["errors"]
        harness.line(
            backend,
            f"first panel in Chromium, {label}: {b['cold_ms']:.0f} ms with an empty cache, "
            f"{b['warm_ms']:.0f} ms cached (median of 5: HTML at {b['warm']['html']:.0f}, "
            f"series at {b['warm']['series']:.0f}, plotly.js and scripts run at "
            f"{b['warm']['scripts']:.0f}); {b['lines']} lines"
            + (f"; page errors: {b['errors']}" if b["errors"] else ""),
            f"target <= {FIRST_PANEL_TARGET_MS:.0f} ms: {'met' if met else 'MISSED'}",
        )
    return ok


def verdict(ok: bool) -> str:
    return "ok" if ok else "FAILED"


def main() -> int:
    args = harness.parse_args(
        __doc__.splitlines()[0], add_arguments, database="studio_bench_workspace"
    )
    if args.child:
        child(args)
        return 0
    argv = ["--runs", str(args.runs), "--big", str(args.big), "--steps", str(args.steps)]
    argv += ["--no-browser"] if args.no_browser else []
    return harness.run_backends(__file__, args, argv, report, database="studio_bench_workspace")


if __name__ == "__main__":
    sys.exit(main())
