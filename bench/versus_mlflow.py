"""Studio and MLflow side by side, one row per path of issue 16's table, on SQLite
(or both on PostgreSQL with ``--postgres URL``),
in interleaved rounds (Studio then MLflow, row by row, round after round):

    .venv/bin/python bench/versus_mlflow.py [--runs N] [--history-points N]
                     [--mlflow-history-points N] [--rounds N] [--mlflow-python PATH]
                     [--rows ROW,ROW,...]

Rows (Studio / MLflow):

- start_logging()+complete(), one run at a time, in-process: the SDK's local store /
  ``MlflowClient.create_run`` + ``set_terminated`` on its SQLite store. Runs/s.
- ``run.log()`` ingest in-process: ``run.log(name, value)`` in a loop then
  ``run.flush()`` on the SDK's local store / ``MlflowClient.log_batch`` in chunks of
  1,000 (its most per call) on its SQLite store; 20,000 points of one metric into a
  new run per call on both sides, each run read back (count, steps, values). Points/s.
- one point per HTTP request, through each side's client: the REST store's
  ``log_batch`` with one point on ``studio server`` (gunicorn, as shipped) /
  ``MlflowClient.log_metric`` on ``mlflow server --workers 1``. ms per request.
- raw keep-alive POST of one point: one httpx client, the same for both
  (``/api/v1/runs/<id>/metrics`` / ``/api/2.0/mlflow/runs/log-metric``). ms.
- HTTP ingest, 1,000 points per request: REST store ``log_batch`` /
  ``MlflowClient.log_batch``. Points/s.
- get_runs first 100 of N, in-process and over HTTP: ``islice(exp.get_runs(), 100)``
  on the local and the REST store / ``search_runs(max_results=100)`` on the store and on
  the server. ms.
- full history of one series over HTTP (Studio: ``get_metric_history`` through the
  REST store, binary ``application/x-npy``) and in-process (local store) /
  ``get_metric_history``. MLflow reads ``--mlflow-history-points`` (reading 1,000,000
  takes it about 90 s a call) and its time is scaled linearly to Studio's length; the
  row says so. ms.
- the runs page at N runs: Studio's HTML ``/runs/`` signed in / what MLflow's runs page
  asks its server for (``ajax-api/.../runs/search``, the 100 newest). ms.

The N runs are ``runs_query.py``'s data set, loaded in bulk on both sides. Each figure
is the median over every call of every round; the machine's load average is printed
beside each row (a busy machine gives slower figures to both sides). A row whose
answers were wrong (a short page, a history of the wrong length) says FAILED and the
bench exits non-zero. Everything lives in a temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from itertools import islice
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from server import PASSWORD, USER, Server, _free_port, _studio_login  # noqa: E402

DEFAULT_MLFLOW_PYTHON = str(harness.ROOT / ".venv-mlflow" / "bin" / "python")
WORKSPACE, EXPERIMENT = "default", "versus"

# row: (label, unit, calls per round on each side, higher is better)
ROWS = {
    "start_complete": ("start_logging()+complete(), in-process", "runs/s", 30, True),
    "log_inprocess": ("run.log() ingest in-process", "points/s", 3, True),
    "point_per_request": ("one point per HTTP request (client)", "ms", 50, False),
    "raw_post": ("raw keep-alive POST of one point", "ms", 50, False),
    "ingest_1000": ("HTTP ingest, 1,000 points per request", "points/s", 10, True),
    "get_runs_inprocess": ("get_runs() first 100 of N, in-process", "ms", 5, False),
    "get_runs_http": ("get_runs() first 100 of N, over HTTP", "ms", 5, False),
    "history_http": ("full history over HTTP", "ms", 3, False),
    "history_inprocess": ("full history in-process", "ms", 3, False),
    "runs_page": ("runs page at N runs", "ms", 5, False),
}
HISTORY_ROWS = ("history_http", "history_inprocess")
LOG_POINTS = 20_000  # points per call of the log_inprocess row
PARENT_ROWS = ("raw_post", "runs_page")  # timed here, with one httpx client for both


class Side:
    """A worker process: one JSON line per request and per answer."""

    def __init__(self, argv: list[str], env: dict, cwd: Path):
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=cwd, text=True
        )

    def ask(self, **request) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise SystemExit(f"a worker ended on {request['op']!r} (its traceback is above)")
        return json.loads(answer)

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass  # it has ended already
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- Studio's worker (this script with --worker, Studio's venv) ---------------------------

STUDIO: dict = {}


def studio_setup(runs: int, history_points: int) -> dict:
    harness.setup_child()
    import numpy as np
    import runs_query
    from django.contrib.auth import get_user_model

    from studio.accounts import services as accounts
    from studio.sdk import Experiment, Workspace
    from studio.sdk.stores.local import LocalStore
    from studio.tracking import services

    seeded = runs_query._seed(runs)
    workspace = services.workspace_get_or_create(name=WORKSPACE)
    user = get_user_model().objects.create_user(USER, password=PASSWORD)
    accounts.membership_add_by_username(username=USER, workspace=workspace, role="owner")
    _, token = accounts.token_create(user=user, name="bench")
    experiment = services.experiment_get_or_create(workspace=workspace, name=EXPERIMENT)
    history = services.run_create(experiment=experiment, submitted_by="bench")
    started = perf_counter()
    for lo in range(0, history_points, 100_000):
        steps = np.arange(lo, min(history_points, lo + 100_000))
        services.metric_log_batch(
            run=history,
            batch_id=f"history-{lo}",
            series=[
                {
                    "name": "loss",
                    "steps": steps.tolist(),
                    "values": (1.0 / (steps + 1)).tolist(),
                    "times": [time.time()] * len(steps),
                }
            ],  # fmt: skip
            records=[],
        )
    local = Workspace(WORKSPACE)
    STUDIO.update(
        token=token,
        history=history.run_id,
        points=history_points,
        store=LocalStore(),
        exp=Experiment(local, EXPERIMENT),
        page_exp=Experiment(local, runs_query.EXPERIMENT),
    )
    return {"token": token, "runs": seeded["runs"], "history_s": perf_counter() - started}


def studio_connect(url: str) -> dict:
    import runs_query

    from studio.sdk import Experiment, Workspace

    os.environ["STUDIO_TOKEN"] = STUDIO["token"]
    remote = Workspace(WORKSPACE, tracking_uri=url)
    rest = remote._store
    run = rest.create_run(WORKSPACE, EXPERIMENT)
    STUDIO.update(
        rest=rest, write_run=run["id"], rest_page_exp=Experiment(remote, runs_query.EXPERIMENT)
    )
    return {"write_run": run["id"]}


def studio_row(name: str, k: int) -> tuple[list[float], int, bool]:
    import numpy as np

    seconds, ok, units = [], True, 1
    step = STUDIO.setdefault("step", 0)
    if "rest" in STUDIO:
        # The write run is kept alive as the SDK's Run keeps its run (a heartbeat every
        # few seconds), untimed: the rows between its POSTs take minutes, longer than a
        # run's lease, and a run quiet for longer is (rightly) found lost.
        STUDIO["rest"].heartbeat([STUDIO["write_run"]])
    for _ in range(k):
        started = perf_counter()
        if name == "start_complete":
            STUDIO["exp"].start_logging().complete()
        elif name == "log_inprocess":
            run = STUDIO["exp"].start_logging(outputs=False)
            values = [0.25 + i / LOG_POINTS for i in range(LOG_POINTS)]
            log = run.log
            started = perf_counter()
            for v in values:
                log("loss", v)
            run.flush()
            seconds.append(perf_counter() - started)
            got = STUDIO["store"].get_metric_history(run.id, "loss")
            ok &= bool(np.array_equal(got["steps"], np.arange(LOG_POINTS)))
            ok &= bool(np.array_equal(got["values"], np.array(values)))
            run.complete()
            units = LOG_POINTS
            continue
        elif name in ("point_per_request", "ingest_1000"):
            n = 1 if name == "point_per_request" else 1000
            STUDIO["rest"].log_batch(
                STUDIO["write_run"],
                uuid.uuid4().hex,
                [
                    {
                        "name": "m" if n == 1 else "b",
                        "steps": list(range(step, step + n)),
                        "values": [0.5] * n,
                        "times": [time.time()] * n,
                    }
                ],  # fmt: skip
                [],
            )
            step, units = step + n, n
        elif name in ("get_runs_inprocess", "get_runs_http"):
            exp = STUDIO["page_exp" if name == "get_runs_inprocess" else "rest_page_exp"]
            ok &= len(list(islice(exp.get_runs(), 100))) == 100
        elif name in HISTORY_ROWS:
            store = STUDIO["rest" if name == "history_http" else "store"]
            got = store.get_metric_history(STUDIO["history"], "loss")
            units = len(got["steps"])
            ok &= units == STUDIO["points"] and got["values"][-1] == 1.0 / units
            ok &= bool(np.all(got["steps"] == np.arange(units)))
        else:
            raise ValueError(f"unknown row {name!r}")
        seconds.append(perf_counter() - started)
    STUDIO["step"] = step
    return seconds, units, bool(ok)


def serve(setup, connect, row) -> int:
    """A worker's loop (Studio's and MLflow's): one JSON request per line on stdin,
    one JSON answer per line on stdout; what the libraries print goes to stderr."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    for raw in sys.stdin:
        request = json.loads(raw)
        op = request.pop("op")
        if op == "quit":
            break
        if op == "setup":
            answer = setup(**request)
        elif op == "connect":
            answer = connect(**request)
        else:
            seconds, units, ok = row(request["row"], request["k"])
            answer = {"seconds": seconds, "units": units, "ok": ok}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 0


