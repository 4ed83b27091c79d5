"""Compatibility benchmark (issue 12): points/s through the real ``mlflow`` client's
``log_batch`` (1,000 metrics per call) into Studio and into ``mlflow server``, on the
same machine in the same run, in interleaved rounds.

    .venv/bin/python bench/compat.py [--rounds N] [--batches N]
                                     [--mlflow-python PATH] [--no-azureml]

- Studio: ``studio server`` (gunicorn, as shipped) on a throwaway SQLite store, the
  client pointed at it with MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN (a token
  narrowed to the workspace);
- MLflow: ``mlflow server`` on its own throwaway SQLite store.

Each round starts one client process per server (in turn, Studio first in even
rounds); a client creates a run and times ``--batches`` calls of
``MlflowClient.log_batch`` with 1,000 metrics each (10 metrics x 100 steps). The
figure is the median over rounds; target: Studio >= 10x MLflow. A check (every point
stored, read back through each server) failing exits non-zero; a missed target does not.

The same client against a server that answers every call at once (``NullServer``, in
this process) gives the ceiling: the client's own cost per call (it turns 1,000
metrics into protobuf and JSON), which no server can beat. The ratio a server could
reach is that ceiling over MLflow's figure; it is printed beside the target.

The same bodies encoded once beforehand and POSTed over one keep-alive connection
(``REPLAY``) time the servers themselves: the ratio a client with cheaper encoding
would see.

The azureml-core figure is another script's: ``bench/compat_azureml.py``, run after
this one when it exists (``--no-azureml`` skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import DEFAULT_MLFLOW_PYTHON, PYTHON, ROOT, Server, _free_port  # noqa: E402

TARGET = 10.0
METRICS_PER_CALL = 1000

STUDIO_SEED = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.contrib.auth import get_user_model
from studio.accounts.models import Membership, Role
from studio.accounts.services import token_create
from studio.tracking.services import workspace_get_or_create
user = get_user_model().objects.create_user("bench", password="bench-password-123")
workspace = workspace_get_or_create(name="default")
Membership.objects.create(user=user, workspace=workspace, role=Role.OWNER)
print(token_create(user=user, name="bench", workspace=workspace)[1])
"""

# Runs in the mlflow client's environment: MLFLOW_TRACKING_URI (and, for Studio,
# MLFLOW_TRACKING_TOKEN) name the server.
CLIENT = """
import json, sys, time
from mlflow import MlflowClient
from mlflow.entities import Metric

batches = int(sys.argv[1])
client = MlflowClient()
try:
    experiment = client.create_experiment("compat-bench")
except Exception:
    experiment = client.get_experiment_by_name("compat-bench").experiment_id
run = client.create_run(experiment).info.run_id
now = int(time.time() * 1000)
calls = [
    [Metric(f"m{k}", float(b * 100 + s), now, b * 100 + s) for k in range(10) for s in range(100)]
    for b in range(batches)
]
client.log_batch(run, metrics=calls[0][:10])  # warm the connection (not timed)
started = time.perf_counter()
for metrics in calls:
    client.log_batch(run, metrics=metrics)
elapsed = time.perf_counter() - started
history = client.get_metric_history(run, "m9")
print(json.dumps({
    "points_per_s": batches * len(calls[0]) / elapsed,
    "stored": len(history) == batches * 100,
}))
"""


# The same calls with the client's encoding done once beforehand: each body MLflow's
# client would send, POSTed as it is over one keep-alive connection. What is timed is
# the server (and HTTP), not the client's protobuf and JSON work.
REPLAY = """
import json, os, sys, time
import requests
from mlflow import MlflowClient

batches = int(sys.argv[1])
client = MlflowClient()
try:
    experiment = client.create_experiment("compat-replay")
except Exception:
    experiment = client.get_experiment_by_name("compat-replay").experiment_id
run = client.create_run(experiment).info.run_id
now = int(time.time() * 1000)
bodies = [
    json.dumps({"run_id": run, "metrics": [
        {"key": f"m{k}", "value": float(b * 100 + s), "timestamp": now, "step": b * 100 + s}
        for k in range(10) for s in range(100)
    ]})
    for b in range(batches)
]
url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-batch"
headers = {"Content-Type": "application/json"}
if os.environ.get("MLFLOW_TRACKING_TOKEN"):
    headers["Authorization"] = "Bearer " + os.environ["MLFLOW_TRACKING_TOKEN"]
session = requests.Session()
session.get(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/experiments/get",
            params={"experiment_id": experiment}, headers=headers).raise_for_status()
started = time.perf_counter()
for body in bodies:
    session.post(url, data=body, headers=headers).raise_for_status()
elapsed = time.perf_counter() - started
history = client.get_metric_history(run, "m9")
print(json.dumps({
    "points_per_s": batches * 1000 / elapsed,
    "stored": len(history) == batches * 100,
}))
"""


class _Null(BaseHTTPRequestHandler):
    """Answers what CLIENT calls, storing nothing (the ceiling: the client's own cost)."""

    protocol_version = "HTTP/1.1"
    RUN = "0" * 32

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if "experiments/create" in self.path:
            data: dict = {"experiment_id": "1"}
        elif "runs/create" in self.path:
            info = {"run_id": self.RUN, "experiment_id": "1", "status": "RUNNING"}
            data = {"run": {"info": info, "data": {}}}
        else:
            data = {"metrics": []} if "get-history" in self.path else {}
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


