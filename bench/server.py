"""Server benchmark: `studio server` (gunicorn) side by side with `mlflow server`, each
as shipped (default workers), each on its own throwaway store with the same runs: SQLite
and, with ``--database-url``, PostgreSQL too, all in the same run.

    .venv/bin/python bench/server.py [--runs N] [--points N] [--requests N] [--clients N]
                                     [--mlflow-python PATH | --no-mlflow]
                                     [--database-url postgres://USER@HOST:PORT/NAME [--no-sqlite]]

``--database-url`` names a scratch PostgreSQL database that the bench creates (dropping
one left behind by an interrupted run), gives to Studio, and drops at the end; MLflow
gets its own beside it, ``NAME_mlflow``, created and dropped the same way. Both servers
then use the same PostgreSQL server, Studio through psycopg 3 and MLflow through
psycopg2 (``postgresql+psycopg2://``). The summary prints every server and backend in columns.

For each server:

- **cold start**: from starting the command to its first answer (Studio: the sign-in
  page; MLflow: /health), on a store that already has the runs (a restart) and, for
  the first start on a new store, including Studio's static files collection (brotli
  at its best level, ~10 s for plotly.min.js, done once) and MLflow's migrations.
  Target <= 2 s for the restart.
- **memory** of the whole process tree (psutil: the sum of RSS, and of USS, the pages no
  other process shares): idle after the first answer, after loading the runs page,
  after the throughput runs. Target <= 300 MB RSS.
- **requests/s** with N concurrent clients (default 4) for the runs page and the run
  page. Studio: the HTML pages /runs/ and /runs/<id>/, signed in. MLflow: its pages are
  a JavaScript application whose HTML is static, so what its runs page and run page
  ask the server for: runs/search (100 newest runs) and runs/get + the metric history.
- **checks**: every timed answer is 200; the runs page lists the newest run, the run
  page names its run (a bench exits non-zero when a check fails, not when a target is
  missed).

The seeding goes through each side's own client (Studio's SDK on its local store,
MLflow's tracking client on its store) before the servers start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_MLFLOW_PYTHON = str(ROOT / ".venv-mlflow" / "bin" / "python")
START_TARGET_S = 2.0
MEMORY_TARGET_MB = 300.0
USER, PASSWORD = "bench", "bench-password-123"

STUDIO_SEED = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.contrib.auth import get_user_model
from studio.accounts import services as accounts
from studio.sdk import Experiment, Workspace
from studio.tracking.models import Workspace as WorkspaceRow
runs, points = int(sys.argv[1]), int(sys.argv[2])
ws = Workspace.from_config()
exp = Experiment(workspace=ws, name="bench-server")
last = None
for i in range(runs):
    with exp.start_logging(display_name=f"run {i}") as run:
        run.tag("lr", str(0.1 * (i % 10)))
        for step in range(points):
            run.log("loss", 1.0 / (step + 1 + i))
    last = run.id
get_user_model().objects.create_user(USER, password=PASSWORD)
accounts.membership_add_by_username(
    username=USER, workspace=WorkspaceRow.objects.get(name=ws.name), role="owner"
)
print(json.dumps({"run_id": last}))
""".replace("USER", repr(USER)).replace("PASSWORD", repr(PASSWORD))

MLFLOW_SEED = """
import json, sys, time
import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
uri, artifacts, runs, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = MlflowClient(tracking_uri=uri)
exp = client.create_experiment("bench-server", artifact_location=artifacts)
last = None
for i in range(runs):
    run = client.create_run(exp, run_name=f"run {i}")
    now = int(time.time() * 1000)
    metrics = [Metric("loss", 1.0 / (step + 1 + i), now, step) for step in range(points)]
    client.log_batch(run.info.run_id, metrics=metrics, params=[Param("lr", str(0.1 * (i % 10)))])
    client.set_terminated(run.info.run_id)
    last = run.info.run_id
print(json.dumps({"experiment_id": exp, "run_id": last}))
"""


