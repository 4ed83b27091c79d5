"""What PostgreSQL itself costs a run's start and end, against Studio and MLflow.

``start_logging()`` + ``complete()`` must commit twice, durably: once so that the
run exists for every other client, once so that its end does. This prints, on one
PostgreSQL server, per run (median of ``--runs``, after a warm-up):

- Studio: the SDK's ``start_logging()`` + ``complete()`` (local store, in-process);
- Studio's statements alone: the statements one start and end run (captured from
  the SDK with their parameters, each replay's run id, uuid and number made new), sent by psycopg with no Django, each transaction
  in one round trip (pipeline mode): what the same writes cost with no Python above
  the driver and no waiting between statements;
- a bare start and end: one ``INSERT`` + ``COMMIT`` and one ``UPDATE`` + ``COMMIT``
  of a one-row table, one round trip each: two durable commits and nothing else;
- MLflow's ``create_run`` + ``set_terminated`` on the same server, with
  ``--mlflow-python`` (the bench-only virtual environment's Python).

and the most any implementation of those writes could be faster than MLflow here
(MLflow's time over each floor). Run ``make bench-venv`` first for MLflow::

    .venv/bin/python bench/floor_postgresql.py --mlflow-python .venv-mlflow/bin/python
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

DATABASES = ("studio_floor", "studio_floor_mlflow")

MLFLOW = textwrap.dedent(
    """
    import statistics, sys, tempfile
    from time import perf_counter
    from mlflow.tracking import MlflowClient
    uri, runs = sys.argv[1], int(sys.argv[2])
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("floor", artifact_location=tempfile.mkdtemp())
    seconds = []
    for i in range(runs + 50):
        started = perf_counter()
        client.set_terminated(client.create_run(exp).info.run_id)
        seconds.append(perf_counter() - started)
    print(statistics.median(seconds[50:]))
    """
)


def _median(fn, runs: int, warm: int = 50) -> float:
    seconds = []
    for i in range(warm + runs):
        started = perf_counter()
        fn(i)
        seconds.append(perf_counter() - started)
    return statistics.median(seconds[warm:])


def studio(url: str, runs: int) -> tuple[float, list[list[tuple]]]:
    """The SDK's start+complete per run, and the statements of one (their SQL and
    parameters, by transaction)."""
    os.environ.update(
        DATABASE_URL=url,
        STUDIO_HOME=tempfile.mkdtemp(prefix="studio-floor-"),
        STUDIO_USER="bench",
        DJANGO_SETTINGS_MODULE="studio.settings",
    )
    harness.setup_child()
    from django.db import connection

    from studio.sdk import Experiment, Workspace
    from studio.tracking import services

    services.workspace_get_or_create(name="floor")
    exp = Experiment(Workspace("floor"), "floor")
    figure = _median(lambda i: exp.start_logging().complete(), runs)
    statements: list[tuple] = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, list(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        run = exp.start_logging()
        run.complete()
    connection.close()
    # Two transactions: the start's statements end where the complete's UPDATE begins.
    split = next(k for k, (sql, _) in enumerate(statements) if "RETURNING" in sql and
                 sql.startswith('UPDATE "tracking_run"'))  # fmt: skip
    return figure, [statements[:split], statements[split:]], run.id, run.number


def _renewed(sql: str, params: list, run_id: str, number: int, i: int) -> list:
    """A replay's parameters: the run's own id and, in the run's INSERT, its number
    (unique in the experiment) and uuid made new; the rest as captured (the changes
    name the first run's row, which exists: the same index work)."""
    import uuid

    out = [f"{run_id}_{i}" if p == run_id else p for p in params]
    if sql.startswith('INSERT INTO "tracking_run"'):
        columns = re.search(r"\((.*?)\) VALUES", sql).group(1).replace('"', "").split(", ")
        out[columns.index("number")] = 10_000_000 + i
        out[columns.index("uuid")] = uuid.uuid4()
    return out


def replay(url: str, transactions: list[list[tuple]], run_id: str, number: int, runs: int) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:

        def one(i: int) -> None:
            for statements in transactions:
                with conn.pipeline():  # BEGIN, the statements, COMMIT: one round trip
                    conn.execute("BEGIN")
                    for sql, params in statements:
                        conn.execute(sql, _renewed(sql, params, run_id, number, i))
                    conn.execute("COMMIT")

        return _median(one, runs)


def bare(url: str, runs: int) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE floor_bare (id bigint PRIMARY KEY, status text)")

        def one(i: int) -> None:
            with conn.pipeline():
                conn.execute("BEGIN")
                conn.execute("INSERT INTO floor_bare VALUES (%s, 'Running')", [i])
                conn.execute("COMMIT")
            with conn.pipeline():
                conn.execute("BEGIN")
                conn.execute("UPDATE floor_bare SET status = 'Completed' WHERE id = %s", [i])
                conn.execute("COMMIT")

        return _median(one, runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=harness.DEFAULT_POSTGRES, metavar="URL")
    parser.add_argument("--mlflow-python", metavar="PYTHON")
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    studio_db, mlflow_db = (harness._create_database(args.postgres, d) for d in DATABASES)
    try:
        ms = {}
        figure, transactions, run_id, number = studio(studio_db, args.runs)
        ms["Studio: start_logging() + complete()"] = figure
        ms["Studio's statements alone, one round trip a transaction"] = replay(
            studio_db, transactions, run_id, number, args.runs
        )
        ms["two durable commits of a one-row table"] = bare(studio_db, args.runs)
        mlflow = None
        if args.mlflow_python:
            uri = mlflow_db.replace("postgres://", "postgresql+psycopg2://", 1)
            out = subprocess.run(
                [args.mlflow_python, "-c", MLFLOW, uri, str(args.runs)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            mlflow = float(out.stdout.strip().splitlines()[-1])
            ms["MLflow: create_run() + set_terminated()"] = mlflow
    finally:
        for database in DATABASES:
            harness._drop_database(args.postgres, database)
    print(
        f"A run's start and end on PostgreSQL ({harness.machine()}), "
        f"median of {args.runs}; statements per transaction: "
        + ", ".join(str(len(t)) for t in transactions)
    )
    for what, seconds in ms.items():
        ceiling = f"   MLflow / this: {mlflow / seconds:5.1f}x" if mlflow else ""
        print(f"  {what:<58} {seconds * 1e3:6.3f} ms{ceiling}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
