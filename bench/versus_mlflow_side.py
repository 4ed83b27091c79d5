"""MLflow's side of ``versus_mlflow.py``: run with the benchmark-only MLflow
virtualenv's Python, it answers one JSON request per line on stdin with one JSON line
on stdout (``runs_query_mlflow.py``'s protocol, whose data set and bulk ``load`` it
reuses for the N runs):

    {"op": "setup", "uri", "artifacts", "runs", "history_points"}
    {"op": "connect", "url"}                 -> the MLflow server to talk to over HTTP
    {"op": "time", "row", "k"}               -> {"seconds": [...], "count": units}
    {"op": "quit"}
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parent))

import runs_query_mlflow as rq  # noqa: E402
from versus_mlflow import LOG_POINTS, serve  # noqa: E402  (stdlib-only at import)

STATE: dict = {}


def setup(uri: str, artifacts: str, runs: int, history_points: int) -> dict:
    import sqlalchemy as sa
    from mlflow.tracking import MlflowClient

    loaded = rq.load(uri, artifacts, 0, runs - 1)
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("versus", artifact_location=artifacts)
    history = client.create_run(exp, run_name="history").info.run_id
    started = perf_counter()
    # The points as MLflow's log_batch leaves them, INSERTed in bulk (logging them
    # through the client would take minutes).
    engine = sa.create_engine(uri)
    meta = sa.MetaData()
    meta.reflect(bind=engine, only=["metrics"])
    now = int(time.time() * 1000)
    with engine.begin() as conn:
        for lo in range(0, history_points, 50_000):
            conn.execute(
                meta.tables["metrics"].insert(),
                [
                    {
                        "key": "loss",
                        "value": 1.0 / (s + 1),
                        "timestamp": now,
                        "step": s,
                        "is_nan": False,
                        "run_uuid": history,
                    }  # fmt: skip
                    for s in range(lo, min(history_points, lo + 50_000))
                ],
            )
    engine.dispose()
    STATE.update(uri=uri, exp=exp, history=history, history_points=history_points, local=client)
    return {
        "mlflow": loaded["mlflow"],
        "experiment_id": rq.EXPERIMENT_ID,
        "runs": loaded["rows"]["runs"],
        "history_s": perf_counter() - started,
    }


def connect(url: str) -> dict:
    from mlflow.tracking import MlflowClient

    http = MlflowClient(tracking_uri=url)
    STATE.update(http=http, write_run=http.create_run(STATE["exp"]).info.run_id)
    return {"write_run": STATE["write_run"]}


def row(name: str, k: int) -> tuple[list[float], int, bool]:
    """(seconds per call, units per call, the answers were right)."""
    from mlflow.entities import Metric

    local, http, run = STATE["local"], STATE.get("http"), STATE.get("write_run")
    seconds, ok = [], True
    step = STATE.setdefault("step", 0)
    for _ in range(k):
        started = perf_counter()
        if name == "start_complete":
            r = local.create_run(STATE["exp"])
            local.set_terminated(r.info.run_id)
            units = 1
        elif name == "log_inprocess":
            # As many points as Studio's run.log() loop, in log_batch calls of
            # 1,000 (MLflow's most per call), into one new run per call.
            r = local.create_run(STATE["exp"]).info.run_id
            values = [0.25 + i / LOG_POINTS for i in range(LOG_POINTS)]
            started = perf_counter()
            for lo in range(0, LOG_POINTS, 1000):
                now = int(time.time() * 1000)
                local.log_batch(r, [Metric("loss", values[i], now, i)
                                    for i in range(lo, min(LOG_POINTS, lo + 1000))])  # fmt: skip
            seconds.append(perf_counter() - started)
            got = sorted(local.get_metric_history(r, "loss"), key=lambda m: m.step)
            ok &= [m.step for m in got] == list(range(LOG_POINTS))
            ok &= [m.value for m in got] == values
            local.set_terminated(r)
            units = LOG_POINTS
            continue
        elif name == "point_per_request":
            http.log_metric(run, "loss", 0.5, step=step)
            step, units = step + 1, 1
        elif name == "ingest_1000":
            now = int(time.time() * 1000)
            http.log_batch(run, [Metric("m", 0.5, now, step + i) for i in range(1000)])
            step, units = step + 1000, 1000
        elif name in ("get_runs_inprocess", "get_runs_http"):
            client = local if name == "get_runs_inprocess" else http
            page = client.search_runs([rq.EXPERIMENT_ID], max_results=rq.PAGE)
            ok &= len(page) == rq.PAGE
            units = 1
        elif name in ("history_http", "history_inprocess"):
            client = http if name == "history_http" else local
            got = client.get_metric_history(STATE["history"], "loss")
            ok &= len(got) == STATE["history_points"]
            units = len(got)
        else:
            raise ValueError(f"unknown row {name!r}")
        seconds.append(perf_counter() - started)
    STATE["step"] = step
    return seconds, units, ok


def main() -> int:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    return serve(setup, connect, row)


if __name__ == "__main__":
    sys.exit(main())