# --- the parent -------------------------------------------------------------------------


def parent_row(name: str, k: int, side: str, ctx: dict) -> dict:
    """The rows timed here: raw POSTs and the runs page, one httpx client per side."""
    client = ctx[f"{side}_client"]
    seconds, ok = [], True
    for _ in range(k):
        ctx["raw_step"] += 1
        started = perf_counter()
        if name == "raw_post" and side == "studio":
            body = {"batch_id": uuid.uuid4().hex, "series": [
                {"name": "raw", "steps": [ctx["raw_step"]], "values": [0.5],
                 "times": [time.time()]}]}  # fmt: skip
            answer = client.post(f"/api/v1/runs/{ctx['studio_run']}/metrics", json=body)
        elif name == "raw_post":
            body = {"run_id": ctx["mlflow_run"], "key": "raw", "value": 0.5,
                    "timestamp": int(time.time() * 1000), "step": ctx["raw_step"]}  # fmt: skip
            answer = client.post("/api/2.0/mlflow/runs/log-metric", json=body)
        elif side == "studio":
            answer = client.get("/runs/")
        else:
            search = {"experiment_ids": [ctx["mlflow_experiment"]], "max_results": 100,
                      "order_by": ["attributes.start_time DESC"]}  # fmt: skip
            answer = client.post("/ajax-api/2.0/mlflow/runs/search", json=search)
            ok &= answer.status_code == 200 and len(answer.json().get("runs", [])) == 100
        seconds.append(perf_counter() - started)
        ok &= answer.status_code == 200
    return {"seconds": seconds, "units": 1, "ok": ok}