class NullServer:
    def __enter__(self) -> str:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", _free_port()), _Null)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=20, help="log_batch calls per round")
    venvs = os.environ.get("STUDIO_CLIENT_VENVS")  # as tests/clientvenv.py
    default = f"{venvs}/.venv-mlflow/bin/python" if venvs else DEFAULT_MLFLOW_PYTHON
    parser.add_argument("--mlflow-python", default=default)
    parser.add_argument("--no-azureml", action="store_true")
    return parser.parse_args(argv)


def _client(args, env: dict, script: str = CLIENT) -> dict:
    done = subprocess.run(
        [args.mlflow_python, "-c", script, str(args.batches)],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"mlflow client failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(args.mlflow_python).exists():
        raise SystemExit(f"No mlflow client at {args.mlflow_python} (see tests/clientvenv.py).")
    with tempfile.TemporaryDirectory(prefix="studio-compat-") as folder:
        tmp = Path(folder)
        studio_env = {**os.environ, "STUDIO_HOME": str(tmp / "studio"), "PYTHONPATH": str(ROOT)}
        for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "STUDIO_TEST_SQLITE"):
            studio_env.pop(name, None)
        token = subprocess.run(
            [PYTHON, "-c", STUDIO_SEED], env=studio_env, cwd=tmp,
            capture_output=True, text=True, check=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        studio_port, mlflow_port = _free_port(), _free_port()
        studio = Server(
            "studio server",
            [PYTHON, "-m", "studio", "server", "--port", str(studio_port)],
            studio_env,
            f"http://127.0.0.1:{studio_port}/accounts/login/",
            tmp / "studio.log",
        )
        mlflow_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
        mlflow_bin = str(Path(args.mlflow_python).parent / "mlflow")
        mlflow = Server(
            "mlflow server",
            [
                mlflow_bin,
                "server",
                "--backend-store-uri",
                f"sqlite:///{tmp / 'mlflow.db'}",
                "--default-artifact-root",
                str(tmp / "mlflow-artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(mlflow_port),
            ],  # fmt: skip
            mlflow_env,
            f"http://127.0.0.1:{mlflow_port}/health",
            tmp / "mlflow.log",
        )
        clients = {
            "studio": {
                **mlflow_env,
                "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{studio_port}",
                "MLFLOW_TRACKING_TOKEN": token,
            },
            "mlflow": {**mlflow_env, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{mlflow_port}"},
        }
        figures: dict[str, list[float]] = {
            "studio": [], "mlflow": [], "null": [], "studio-replay": [], "mlflow-replay": []
        }  # fmt: skip
        ok = True
        try:
            studio.start()
            mlflow.start()
            with NullServer() as null_url:
                clients["null"] = {**mlflow_env, "MLFLOW_TRACKING_URI": null_url}
                for i in range(args.rounds):
                    order = ("studio", "mlflow") if i % 2 == 0 else ("mlflow", "studio")
                    for side in (*order, "null"):
                        r = _client(args, clients[side])
                        figures[side].append(r["points_per_s"])
                        ok = ok and (r["stored"] or side == "null")
                        print(f"round {i + 1} {side:>6}: {r['points_per_s']:>10,.0f} points/s")
                    for side in order:
                        r = _client(args, clients[side], REPLAY)
                        figures[f"{side}-replay"].append(r["points_per_s"])
                        ok = ok and r["stored"]
                        print(
                            f"round {i + 1} {side:>6} (bodies encoded beforehand): "
                            f"{r['points_per_s']:>10,.0f} points/s"
                        )
        finally:
            studio.stop()
            mlflow.stop()
    s, m, n = (statistics.median(figures[k]) for k in ("studio", "mlflow", "null"))
    ratio = s / m
    print(
        f"mlflow.log_batch ({METRICS_PER_CALL} metrics/call), median of {args.rounds} rounds: "
        f"Studio {s:,.0f} points/s, mlflow server {m:,.0f} points/s: {ratio:.1f}x "
        f"(target >= {TARGET:.0f}x: {'met' if ratio >= TARGET else 'MISSED'})"
    )
    print(
        f"ceiling: the client against a server that answers at once {n:,.0f} points/s, "
        f"{n / m:.1f}x mlflow server; Studio reaches {s / n:.0%} of it"
    )
    sr, mr = (statistics.median(figures[f"{k}-replay"]) for k in ("studio", "mlflow"))
    print(
        f"the same log-batch bodies encoded beforehand, one keep-alive connection (the "
        f"servers without the client's encoding): Studio {sr:,.0f} points/s, mlflow server "
        f"{mr:,.0f} points/s: {sr / mr:.1f}x"
    )
    print(f"check: every point stored and read back: {'ok' if ok else 'FAILED'}")
    azureml = ROOT / "bench" / "compat_azureml.py"
    if azureml.exists() and not args.no_azureml:
        done = subprocess.run([PYTHON, str(azureml)])
        ok = ok and done.returncode == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
