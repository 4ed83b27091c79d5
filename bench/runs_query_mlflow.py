"""MLflow's side of ``runs_query.py``, and the data set both sides load.

Run by ``runs_query.py`` with the benchmark-only MLflow virtualenv's Python (MLflow
is never installed into Studio's), it answers one JSON request per line on stdin
with one JSON line on stdout:

    {"op": "load", "uri": ..., "artifacts": ..., "numbers": [first, last]}
    {"op": "check", "expected": {case: [run numbers of the first page]}}
    {"op": "time", "case": ..., "repeat": k}   -> seconds of k search_runs calls
                                               (fewer, and timed_out, past TIMEOUT_S)
    {"op": "quit"}

Creating 100,000 runs through MLflow's client takes hours, so ``load`` lets
``SqlAlchemyStore`` create and migrate the schema on the URI once, creates the
experiment through the client, then INSERTs the runs, params, tags, metrics and
latest_metrics rows in bulk, as MLflow's own logging would have left them.

The data-set functions below import nothing outside the standard library:
``runs_query.py`` loads the same runs into Studio with them.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from time import perf_counter

# --- the data set (shared with runs_query.py) -------------------------------------

EXPERIMENT = "bench-runs"
STEPS = 4  # points per metric per run
LR = ("0.1", "0.03", "0.01", "0.003")
BATCH = ("32", "64", "128")
TEAM = ("vision", "speech")
CANDIDATE_EVERY = 20  # 5% of the runs carry the tag ``candidate``
METRIC_BELOW = 0.5
T0 = 1_750_000_000.0  # seconds; run i starts at T0 + i
PAGE = 100

# Each case: what the Studio SDK is given, what MLflow's search_runs is given.
CASES: dict[str, dict] = {
    "no filter": {"sdk": {}, "mlflow": {"filter_string": "", "order_by": None}},
    "tag filter": {
        "sdk": {"tags": {"candidate": None}},
        "mlflow": {"filter_string": "tags.candidate = 'true'", "order_by": None},
    },
    "metric filter": {
        "sdk": {"filter": f"metrics.val_loss < {METRIC_BELOW}"},
        "mlflow": {"filter_string": f"metrics.val_loss < {METRIC_BELOW}", "order_by": None},
    },
    "metric filter + order": {
        "sdk": {"filter": f"metrics.val_loss < {METRIC_BELOW}"},
        "sort": "metric:last:val_loss",  # Studio's sort key: last value, ascending
        "mlflow": {
            "filter_string": f"metrics.val_loss < {METRIC_BELOW}",
            "order_by": ["metrics.val_loss ASC"],
        },
    },
}


def params(i: int) -> dict[str, str]:
    return {"lr": LR[i % len(LR)], "batch": BATCH[i % len(BATCH)]}


def tags(i: int) -> dict[str, str]:
    t = {"team": TEAM[i % len(TEAM)]}
    if i % CANDIDATE_EVERY == 0:
        t["candidate"] = "true"
    return t


def val_loss(i: int) -> float:
    """Distinct for every i below 100,003 (7919 and the prime 100,003 are coprime),
    so ordering by it has no ties; ~45% of the runs are below METRIC_BELOW."""
    return 0.05 + (i * 7919 % 100_003) / 100_003


def series(i: int) -> dict[str, list[float]]:
    """Each metric's values at steps 0..STEPS-1: losses fall to their last value,
    accuracy climbs to it."""
    last = {"loss": 0.9 * val_loss(i), "val_loss": val_loss(i), "accuracy": 1 - val_loss(i) / 2}
    out = {}
    for name, value in last.items():
        sign = -1.0 if name == "accuracy" else 1.0
        out[name] = [value + sign * 0.05 * (STEPS - 1 - s) for s in range(STEPS)]
    return out


def expected_page(numbers: range, case: str) -> list[int]:
    """Run numbers of the first page of ``case``: newest (highest number) first, or
    by val_loss ascending for the ordered case."""
    if case == "no filter":
        return list(reversed(numbers))[:PAGE]
    if case == "tag filter":
        return [i for i in reversed(numbers) if i % CANDIDATE_EVERY == 0][:PAGE]
    matching = [i for i in reversed(numbers) if val_loss(i) < METRIC_BELOW]
    if case == "metric filter":
        return matching[:PAGE]
    return sorted(matching, key=val_loss)[:PAGE]


# --- MLflow ---------------------------------------------------------------------------

# A search that runs longer is given up (its figure says so): MLflow's metric filter
# + metric order on SQLite ran for over 15 minutes on 100,000 runs.
TIMEOUT_S = float(os.environ.get("BENCH_MLFLOW_TIMEOUT", "60"))
_deadline = [float("inf")]


def _guard() -> None:
    """Let a search be cut at the deadline: SQLite through its progress handler,
    PostgreSQL through statement_timeout (lifted for the bulk load)."""
    import logging

    import sqlalchemy as sa

    # MLflow logs every cancelled query with its traceback; the figure line says it.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)

    @sa.event.listens_for(sa.engine.Engine, "connect")
    def _on_connect(dbapi_connection, record):
        if hasattr(dbapi_connection, "set_progress_handler"):  # sqlite3
            dbapi_connection.set_progress_handler(
                lambda: int(perf_counter() > _deadline[0]), 100_000
            )
        else:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(TIMEOUT_S * 1000)}")
            dbapi_connection.commit()


def _insert(conn, table, rows: list[dict], size: int = 20_000) -> None:
    for start in range(0, len(rows), size):
        conn.execute(table.insert(), rows[start : start + size])


def load(uri: str, artifacts: str, first: int, last: int) -> dict:
    import sqlalchemy as sa
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.tracking import MlflowClient

    global CLIENT, EXPERIMENT_ID
    started = perf_counter()
    store = SqlAlchemyStore(uri, artifacts)  # creates and migrates the schema
    schema_s = perf_counter() - started
    CLIENT = MlflowClient(tracking_uri=uri)
    EXPERIMENT_ID = CLIENT.create_experiment(EXPERIMENT, artifact_location=artifacts)

    started = perf_counter()
    meta = sa.MetaData()
    meta.reflect(bind=store.engine, only=["runs", "params", "tags", "metrics", "latest_metrics"])
    t = meta.tables
    runs, prm, tgs, mets, latest = [], [], [], [], []
    for i in range(first, last + 1):
        run_uuid = uuid.uuid4().hex
        start_ms = int((T0 + i) * 1000)
        runs.append(
            {
                "run_uuid": run_uuid,
                "name": f"Run {i}",
                "source_type": "LOCAL",
                "source_name": "",
                "entry_point_name": "",
                "user_id": "bench",
                "status": "FINISHED",
                "start_time": start_ms,
                "end_time": start_ms + 60_000,
                "source_version": "",
                "lifecycle_stage": "active",
                "artifact_uri": f"{artifacts}/{run_uuid}/artifacts",
                "experiment_id": int(EXPERIMENT_ID),
            }
        )
        prm += [{"key": k, "value": v, "run_uuid": run_uuid} for k, v in params(i).items()]
        run_tags = tags(i) | {"mlflow.runName": f"Run {i}", "mlflow.user": "bench"}
        tgs += [{"key": k, "value": v, "run_uuid": run_uuid} for k, v in run_tags.items()]
        for name, values in series(i).items():
            for step, value in enumerate(values):
                mets.append(
                    {
                        "key": name,
                        "value": value,
                        "timestamp": start_ms + step * 1000,
                        "step": step,
                        "is_nan": False,
                        "run_uuid": run_uuid,
                    }
                )
            latest.append(mets[-1].copy())
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        for table, rows in (
            ("runs", runs),
            ("params", prm),
            ("tags", tgs),
            ("metrics", mets),
            ("latest_metrics", latest),
        ):
            _insert(conn, t[table], rows)
    if store.engine.dialect.name == "postgresql":
        # Statistics and visibility map after the bulk load, as Studio's side gets
        # them (autovacuum would within a minute: it vacuums tables after inserts too).
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return {
        "schema_s": schema_s,
        "insert_s": perf_counter() - started,
        "rows": {
            "runs": len(runs),
            "params": len(prm),
            "tags": len(tgs),
            "metrics": len(mets),
            "latest_metrics": len(latest),
        },
        "mlflow": __import__("mlflow").__version__,
        "dialect": store.engine.dialect.name,
    }


def search(case: str, max_results: int = PAGE):
    """The runs ``search_runs`` answers for ``case``, or None when it ran past
    TIMEOUT_S."""
    spec = CASES[case]["mlflow"]
    _deadline[0] = perf_counter() + TIMEOUT_S
    try:
        return CLIENT.search_runs(
            [EXPERIMENT_ID],
            filter_string=spec["filter_string"],
            order_by=spec["order_by"],
            max_results=max_results,
        )
    except Exception as exc:  # interrupted (SQLite) or canceled (PostgreSQL)
        if perf_counter() < _deadline[0] and "cancel" not in str(exc).lower():
            raise
        return None
    finally:
        _deadline[0] = float("inf")


def _number(run) -> int:
    return int(run.info.run_name.removeprefix("Run "))


def check(expected: dict[str, list[int]], first: int, last: int) -> dict:
    """What search_runs answers on the loaded data: every case's first page (run
    numbers, in order), the number of candidates (all of them in one call), and one
    run read back whole (params, tags, latest metrics)."""
    found = {case: search(case) for case in CASES}
    pages = {case: None if r is None else [_number(x) for x in r] for case, r in found.items()}
    candidates = search("tag filter", max_results=10_000) or []
    one = CLIENT.search_runs([EXPERIMENT_ID], filter_string=f"attributes.run_name = 'Run {last}'")
    whole = len(one) == 1 and (
        {k: v for k, v in one[0].data.params.items()} == params(last)
        and {k: v for k, v in one[0].data.tags.items() if not k.startswith("mlflow.")} == tags(last)
        and one[0].data.metrics == {n: v[-1] for n, v in series(last).items()}
    )
    return {
        # None: the search ran past TIMEOUT_S
        "pages_match": {
            case: None if pages[case] is None else pages[case] == expected[case] for case in CASES
        },
        "candidates": len(candidates),
        "expected_candidates": sum(1 for i in range(first, last + 1) if i % CANDIDATE_EVERY == 0),
        "one_run_intact": whole,
    }


def main() -> int:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    # Answers go to the real stdout; anything MLflow or alembic prints goes to stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    _guard()
    bounds = (0, 0)
    for raw in sys.stdin:
        request = json.loads(raw)
        op = request["op"]
        if op == "quit":
            break
        if op == "load":
            bounds = tuple(request["numbers"])
            answer = load(request["uri"], request["artifacts"], *bounds)
        elif op == "check":
            answer = check(request["expected"], *bounds)
        elif op == "time":
            seconds, rows = [], 0
            for _ in range(request["repeat"]):
                started = perf_counter()
                page = search(request["case"])
                if page is None:
                    break
                seconds.append(perf_counter() - started)
                rows = len(page)
            answer = {"seconds": seconds, "rows": rows, "timed_out": page is None}
        else:
            answer = {"error": f"unknown op {op!r}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