class ScratchDatabase:
    """A PostgreSQL database made for the bench and dropped after it (``WITH (FORCE)``:
    a server the bench stopped may leave a connection closing)."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
            raise SystemExit(f"--database-url: a postgres://USER@HOST:PORT/NAME URL, not {url!r}")
        self.url, self.parts = url, parts
        self.name = parts.path.strip("/")

    def _admin(self):
        import psycopg

        p = self.parts
        return psycopg.connect(
            host=p.hostname or "127.0.0.1", port=p.port or 5432, user=p.username or "postgres",
            password=urllib.parse.unquote(p.password) if p.password else None,
            dbname="postgres", autocommit=True,
        )  # fmt: skip

    def create(self) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def sibling(self, suffix: str) -> ScratchDatabase:
        return ScratchDatabase(self.parts._replace(path=f"/{self.name}{suffix}").geturl())

    def as_sqlalchemy(self) -> str:
        """The URL for MLflow: SQLAlchemy with psycopg2, the driver its venv has
        (SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3)."""
        return self.parts._replace(scheme="postgresql+psycopg2").geturl()


def _seed(argv: list[str], env: dict, cwd: Path) -> dict:
    """Run a seeding script; its last line of output, as JSON (its errors, if it fails)."""
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"seeding failed ({argv[0]}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree_memory(pid: int) -> tuple[float, float]:
    """(RSS, USS) of the process and all its descendants, in MB."""
    import psutil

    root = psutil.Process(pid)
    rss = uss = 0
    for p in [root, *root.children(recursive=True)]:
        try:
            info = p.memory_full_info()
        except psutil.NoSuchProcess:
            continue
        rss += info.rss
        uss += info.uss
    return rss / 2**20, uss / 2**20


class Server:
    """A server process started in its own process group (stopped with it)."""

    def __init__(self, name: str, argv: list[str], env: dict, ready: str, log: Path):
        self.name, self.argv, self.env, self.ready, self.log = name, argv, env, ready, log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> float:
        import httpx

        started = time.perf_counter()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited: see {self.log}")
            try:
                if httpx.get(self.ready, timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise SystemExit(f"{self.name} did not answer in {timeout} s: see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _throughput(make_client, request, clients: int, total: int) -> tuple[float, bool]:
    """(requests/s, every answer was 200) for ``total`` requests over ``clients`` threads."""
    per_client = max(1, total // clients)
    ok = [True] * clients
    sessions = [make_client() for _ in range(clients)]
    for s in sessions:
        request(s)  # warm each connection (and each worker's first import)

    def work(i: int) -> None:
        for _ in range(per_client):
            if request(sessions[i]).status_code != 200:
                ok[i] = False

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    for s in sessions:
        s.close()
    return per_client * clients / elapsed, all(ok)


def _studio_login(base: str):
    import httpx

    client = httpx.Client(base_url=base, timeout=60)
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"]
    answer = client.post(
        "/accounts/login/",
        data={"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
    )
    assert answer.status_code == 302, answer.status_code
    return client


def bench_studio(args, tmp: Path, database_url: str | None = None) -> dict:
    """Studio on SQLite under its STUDIO_HOME, or on ``database_url``."""
    home = tmp / ("studio-postgresql" if database_url else "studio-sqlite")
    env = {**os.environ, "STUDIO_HOME": str(home), "PYTHONPATH": str(ROOT)}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "STUDIO_TEST_SQLITE"):
        env.pop(name, None)
    if database_url:
        env["DATABASE_URL"] = database_url
    seeded = _seed([PYTHON, "-c", STUDIO_SEED, str(args.runs), str(args.points)], env, tmp)
    run_id = seeded["run_id"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server(
        "studio server",
        [PYTHON, "-m", "studio", "server", "--port", str(port)],
        env,
        f"{base}/accounts/login/",
        home.with_suffix(".log"),
    )
    r: dict = {}
    try:
        r["first_start_s"] = server.start()
        server.stop()
        r["start_s"] = server.start()
        time.sleep(1)
        r["idle_mb"] = _tree_memory(server.proc.pid)
        client = _studio_login(base)
        runs_page = client.get("/runs/")
        run_page = client.get(f"/runs/{run_id}/")
        r["checks"] = {
            "runs page lists the newest run": runs_page.status_code == 200
            and run_id in runs_page.text,
            "run page names its run": run_page.status_code == 200 and run_id in run_page.text,
        }
        r["loaded_mb"] = _tree_memory(server.proc.pid)
        cookies = dict(client.cookies)
        client.close()

        def make():
            import httpx

            return httpx.Client(base_url=base, cookies=cookies, timeout=60)

        for key, path in (("runs_rps", "/runs/"), ("run_rps", f"/runs/{run_id}/")):
            r[key], ok = _throughput(make, lambda c, p=path: c.get(p), args.clients, args.requests)
            r["checks"][f"{path} answered 200 every time"] = ok
        r["after_mb"] = _tree_memory(server.proc.pid)
    finally:
        server.stop()
    return r


def bench_mlflow(args, tmp: Path, store: str | None = None) -> dict:
    """MLflow on a SQLite file, or on ``store`` (a SQLAlchemy URL)."""
    kind = "sqlite" if store is None else "postgresql"
    store = store or f"sqlite:///{tmp / 'mlflow.db'}"
    artifacts = str(tmp / f"mlflow-artifacts-{kind}")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("DATABASE_URL", None)
    argv = [args.mlflow_python, "-c", MLFLOW_SEED, store, artifacts, str(args.runs),
            str(args.points)]  # fmt: skip
    ids = _seed(argv, env, tmp)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    mlflow_bin = str(Path(args.mlflow_python).parent / "mlflow")
    argv = [mlflow_bin, "server", "--backend-store-uri", store, "--default-artifact-root",
            artifacts, "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    log = tmp / f"mlflow-server-{kind}.log"
    server = Server("mlflow server", argv, env, f"{base}/health", log)
    search = {
        "experiment_ids": [ids["experiment_id"]],
        "max_results": 100,
        "order_by": ["attributes.start_time DESC"],
    }
    run_id = ids["run_id"]
    r: dict = {}

    def runs_page(c):
        return c.post("/ajax-api/2.0/mlflow/runs/search", json=search)

    def run_page(c):
        got = c.get("/ajax-api/2.0/mlflow/runs/get", params={"run_id": run_id})
        if got.status_code != 200:
            return got
        return c.get(
            "/ajax-api/2.0/mlflow/metrics/get-history",
            params={"run_id": run_id, "metric_key": "loss"},
        )

    try:
        # The store was migrated by the seeding; MLflow's first start is its restart.
        r["first_start_s"] = server.start()
        server.stop()
        r["start_s"] = server.start()
        time.sleep(1)
        r["idle_mb"] = _tree_memory(server.proc.pid)
        import httpx

        with httpx.Client(base_url=base, timeout=60) as c:
            listed = runs_page(c)
            history = run_page(c)
        r["checks"] = {
            "runs/search lists the newest run": listed.status_code == 200 and run_id in listed.text,
            "metric history answered": history.status_code == 200
            and len(history.json().get("metrics", [])) == args.points,
        }
        r["loaded_mb"] = _tree_memory(server.proc.pid)

        def make():
            return httpx.Client(base_url=base, timeout=60)

        for key, fn in (("runs_rps", runs_page), ("run_rps", run_page)):
            r[key], ok = _throughput(make, fn, args.clients, args.requests)
            r["checks"][f"{key} answered 200 every time"] = ok
        r["after_mb"] = _tree_memory(server.proc.pid)
    finally:
        server.stop()
    return r


def _mb(pair) -> str:
    return f"{pair[0]:,.0f} MB RSS ({pair[1]:,.0f} MB USS)"


def report(name: str, r: dict, targets: bool) -> bool:
    def mark(ok: bool) -> str:
        return ("  [ok]" if ok else "  [MISSED]") if targets else ""

    print(f"[{name}] cold start to first answer: {r['start_s']:.2f} s "
          f"(first start on a new store: {r['first_start_s']:.2f} s)"
          f"{mark(r['start_s'] <= START_TARGET_S)}")  # fmt: skip
    print(f"[{name}] memory, process tree: idle {_mb(r['idle_mb'])}, after the runs page "
          f"{_mb(r['loaded_mb'])}{mark(r['loaded_mb'][0] <= MEMORY_TARGET_MB)}, after the "
          f"load {_mb(r['after_mb'])}")  # fmt: skip
    print(f"[{name}] requests/s, runs page: {r['runs_rps']:,.1f}; run page: {r['run_rps']:,.1f}")
    ok = all(r["checks"].values())
    for check, passed in r["checks"].items():
        print(f"[{name}] check: {check}  [{'ok' if passed else 'FAILED'}]")
    return ok


def summary(results: dict[str, dict]) -> None:
    """Every server and backend side by side, one column each."""
    rows = [
        ("cold start (s)", lambda r: f"{r['start_s']:.2f}"),
        ("first start, new store (s)", lambda r: f"{r['first_start_s']:.2f}"),
        ("memory idle (MB RSS)", lambda r: f"{r['idle_mb'][0]:,.0f}"),
        ("memory after runs page (MB RSS)", lambda r: f"{r['loaded_mb'][0]:,.0f}"),
        ("memory after the load (MB RSS)", lambda r: f"{r['after_mb'][0]:,.0f}"),
        ("runs page (requests/s)", lambda r: f"{r['runs_rps']:,.1f}"),
        ("run page (requests/s)", lambda r: f"{r['run_rps']:,.1f}"),
        ("checks", lambda r: "ok" if all(r["checks"].values()) else "FAILED"),
    ]
    names = list(results)
    first = max(len(label) for label, _ in rows)
    widths = [max(len(n), 9) for n in names]
    print()
    print(" " * first + "  " + "  ".join(n.rjust(w) for n, w in zip(names, widths, strict=True)))
    for label, cell in rows:
        cells = [cell(results[n]).rjust(w) for n, w in zip(names, widths, strict=True)]
        print(label.ljust(first) + "  " + "  ".join(cells))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs seeded on each side")
    parser.add_argument("--points", type=int, default=100, help="loss points per run")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument(
        "--mlflow-python",
        default=os.environ.get("BENCH_MLFLOW_PYTHON", DEFAULT_MLFLOW_PYTHON),
        help=f"Python of the MLflow virtualenv (default: BENCH_MLFLOW_PYTHON, else "
        f"{DEFAULT_MLFLOW_PYTHON})",
    )
    parser.add_argument("--no-mlflow", action="store_true", help="Studio only")
    parser.add_argument(
        "--database-url",
        help="also on PostgreSQL: a scratch database the bench creates and drops, e.g. "
        "postgres://postgres@127.0.0.1:5432/bench_server (MLflow gets NAME_mlflow)",
    )
    parser.add_argument(
        "--no-sqlite", action="store_true", help="with --database-url: PostgreSQL only"
    )
    args = parser.parse_args()
    if args.no_sqlite and not args.database_url:
        parser.error("--no-sqlite needs --database-url")
    if not args.no_mlflow and not Path(args.mlflow_python).exists():
        print(
            f"MLflow's Python {args.mlflow_python} is missing: create the benchmark venv "
            "(`make bench-venv`, see bench/README.md), pass --mlflow-python or --no-mlflow",
            file=sys.stderr,
        )
        return 1
    backends = [] if args.no_sqlite else ["SQLite"]
    studio_db = mlflow_db = None
    if args.database_url:
        studio_db = ScratchDatabase(args.database_url)
        mlflow_db = studio_db.sibling("_mlflow")
        backends.append("PostgreSQL")
    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-server-"))
    ok, results = True, {}
    try:
        print(f"{args.runs} runs x {args.points} points on each side, "
              f"{' and '.join(backends)}, {args.clients} clients, {os.cpu_count()} CPUs")  # fmt: skip
        for backend in backends:
            pg = backend == "PostgreSQL"
            if pg:
                studio_db.create()
                if not args.no_mlflow:
                    mlflow_db.create()
            try:
                name = f"studio {backend}"
                results[name] = bench_studio(args, tmp, studio_db.url if pg else None)
                ok &= report(name, results[name], targets=True)
                if not args.no_mlflow:
                    name = f"mlflow {backend}"
                    results[name] = bench_mlflow(
                        args, tmp, mlflow_db.as_sqlalchemy() if pg else None
                    )
                    ok &= report(name, results[name], targets=False)
            finally:
                if pg:
                    studio_db.drop()
                    if not args.no_mlflow:
                        mlflow_db.drop()
        summary(results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
