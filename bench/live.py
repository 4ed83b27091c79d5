"""Live pages fan-out: `studio server` (gunicorn, uvicorn workers) with N open event
streams (default 50: half runs-list streams, half run-page streams, as open browser
tabs would hold) while one run logs P points/s through the SDK over HTTP from
another process, on a throwaway store: SQLite and, with ``--database-url``,
PostgreSQL too.

    .venv/bin/python bench/live.py [--streams 50] [--rate 10] [--seconds 30] [--workers 2]
                                   [--database-url postgres://USER@HOST:PORT/NAME [--no-sqlite]]

Each logged value is the wall time of its ``run.log`` call, so every stream that
receives it knows the **delivery latency**: from the log call (the SDK buffers up to
0.5 s before it sends) to the event read by the client; p50/p99/max over every
(stream, point). Also: points a stream missed (expected 0), the **memory** of the
server's process tree (RSS and USS, psutil) idle, with the streams open, and after
the logging, and a page (the run page) timed while the streams are open (the
streams must not starve other requests). The streams ask for 50 from one user, so
the server runs with ``STUDIO_LIVE_MAX_STREAMS=50`` (the default bound is 6 a user).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.server import ScratchDatabase, _free_port, _tree_memory  # noqa: E402

PYTHON = sys.executable
USER, PASSWORD = "bench", "bench-password-123"
LATENCY_TARGET_S = 2.0

SEED = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.contrib.auth import get_user_model
from studio.accounts import services as accounts
from studio.tracking import services
from studio.tracking.models import Workspace
workspace = services.workspace_get_or_create(name="default")
user = get_user_model().objects.create_user(USER, password=PASSWORD)
accounts.membership_add_by_username(username=USER, workspace=workspace, role="owner")
_, secret = accounts.token_create(user=user, name="bench", workspace=workspace)
experiment = services.experiment_get_or_create(workspace=workspace, name="bench-live")
for i in range(20):  # a list with some finished runs besides the live one
    services.run_complete(run=services.run_create(experiment=experiment, submitted_by=USER))
print(json.dumps({"token": secret}))
""".replace("USER", repr(USER)).replace("PASSWORD", repr(PASSWORD))

# The training script: the SDK over HTTP (a run it starts, and heartbeats), one value
# a 1/rate s, the value being the wall time of the call. Prints its run id, starts
# logging when told (a line on stdin), stops after N points.
LOGGER = """
import sys, time
from studio.sdk import Experiment, Workspace
rate, count = float(sys.argv[1]), int(sys.argv[2])
ws = Workspace.get(name="default")
run = Experiment(ws, "bench-live").start_logging(display_name="live")
print(run.id, flush=True)
sys.stdin.readline()
start = time.monotonic()
for i in range(count):
    time.sleep(max(0.0, start + i / rate - time.monotonic()))
    run.log("sent_at", time.time(), step=i)
run.flush()
run.complete()
print("done", flush=True)
"""


