"""API benchmark: metric points per second over HTTP through a real server process
(gunicorn, 2 sync workers, loopback), through the SDK's REST store and as raw
batched POSTs, and the latency of listing runs with 100,000 runs in the workspace,
through the API and through ``studio run list``; on SQLite and on PostgreSQL. Each
figure is followed by a check of what the server stored or answered.

    .venv/bin/python bench/api.py [--postgres URL | --no-postgres] [--points N]
        [--batch N] [--runs N] [--requests N] [--cli-calls N]
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from time import perf_counter

import harness

DATABASE = "studio_bench_api"
BATCHED_TARGET = 200_000  # points/s through the API with batching
INGEST_WORKSPACE = "ingest"  # metric runs live here, so "default" holds exactly --runs runs
LIST_WORKSPACE = "default"
PARENTS = 10
FILTER = "status = Completed"


def add_arguments(parser) -> None:
    parser.add_argument("--points", type=int, default=1_000_000, help="points per ingest run")
    parser.add_argument("--batch", type=int, default=50_000, help="points per raw POST")
    parser.add_argument("--runs", type=int, default=100_000, help="runs in the listed workspace")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per listing")
    parser.add_argument(
        "--cli-calls", type=int, default=50, help="timed in-process `studio run list` calls"
    )


# --- child: the server --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(secret: str):
    """``gunicorn studio.wsgi -w 2`` on a free loopback port, with this process's
    environment (STUDIO_HOME, DATABASE_URL); yields its base URL once it answers."""
    import httpx

    port = _free_port()
    log_path = Path(os.environ["STUDIO_HOME"]) / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "studio.wsgi",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                "120",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()}")
            try:
                r = httpx.get(
                    f"{base}/api/v1/workspaces/{LIST_WORKSPACE}",
                    headers={"Authorization": f"Bearer {secret}"},
                    timeout=5,
                )
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer in 60 s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        errors = [ln for ln in log_path.read_text().splitlines() if "Traceback" in ln]
        if errors:
            print(log_path.read_text(), file=sys.stderr)


def _account() -> str:
    """A user, contributor in both workspaces, and an API token; returns its secret."""
    from django.contrib.auth import get_user_model

    from studio.accounts import services as accounts
    from studio.tracking import services

    user = get_user_model().objects.create_user(username="bench-api", password=uuid.uuid4().hex)
    for name in (LIST_WORKSPACE, INGEST_WORKSPACE):
        workspace = services.workspace_get_or_create(name=name)
        accounts.membership_add(user=user, workspace=workspace, role="contributor")
    _, secret = accounts.token_create(user=user, name="bench")
    return secret


def _seed(total: int) -> dict:
    """``total`` runs in LIST_WORKSPACE: PARENTS top-level runs with the rest as their
    children (``run_create_children``, up to 10,000 per call), the children of every
    other parent marked Completed, the rest left Running."""
    from django.db import connection

    from studio.tracking import services
    from studio.tracking.models import Run, RunStatus

    started = perf_counter()
    workspace = services.workspace_get_or_create(name=LIST_WORKSPACE)
    experiment = services.experiment_get_or_create(workspace=workspace, name="sweep")
    per_parent = (total - PARENTS) // PARENTS
    extra = total - PARENTS - per_parent * PARENTS
    for p in range(PARENTS):
        parent = services.run_create(experiment=experiment, submitted_by="bench")
        count = per_parent + (1 if p < extra else 0)
        for lo in range(0, count, services.MAX_CHILDREN_PER_CALL):
            n = min(services.MAX_CHILDREN_PER_CALL, count - lo)
            services.run_create_children(parent=parent, submitted_by="bench", count=n)
        if p % 2 == 0:
            Run.objects.filter(parent=parent).update(status=RunStatus.COMPLETED)
    if connection.vendor == "postgresql":
        # What autovacuum does within a minute or so: without statistics on the fresh
        # rows the planner sorts all 100,000 runs for every page (~250 ms a request).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "seconds": perf_counter() - started,
        "runs": Run.objects.filter(workspace=workspace).count(),
        "completed": Run.objects.filter(workspace=workspace, status=RunStatus.COMPLETED).count(),
    }


# --- child: ingest ------------------------------------------------------------------


def _values(count: int) -> list[float]:
    import numpy as np

    return np.random.default_rng(0).standard_normal(count).tolist()


def _check(run_id: str, name: str, values: list[float]) -> dict:
    """Stored points against what was sent, read in-process from the database."""
    import numpy as np

    from studio.tracking import selectors

    steps, got, _ = selectors.metric_series(run=selectors.run_get(run_id=run_id), name=name)
    intact = np.array_equal(steps, np.arange(len(values))) and np.array_equal(got, np.array(values))
    return {"sent": len(values), "stored": len(steps), "intact": bool(intact)}


def bench_sdk(base: str, points: int) -> dict:
    from studio.sdk import Experiment, Workspace

    ws = Workspace(INGEST_WORKSPACE, tracking_uri=base)
    run = Experiment(workspace=ws, name="bench-api").start_logging()
    values = _values(points)
    log = run.log
    started = perf_counter()
    for v in values:
        log("loss", v)
    logged = perf_counter()
    run.flush()
    flushed = perf_counter()
    result = {
        "points": points,
        "seconds": flushed - started,
        "loop_seconds": logged - started,
        "flush_seconds": flushed - logged,
        "points_per_s": points / (flushed - started),
        "log_call_us": (logged - started) / points * 1e6,
    }
    result.update(_check(run.id, "loss", values))
    run.complete()
    return result


def bench_raw(base: str, secret: str, points: int, batch: int) -> dict:
    """POSTs of ``batch`` points each, bodies serialized before the clock starts (what
    is timed is the client sending, the server parsing, checking and storing)."""
    import httpx

    from studio.rules import jsoncodec

    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=120) as client:
        r = client.post(
            f"/workspaces/{INGEST_WORKSPACE}/runs", json={"experiment": "bench-api-raw"}
        )
        r.raise_for_status()
        run_id = r.json()["id"]
        values = _values(points)
        t0 = time.time()
        bodies = []
        for lo in range(0, points, batch):
            hi = min(points, lo + batch)
            body = {
                "batch_id": uuid.uuid4().hex,
                "series": [
                    {
                        "name": "loss",
                        "steps": list(range(lo, hi)),
                        "values": values[lo:hi],
                        "times": [t0 + i * 1e-3 for i in range(lo, hi)],
                    }
                ],
                "records": [],
            }
            bodies.append(jsoncodec.dumps(body).encode())
        post_headers = {"Content-Type": "application/json"}
        url = f"/runs/{run_id}/metrics"
        stored = 0
        started = perf_counter()
        for content in bodies:
            r = client.post(url, content=content, headers=post_headers)
            r.raise_for_status()
            stored += r.json()["stored"]
        seconds = perf_counter() - started
        retry = client.post(url, content=bodies[0], headers=post_headers).json()
        client.post(f"/runs/{run_id}/complete", json={}).raise_for_status()
    result = {
        "points": points,
        "batch": batch,
        "batches": len(bodies),
        "mb": sum(map(len, bodies)) / 1e6,
        "seconds": seconds,
        "points_per_s": points / seconds,
        "acknowledged": stored,
        "retry_skipped": retry.get("duplicate") is True and retry.get("stored") == 0,
    }
    result.update(_check(run_id, "loss", values))
    return result


# --- child: listing -----------------------------------------------------------------


def _percentiles(samples: list[float]) -> dict:
    import numpy as np

    ms = np.array(samples) * 1e3
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


def _expected_ids(filter: str | None, limit: int = 100) -> list[str]:
    from studio.rules.runquery import RunQuery
    from studio.tracking.models import Workspace
    from studio.tracking.runlist import query as runlist

    query = RunQuery(children=True, filter=filter or "")
    workspace = Workspace.objects.get(name=LIST_WORKSPACE)
    return [r.run_id for r in runlist.page(query, workspace=workspace, size=limit).runs]


def bench_list(base: str, secret: str, requests: int, filter: str | None) -> dict:
    import httpx

    params = {"limit": "100", "include_children": "true"}
    if filter:
        params["filter"] = filter
    headers = {"Authorization": f"Bearer {secret}"}
    url = f"/workspaces/{LIST_WORKSPACE}/runs"
    samples = []
    with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=60) as client:
        for _ in range(5):  # warm both workers
            client.get(url, params=params).raise_for_status()
        for _ in range(requests):
            started = perf_counter()
            r = client.get(url, params=params)
            samples.append(perf_counter() - started)
            r.raise_for_status()
        page = r.json()
    runs = page["runs"]
    result = _percentiles(samples)
    result.update(
        {
            "requests": requests,
            "bytes": len(r.content),
            "rows": len(runs),
            "same_as_selector": [x["id"] for x in runs] == _expected_ids(filter),
            "statuses": sorted({x["status"] for x in runs}),
            "has_next": bool(page["next"]),
        }
    )
    return result


def bench_cli(base: str, secret: str, calls: int) -> dict:
    """``studio.cli.main.main(["run", "list", "--include-children", "--last", "100"])``
    in this process against the REST store (no interpreter start-up, no imports),
    then the same command as a subprocess a few times for comparison."""
    from studio.cli.main import main

    os.environ.update(
        STUDIO_TRACKING_URI=base, STUDIO_TOKEN=secret, STUDIO_WORKSPACE=LIST_WORKSPACE
    )
    argv = ["run", "list", "--include-children", "--last", "100"]

    def call() -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(argv)
        return code, out.getvalue()

    for _ in range(3):
        call()
    samples, codes, errors = [], set(), []
    for _ in range(calls):
        started = perf_counter()
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code, text = call()
        samples.append(perf_counter() - started)
        codes.add(code)
        if code:
            errors.append(err.getvalue().strip())
    rows = json.loads(text)
    result = _percentiles(samples)
    sub = []
    for _ in range(5):
        started = perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "studio.cli.main", *argv], capture_output=True, text=True
        )
        sub.append(perf_counter() - started)
        codes.add(proc.returncode)
        if proc.returncode:
            errors.append(proc.stderr.strip())
    result.update(
        {
            "calls": calls,
            "rows": len(rows),
            "same_as_selector": [x["id"] for x in rows] == _expected_ids(None),
            "exit_codes": sorted(codes),
            "errors": errors[:3],
            "subprocess_median_ms": sorted(sub)[len(sub) // 2] * 1e3,
            "subprocess_rows": len(json.loads(proc.stdout or "[]")),
        }
    )
    return result


def child(args) -> None:
    started = perf_counter()
    phases = {}

    def phase(name: str) -> None:
        phases[name] = perf_counter() - started - sum(phases.values())

    backend = harness.setup_child()
    results = {"backend": backend, "version": harness.backend_version()}
    secret = _account()
    phase("migrate")
    results["seed"] = _seed(args.runs) | {"expected": args.runs}
    phase("seed")
    with gunicorn(secret) as base:
        phase("server start")
        os.environ["STUDIO_TOKEN"] = secret
        results["sdk"] = bench_sdk(base, args.points)
        results["raw"] = bench_raw(base, secret, args.points, args.batch)
        phase("ingest")
        results["list"] = bench_list(base, secret, args.requests, None)
        results["list_filter"] = bench_list(base, secret, args.requests, FILTER)
        phase("list")
        results["cli"] = bench_cli(base, secret, args.cli_calls)
        phase("cli")
    results["phases"] = phases
    harness.write_results(args.child, results)


# --- parent: print ------------------------------------------------------------------


def report(backend: str, results: dict) -> bool:
    h = harness
    h.line(backend, f"{results['version']}, {h.machine()}, gunicorn -w 2 on 127.0.0.1")
    ok = True
    sdk, raw = results["sdk"], results["raw"]
    what = f"http sdk {h.n(sdk['points'])} points"
    h.line(
        backend,
        f"{what}: {h.n(sdk['points_per_s'])} points/s through RestStore run.log() + flush() "
        f"({sdk['seconds']:.2f} s)",
    )
    h.line(
        backend,
        f"{what}: run.log() costs the caller {sdk['log_call_us']:.2f} µs per call "
        f"(loop {sdk['loop_seconds']:.2f} s, then flush {sdk['flush_seconds']:.2f} s)",
    )
    ok = harness.stored_line(backend, what, sdk) and ok
    what = f"http raw {h.n(raw['points'])} points"
    met = raw["points_per_s"] >= BATCHED_TARGET
    h.line(
        backend,
        f"{what}: {h.n(raw['points_per_s'])} points/s, {h.n(raw['batches'])} POSTs of "
        f"{h.n(raw['batch'])} points ({raw['mb']:.1f} MB JSON, {raw['seconds']:.2f} s)",
        f"target >= {h.n(BATCHED_TARGET)}: {'met' if met else 'MISSED'}",
    )
    acked = raw["acknowledged"] == raw["sent"]
    extra = (", retried batch skipped" if raw["retry_skipped"] else ", retried batch STORED") + (
        "" if acked else f", server acknowledged {h.n(raw['acknowledged'])}"
    )
    ok = harness.stored_line(backend, what, raw, extra, raw["retry_skipped"] and acked) and ok

    seed = results["seed"]
    seeded = seed["runs"] == seed["expected"]
    h.line(
        backend,
        f"seeded {h.n(seed['runs'])} runs ({h.n(seed['completed'])} Completed) with "
        f"run_create_children in {seed['seconds']:.1f} s",
    )
    for key, label in (("list", "all"), ("list_filter", f"filter {FILTER!r}")):
        r = results[key]
        h.line(
            backend,
            f"GET runs?limit=100&include_children=true, {label}: p50 {r['p50']:.1f} ms, "
            f"p99 {r['p99']:.1f} ms over {r['requests']} requests "
            f"({h.n(r['bytes'])} bytes each)",
        )
        good = r["rows"] == 100 and r["same_as_selector"] and r["has_next"]
        if key == "list_filter":
            good = good and r["statuses"] == ["Completed"]
        h.line(
            backend,
            f"GET runs, {label}: {r['rows']} runs, newest first as run_list orders them"
            f"{'' if r['same_as_selector'] else ' NOT'}, statuses {r['statuses']}, next cursor "
            f"{'given' if r['has_next'] else 'MISSING'}",
            h.verdict(good and seeded),
        )
        ok = good and seeded and ok
    c = results["cli"]
    h.line(
        backend,
        f"studio run list --include-children --last 100, in-process main(): "
        f"p50 {c['p50']:.1f} ms, p99 {c['p99']:.1f} ms over {c['calls']} calls; "
        f"as a subprocess {c['subprocess_median_ms']:.0f} ms median of 5",
    )
    good = (
        c["rows"] == 100
        and c["same_as_selector"]
        and c["exit_codes"] == [0]
        and c["subprocess_rows"] == 100
    )
    h.line(
        backend,
        f"studio run list: {c['rows']} runs printed, the newest{'' if c['same_as_selector'] else ' NOT'}"
        f", exit codes {c['exit_codes']}",
        h.verdict(good),
    )
    for error in c["errors"]:
        h.line(backend, f"studio run list failed: {error}")
    phases = ", ".join(f"{k} {v:.0f} s" for k, v in results["phases"].items())
    h.line(backend, f"took {sum(results['phases'].values()):.0f} s: {phases}")
    return good and ok


def main() -> int:
    args = harness.parse_args(__doc__.splitlines()[0], add_arguments, DATABASE)
    if args.child:
        child(args)
        return 0
    argv = [
        "--points",
        str(args.points),
        "--batch",
        str(args.batch),
        "--runs",
        str(args.runs),
        "--requests",
        str(args.requests),
        "--cli-calls",
        str(args.cli_calls),
    ]
    return harness.run_backends(__file__, args, argv, report, DATABASE)


if __name__ == "__main__":
    sys.exit(main())