def figure(name: str, answers: list[dict], scale: float = 1.0) -> float:
    """The row's figure in its unit from every call of every round."""
    median = statistics.median(s for a in answers for s in a["seconds"])
    units = answers[0]["units"]
    if ROWS[name][3]:  # a rate
        return units / median
    return median * 1000 * scale


def fmt(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000, help="runs for get_runs and the page")
    parser.add_argument("--history-points", type=int, default=1_000_000)
    parser.add_argument(
        "--mlflow-history-points", type=int, default=100_000,
        help="points of MLflow's history (its time is scaled to --history-points)",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument(
        "--mlflow-python",
        default=os.environ.get("BENCH_MLFLOW_PYTHON", DEFAULT_MLFLOW_PYTHON),
        help=f"Python of the MLflow virtualenv (default: BENCH_MLFLOW_PYTHON, else "
        f"{DEFAULT_MLFLOW_PYTHON})",
    )
    parser.add_argument(
        "--rows", default=",".join(ROWS),
        help=f"comma-separated rows to run (default: all of {', '.join(ROWS)})",
    )  # fmt: skip
    parser.add_argument(
        "--postgres", metavar="URL",
        help="run both sides on this PostgreSQL server instead of SQLite (each in a "
        "database of its own, studio_bench_versus and studio_bench_versus_mlflow, "
        "created and dropped here)",
    )  # fmt: skip
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return serve(studio_setup, studio_connect, studio_row)
    rows = [row.strip() for row in args.rows.split(",") if row.strip()]
    if unknown := [row for row in rows if row not in ROWS]:
        parser.error(f"unknown rows {', '.join(unknown)}; known: {', '.join(ROWS)}")
    # The workers run in a scratch folder: a relative path (the Makefile's) is made
    # absolute before they start.
    args.mlflow_python = os.path.abspath(args.mlflow_python)
    if not Path(args.mlflow_python).exists():
        print(f"MLflow's Python {args.mlflow_python} is missing: `make bench-venv` (see "
              "bench/README.md) or pass --mlflow-python", file=sys.stderr)  # fmt: skip
        return 1
    import httpx

    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-versus-"))
    servers: list[Server] = []
    sides: list[Side] = []
    databases = ("studio_bench_versus", "studio_bench_versus_mlflow")
    try:
        studio_db = mlflow_db = None
        if args.postgres:
            studio_db, mlflow_db = (harness._create_database(args.postgres, d) for d in databases)
        home = tmp / "studio"
        env = {k: v for k, v in os.environ.items()
               if k != "DATABASE_URL" and not k.startswith("STUDIO_")}  # fmt: skip
        env.update(STUDIO_HOME=str(home), STUDIO_USER="bench", PYTHONPATH=str(harness.ROOT),
                   DJANGO_SETTINGS_MODULE="studio.settings")  # fmt: skip
        mlflow_env = {k: v for k, v in env.items()
                      if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}  # fmt: skip
        if studio_db:
            env["DATABASE_URL"] = studio_db
        studio = Side([sys.executable, __file__, "--worker"], env, tmp)
        sides.append(studio)
        mlflow = Side([args.mlflow_python, str(Path(__file__).with_name("versus_mlflow_side.py"))],
                      mlflow_env, tmp)  # fmt: skip
        sides.append(mlflow)
        started = perf_counter()
        s_setup = studio.ask(op="setup", runs=args.runs, history_points=args.history_points)
        uri = (mlflow_db.replace("postgres://", "postgresql+psycopg2://", 1) if mlflow_db
               else f"sqlite:///{tmp / 'mlflow.db'}")  # fmt: skip
        artifacts = (tmp / "mlartifacts").as_uri()
        m_setup = mlflow.ask(op="setup", uri=uri, artifacts=artifacts, runs=args.runs,
                             history_points=args.mlflow_history_points)  # fmt: skip
        seeded_s = perf_counter() - started

        s_port, m_port = _free_port(), _free_port()
        s_url, m_url = f"http://127.0.0.1:{s_port}", f"http://127.0.0.1:{m_port}"
        mlflow_bin = str(Path(args.mlflow_python).parent / "mlflow")
        servers += [
            Server("studio server", [sys.executable, "-m", "studio", "server", "--port",
                   str(s_port)], env, f"{s_url}/accounts/login/", tmp / "studio.log"),
            Server("mlflow server", [mlflow_bin, "server", "--backend-store-uri", uri,
                   "--default-artifact-root", artifacts, "--host", "127.0.0.1", "--port",
                   str(m_port), "--workers", "1"], mlflow_env, f"{m_url}/health",
                   tmp / "mlflow.log"),
        ]  # fmt: skip
        for server in servers:
            server.start()
        s_run = studio.ask(op="connect", url=s_url)["write_run"]
        m_run = mlflow.ask(op="connect", url=m_url)["write_run"]
        session = _studio_login(s_url)
        ctx = {
            "raw_step": 0, "studio_run": s_run, "mlflow_run": m_run,
            "mlflow_experiment": m_setup.get("experiment_id") or "1",
            "studio_client": httpx.Client(
                base_url=s_url, cookies=dict(session.cookies), timeout=120,
                headers={"Authorization": f"Bearer {s_setup['token']}"}),
            "mlflow_client": httpx.Client(base_url=m_url, timeout=120),
        }  # fmt: skip
        session.close()
        backend = "PostgreSQL" if args.postgres else "SQLite"
        print(f"Studio vs MLflow {m_setup['mlflow']}, {backend}, {args.runs:,} runs (seeded in "
              f"{seeded_s:.0f} s), history {args.history_points:,} points (MLflow "
              f"{args.mlflow_history_points:,}, scaled), {args.rounds} interleaved rounds, "
              f"{harness.machine()}", flush=True)  # fmt: skip

        answers: dict = {row: {"studio": [], "mlflow": []} for row in rows}
        loads: dict = {}
        for _ in range(args.rounds):
            for row in rows:
                k = ROWS[row][2]
                for side_name, side in (("studio", studio), ("mlflow", mlflow)):
                    calls = 1 if side_name == "mlflow" and row in HISTORY_ROWS else k
                    if row in PARENT_ROWS:
                        parent_row(row, 1, side_name, ctx)  # warm the connection
                        got = parent_row(row, calls, side_name, ctx)
                    else:
                        got = side.ask(op="time", row=row, k=calls)
                    answers[row][side_name].append(got)
                loads[row] = os.getloadavg()[0]

        ok = True
        scale = args.history_points / args.mlflow_history_points
        label_width = max(len(v[0]) for v in ROWS.values()) + 2
        print(f"{'path':<{label_width}}{'Studio':>16}{'MLflow':>18}   {'Studio vs MLflow':<22}load")
        for row in rows:
            label, unit, _, higher = ROWS[row]
            s = figure(row, answers[row]["studio"])
            m = figure(row, answers[row]["mlflow"], scale if row in HISTORY_ROWS else 1.0)
            ratio = s / m if higher else m / s
            verdict = f"{ratio:,.1f}x faster" if ratio >= 1 else f"{1 / ratio:,.1f}x slower"
            right = all(a["ok"] for side in answers[row].values() for a in side)
            ok &= right
            note = "" if right else "  [FAILED: wrong answers]"
            if row in HISTORY_ROWS:
                note += f"  (MLflow read {args.mlflow_history_points:,} points, x{scale:g})"
            print(f"{label:<{label_width}}{fmt(s, unit):>16}{fmt(m, unit):>18}   "
                  f"{verdict:<22}{loads[row]:.1f}{note}", flush=True)  # fmt: skip
        return 0 if ok else 1
    finally:
        for side in sides:
            side.close()
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        if args.postgres:
            for database in databases:
                harness._drop_database(args.postgres, database)


if __name__ == "__main__":
    sys.exit(main())