def _login(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    client.get("/accounts/login/")
    client.post(
        "/accounts/login/",
        data={"username": USER, "password": PASSWORD,
              "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        headers={"Referer": f"{base}/accounts/login/"},
    )  # fmt: skip
    assert "sessionid" in client.cookies, "sign-in failed"
    return client


async def _stream(base: str, path: str, cookies, received: list, opened: asyncio.Event, stop):
    """Read one stream's points events; note (step, latency) for each."""
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=None) as client:
        async with client.stream("GET", path) as response:
            assert response.status_code == 200, (path, response.status_code)
            opened.set()
            event, data = None, None
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and event == "points" and data:
                    now = time.time()
                    payload = json.loads(data)
                    for step, sent in zip(payload["steps"], payload["values"], strict=True):
                        received.append((step, now - sent))
                    event = data = None
                elif line == "":
                    event = data = None
                if stop.is_set():
                    return


async def _fan_out(base, cookies, run_id, streams, logger, count, rate, timing):
    stop = asyncio.Event()
    received = [[] for _ in range(streams)]
    opened = [asyncio.Event() for _ in range(streams)]
    paths = [
        f"/live/runs/?ws=default&run={run_id}" if i % 2 == 0 else f"/runs/{run_id}/live/"
        for i in range(streams)
    ]
    tasks = [
        asyncio.create_task(_stream(base, p, cookies, r, o, stop))
        for p, r, o in zip(paths, received, opened, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 60)
    await asyncio.sleep(1.0)
    timing["memory_open"] = timing["memory"]()
    # Another page while the streams are open: it must not wait for a thread.
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30) as client:
        t = time.perf_counter()
        page = await client.get(f"/runs/{run_id}/")
        timing["page_ms"] = (time.perf_counter() - t) * 1000
        assert page.status_code == 200
    logger.stdin.write("go\n")
    logger.stdin.flush()
    deadline = time.monotonic() + count / rate + 10
    while time.monotonic() < deadline and min(len({s for s, _ in r}) for r in received) < count:
        await asyncio.sleep(0.2)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return received


def bench(args, tmp: Path, database_url: str | None) -> dict:
    home = tmp / "home"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDIO_HOME": str(home),
           "STUDIO_LIVE_MAX_STREAMS": str(args.streams)}  # fmt: skip
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "STUDIO_TEST_SQLITE"):
        env.pop(name, None)
    if database_url:
        env["DATABASE_URL"] = database_url
    seed = subprocess.run([PYTHON, "-c", SEED], env=env, cwd=tmp, capture_output=True,
                          text=True, check=True)  # fmt: skip
    seeded = json.loads(seed.stdout.strip().splitlines()[-1])
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [PYTHON, "-m", "studio", "server", "--port", str(port), "--workers", str(args.workers)],
        env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    logger = None
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (tmp / "server.log").read_text()[-2000:]
            try:
                if httpx.get(f"{base}/accounts/login/", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        timing = {"memory": lambda: _tree_memory(server.pid)}
        timing["memory_idle"] = timing["memory"]()
        client = _login(base)
        count = int(args.seconds * args.rate)
        logger_env = {**env, "STUDIO_TRACKING_URI": base, "STUDIO_TOKEN": seeded["token"],
                      "STUDIO_WORKSPACE": "default"}  # fmt: skip
        logger_env.pop("DATABASE_URL", None)
        logger = subprocess.Popen(
            [PYTHON, "-c", LOGGER, str(args.rate), str(count)],
            env=logger_env, cwd=tmp, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        run_id = logger.stdout.readline().strip()
        assert run_id, "the logging script did not start its run"
        received = asyncio.run(
            _fan_out(base, dict(client.cookies), run_id, args.streams, logger, count,
                     args.rate, timing)
        )  # fmt: skip
        timing["memory_after"] = timing["memory"]()
        logger.wait(timeout=60)
    finally:
        if logger and logger.poll() is None:
            logger.kill()
        server.terminate()
        server.wait(timeout=60)
        log.close()
    latencies = sorted(lat for r in received for _, lat in r)
    assert latencies, "no stream received a point"
    missed = sum(count - len({s for s, _ in r}) for r in received)
    quantile = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {
        "streams": args.streams,
        "points": count,
        "deliveries": len(latencies),
        "missed": missed,
        "p50_ms": quantile(0.50) * 1000,
        "p99_ms": quantile(0.99) * 1000,
        "max_ms": latencies[-1] * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "page_ms": timing["page_ms"],
        "rss_idle": timing["memory_idle"][0],
        "rss_open": timing["memory_open"][0],
        "rss_after": timing["memory_after"][0],
        "uss_after": timing["memory_after"][1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0, help="points logged per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the run logs")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--database-url", help="a scratch PostgreSQL database to create")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    backends = [] if args.no_sqlite else [("sqlite", None)]
    if args.database_url:
        backends.append(("postgresql", args.database_url))
    failed = False
    for name, url in backends:
        tmp = Path(tempfile.mkdtemp(prefix="studio-bench-live-"))
        scratch = ScratchDatabase(url) if url else None
        try:
            if scratch:
                scratch.create()
            r = bench(args, tmp, url)
        finally:
            if scratch:
                scratch.drop()
            shutil.rmtree(tmp, ignore_errors=True)
        ok = r["missed"] == 0 and r["p99_ms"] <= LATENCY_TARGET_S * 1000
        failed |= r["missed"] != 0
        print(
            f"{name}: {r['streams']} streams, {r['points']} points at {args.rate:g}/s "
            f"({r['deliveries']} deliveries, {r['missed']} missed): latency from the log call "
            f"p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, max {r['max_ms']:.0f} ms "
            f"(target p99 <= {LATENCY_TARGET_S * 1000:.0f} ms: {'met' if ok else 'MISSED'}); "
            f"run page with the streams open {r['page_ms']:.0f} ms; server RSS idle "
            f"{r['rss_idle']:.0f} MB, streams open {r['rss_open']:.0f} MB, after "
            f"{r['rss_after']:.0f} MB (USS {r['uss_after']:.0f} MB)",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
