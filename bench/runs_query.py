"""Runs query benchmark (issue 9): the first page of 100 runs of an experiment of
100,000, through the Studio SDK in-process (``exp.get_runs()``), through the query
beneath it, and through MLflow's ``MlflowClient.search_runs`` on the same data, on
SQLite and on PostgreSQL; interleaved rounds, medians and p90.

    .venv/bin/python bench/runs_query.py [--postgres URL | --no-postgres] [--runs N]
        [--rounds N] [--repeat N] [--mlflow-python PATH]

MLflow lives in a benchmark-only virtualenv (see bench/README.md), never in
Studio's: its side runs in ``runs_query_mlflow.py`` under that venv's Python, one
JSON request and answer per line, so its calls interleave with Studio's.

Studio's runs are made by ``services.run_create_children`` (10,000 per call) under
one holder run, then made top-level and Completed in one UPDATE and the holder
deleted (a fixture: no service makes 100,000 finished top-level runs at once).
Params become properties, tags tags; the metric summaries of the newest 500 runs
are written by ``services.metric_log_batch``, the others in bulk as copies of what
it wrote (what filters and sorts read). MLflow's rows are INSERTed in bulk into the
schema its store created (see runs_query_mlflow.py). Before timing, every case's
first page is checked on both sides against the run numbers the data set implies.
"""

from __future__ import annotations

import inspect
import json
import os
import statistics
import subprocess
import sys
from itertools import islice
from pathlib import Path
from time import perf_counter, time

import harness
from runs_query_mlflow import (
    CASES,
    EXPERIMENT,
    PAGE,
    TIMEOUT_S,
    expected_page,
    params,
    series,
    tags,
)

DATABASE = "studio_bench_runs_query"
DEFAULT_MLFLOW_PYTHON = str(harness.ROOT / ".venv-mlflow" / "bin" / "python")
SAMPLED = 500  # newest runs whose summaries metric_log_batch writes
SDK_OVER_QUERY = 2.0  # target: the SDK's page costs at most 2x its query
MLFLOW_OVER_SDK = 5.0  # target: MLflow's search_runs costs at least 5x the SDK's page


def add_arguments(parser) -> None:
    parser.add_argument("--runs", type=int, default=100_000, help="runs in the experiment")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed calls per case, path and round"
    )
    parser.add_argument(
        "--database",
        default=DATABASE,
        help=f"PostgreSQL database to create and drop (default {DATABASE}; MLflow's is "
        "the same name + _mlflow), so two runs can go side by side",
    )
    parser.add_argument(
        "--mlflow-python",
        default=os.environ.get("BENCH_MLFLOW_PYTHON", DEFAULT_MLFLOW_PYTHON),
        help="Python of the MLflow virtualenv (default: BENCH_MLFLOW_PYTHON, else "
        f"{DEFAULT_MLFLOW_PYTHON})",
    )


# --- child: Studio's side ---------------------------------------------------------------


def _seed(count: int) -> dict:
    """Load the data set into Studio; returns the run numbers and the seconds spent."""
    from django.db import transaction
    from django.db.models import Max, Min
    from django.utils import timezone

    from studio.tracking import services
    from studio.tracking.models import MetricSummary, Run, RunProperty, RunStatus, RunTag

    workspace = services.workspace_get_or_create(name="default")
    experiment = services.experiment_get_or_create(workspace=workspace, name=EXPERIMENT)
    started = perf_counter()
    holder = services.run_create(experiment=experiment, submitted_by="bench")
    left = count
    while left:
        n = min(left, services.MAX_CHILDREN_PER_CALL)
        services.run_create_children(parent=holder, submitted_by="bench", count=n)
        left -= n
    runs_s = perf_counter() - started

    started = perf_counter()
    rows = list(Run.objects.filter(parent=holder).order_by("pk").values_list("pk", "number"))
    for i in range(0, len(rows), 10_000):
        RunProperty.objects.bulk_create(
            RunProperty(run_id=pk, key=k, value=v)
            for pk, number in rows[i : i + 10_000]
            for k, v in params(number).items()
        )
        RunTag.objects.bulk_create(
            RunTag(run_id=pk, key=k, value=v)
            for pk, number in rows[i : i + 10_000]
            for k, v in tags(number).items()
        )
    tags_s = perf_counter() - started

    started = perf_counter()
    now = time()
    sampled = rows[-SAMPLED:]
    for i in range(0, len(sampled), 500):
        with transaction.atomic():
            for pk, number in sampled[i : i + 500]:
                services.metric_log_batch(
                    # The fields a metric write's change record copies (RunChange).
                    run=Run(
                        pk=pk,
                        run_id=str(pk),
                        workspace_id=workspace.pk,
                        experiment_id=experiment.pk,
                        parent_id=holder.pk,
                    ),  # fmt: skip
                    batch_id=f"bench-{pk}",
                    series=[
                        {
                            "name": name,
                            "steps": list(range(len(v))),
                            "values": v,
                            "times": [now] * len(v),
                        }
                        for name, v in series(number).items()
                    ],
                )
    templates = {s.name: s for s in MetricSummary.objects.filter(run_id=sampled[0][0])}
    rest = rows[:-SAMPLED]
    for i in range(0, len(rest), 10_000):
        MetricSummary.objects.bulk_create(
            _summary(templates[name], pk, values)
            for pk, number in rest[i : i + 10_000]
            for name, values in series(number).items()
        )
    metrics_s = perf_counter() - started

    with transaction.atomic():
        ended = timezone.now()
        Run.objects.filter(parent=holder).update(
            parent=None,
            root=None,
            status=RunStatus.COMPLETED,
            status_changed_at=ended,
            ended_at=ended,
        )
        Run.objects.filter(pk=holder.pk).delete()
    _analyze()
    bounds = Run.objects.aggregate(first=Min("number"), last=Max("number"))
    return {
        "first": bounds["first"],
        "last": bounds["last"],
        "runs": Run.objects.filter(parent=None, status=RunStatus.COMPLETED).count(),
        "runs_s": runs_s,
        "tags_s": tags_s,
        "metrics_s": metrics_s,
        "copies_match": _copies_match(sampled),
    }


def _summary(template, pk: int, values: list[float]):
    from studio.tracking.models import MetricSummary

    return MetricSummary(
        run_id=pk,
        name=template.name,
        kind=template.kind,
        count=len(values),
        last_value=values[-1],
        last_step=len(values) - 1,
        last_time=template.last_time,
        min_value=min(values),
        max_value=max(values),
        chunk_count=template.chunk_count,
    )


def _copies_match(sampled: list[tuple[int, int]]) -> bool:
    """The bulk copies say what metric_log_batch says for the runs it wrote."""
    from studio.tracking.models import MetricSummary

    fields = ("kind", "count", "last_value", "last_step", "min_value", "max_value")
    for pk, number in sampled[:50]:
        for s in MetricSummary.objects.filter(run_id=pk):
            copy = _summary(s, pk, series(number)[s.name])
            if any(getattr(copy, f) != getattr(s, f) for f in fields):
                return False
    return True


def _analyze() -> None:
    """PostgreSQL's planner statistics and visibility map after the bulk load
    (autovacuum would within a minute: it vacuums tables after inserts too; MLflow's
    side gets the same). SQLite is left as it is."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _order(case: str, accepts: set[str]) -> dict | None:
    """The ordering keyword for ``case`` if the caller takes one; ``None`` when the
    case orders and the caller cannot (the figure is then left out)."""
    sort = CASES[case].get("sort")
    if sort is None:
        return {}
    return {"sort": sort} if "sort" in accepts else None


def sdk_page(exp, case: str) -> list:
    """What a user writes: the first 100 of ``exp.get_runs(...)``."""
    kwargs = CASES[case]["sdk"] | _order(case, _SDK_ACCEPTS)
    return list(islice(exp.get_runs(**kwargs), PAGE))


def query_page(*, workspace, experiment, case: str) -> list:
    """The query beneath ``exp.get_runs()`` (the one runs query the local store
    reads), first page evaluated: the one place to change when that query changes."""
    from studio.rules.runquery import RunQuery
    from studio.tracking.runlist import query as runlist
    from studio.tracking.schema import run_rows

    kwargs = CASES[case]["sdk"] | _order(case, _QUERY_ACCEPTS)
    found = RunQuery.of(experiment=experiment.name, **kwargs)
    return [
        row.data for row in runlist.page(found, workspace=workspace, size=PAGE, load=run_rows).runs
    ]


def _accepts(function) -> set[str]:
    return set(inspect.signature(function).parameters)


_SDK_ACCEPTS: set[str] = set()
_QUERY_ACCEPTS: set[str] = set()


def _timed(function, repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        started = perf_counter()
        function()
        seconds.append(perf_counter() - started)
    return seconds


class MlflowSide:
    """The MLflow process: one JSON line per request and per answer."""

    def __init__(self, python: str):
        script = Path(__file__).with_name("runs_query_mlflow.py")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL")}
        self.proc = subprocess.Popen(
            [python, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
        )

    def ask(self, **request) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"the MLflow process ended on {request['op']!r} (see above)")
        return json.loads(answer)

    def close(self) -> None:
        self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _mlflow_uri(backend: str) -> tuple[str, str | None]:
    """(SQLAlchemy URI for MLflow, PostgreSQL database to drop afterwards)."""
    if backend == "sqlite":
        return f"sqlite:///{os.environ['STUDIO_HOME']}/mlflow.db", None
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[1] + "_mlflow"
    url = harness._create_database(os.environ["DATABASE_URL"], database)
    # SQLAlchemy 2.1 reads postgresql:// as psycopg 3; the MLflow venv has psycopg2.
    return "postgresql+psycopg2://" + url.split("://", 1)[1], database


def _studio_checks(exp, workspace, experiment, numbers: range) -> dict:
    from studio.tracking.models import RunTag

    pages = {}
    for case in CASES:
        want = expected_page(numbers, case)
        sdk = (
            [r.number for r in sdk_page(exp, case)]
            if _order(case, _SDK_ACCEPTS) is not None
            else None
        )
        query = (
            [r["number"] for r in query_page(workspace=workspace, experiment=experiment, case=case)]
            if _order(case, _QUERY_ACCEPTS) is not None
            else None
        )
        pages[case] = {
            "sdk": sdk == want if sdk is not None else None,
            "query": query == want if query is not None else None,
        }
    return {
        "pages_match": pages,
        "candidates": RunTag.objects.filter(key="candidate", run__experiment=experiment).count(),
    }


def child(args) -> None:
    backend = harness.setup_child()
    from studio.rules.runquery import RunQuery
    from studio.sdk import Workspace
    from studio.sdk.experiment import Experiment
    from studio.tracking.models import Experiment as ExperimentModel

    global _SDK_ACCEPTS, _QUERY_ACCEPTS
    _SDK_ACCEPTS = _accepts(Experiment.get_runs)
    _QUERY_ACCEPTS = _accepts(RunQuery.of)
    results: dict = {"backend": backend, "version": harness.backend_version()}
    results["mlflow_timeout_s"] = TIMEOUT_S
    results["studio_seed"] = _seed(args.runs)
    numbers = range(results["studio_seed"]["first"], results["studio_seed"]["last"] + 1)

    mlflow = MlflowSide(args.mlflow_python)
    uri, mlflow_db = _mlflow_uri(backend)
    try:
        artifacts = Path(os.environ["STUDIO_HOME"]) / "mlartifacts"
        results["mlflow_seed"] = mlflow.ask(
            op="load", uri=uri, artifacts=artifacts.as_uri(), numbers=[numbers[0], numbers[-1]]
        )
        expected = {case: expected_page(numbers, case) for case in CASES}
        results["mlflow_check"] = mlflow.ask(op="check", expected=expected)

        ws = Workspace("default")
        exp = Experiment(ws, EXPERIMENT)
        experiment = ExperimentModel.objects.select_related("workspace").get(name=EXPERIMENT)
        workspace = experiment.workspace
        results["studio_check"] = _studio_checks(exp, workspace, experiment, numbers)
        results["expected_candidates"] = sum(1 for i in numbers if i % 20 == 0)

        times: dict = {case: {"sdk": [], "query": [], "mlflow": []} for case in CASES}
        paths = {
            "sdk": (lambda case: lambda: sdk_page(exp, case), _SDK_ACCEPTS),
            "query": (
                lambda case: (
                    lambda: query_page(workspace=workspace, experiment=experiment, case=case)
                ),
                _QUERY_ACCEPTS,
            ),
        }
        loads, timed_out = [], []
        # MLflow's ordered case was never answered by the check: not timed either.
        timed_out += [c for c, ok in results["mlflow_check"]["pages_match"].items() if ok is None]
        for round_ in range(args.rounds + 1):  # round 0 warms up, untimed
            loads.append(os.getloadavg()[0])
            for case in CASES:
                for path, (make, accepts) in paths.items():
                    if _order(case, accepts) is None:
                        continue
                    seconds = _timed(make(case), args.repeat)
                    if round_:
                        times[case][path] += seconds
                if case in timed_out:
                    continue
                answer = mlflow.ask(op="time", case=case, repeat=args.repeat)
                if answer["timed_out"]:
                    timed_out.append(case)
                if round_:
                    times[case]["mlflow"] += answer["seconds"]
        results["times"] = times
        results["mlflow_timed_out"] = timed_out
        results["loads"] = loads
        results["sdk_orders"] = _order("metric filter + order", _SDK_ACCEPTS) is not None
        results["query_orders"] = _order("metric filter + order", _QUERY_ACCEPTS) is not None
    finally:
        mlflow.close()
        if mlflow_db:
            harness._drop_database(os.environ["DATABASE_URL"], mlflow_db)
    harness.write_results(args.child, results)


# --- parent: print ----------------------------------------------------------------------


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


def _cell(samples: list[float]) -> str:
    if not samples:
        return f"{'-':>15}"
    return f"{statistics.median(samples) * 1e3:7.1f} /{_p(samples, 0.9):6.1f}"


def report(backend: str, r: dict) -> bool:
    n = harness.n
    s, m = r["studio_seed"], r["mlflow_seed"]
    harness.line(
        backend,
        f"{r['version']}, MLflow {m['mlflow']} ({m['dialect']}), {harness.machine()}",
    )
    harness.line(
        backend,
        f"studio: {n(s['runs'])} runs in {s['runs_s']:.1f} s, properties and tags in "
        f"{s['tags_s']:.1f} s, metric summaries in {s['metrics_s']:.1f} s; "
        f"mlflow: schema {m['schema_s']:.1f} s, rows "
        + ", ".join(f"{k} {n(v)}" for k, v in m["rows"].items())
        + f" in {m['insert_s']:.1f} s",
    )
    ok = s["runs"] == m["rows"]["runs"] and s["copies_match"]
    harness.line(
        backend,
        f"studio seed: {n(s['runs'])} top-level Completed runs, bulk summaries equal "
        f"metric_log_batch's: {s['copies_match']}",
        harness.verdict(ok),
    )
    mc, sc = r["mlflow_check"], r["studio_check"]
    mlflow_ok = (
        all(v is not False for v in mc["pages_match"].values())
        and mc["candidates"] == mc["expected_candidates"]
        and mc["one_run_intact"]
    )
    harness.line(
        backend,
        f"mlflow search_runs: first pages as expected {mc['pages_match']} (None: "
        f"no answer within {r['mlflow_timeout_s']:g} s), "
        f"{n(mc['candidates'])} of {n(mc['expected_candidates'])} candidates, one run's "
        f"params/tags/metrics intact: {mc['one_run_intact']}",
        harness.verdict(mlflow_ok),
    )
    studio_ok = all(v is not False for page in sc["pages_match"].values() for v in page.values())
    studio_ok = studio_ok and sc["candidates"] == r["expected_candidates"]
    harness.line(
        backend,
        f"studio: first pages as expected {sc['pages_match']} (None: cannot order), "
        f"{n(sc['candidates'])} candidates",
        harness.verdict(studio_ok),
    )
    ok = ok and mlflow_ok and studio_ok
    rounds = len(r["loads"]) - 1
    count = len(r["times"]["no filter"]["mlflow"])
    harness.line(
        backend,
        f"first page of {PAGE}, ms median / p90 of {count} calls ({rounds} interleaved "
        f"rounds; 1-min load during rounds {min(r['loads']):.1f}-{max(r['loads']):.1f})",
    )
    header = (
        f"{'case':<22} {'sdk get_runs':>15} {'query':>15} {'mlflow search':>15} "
        f"{'sdk/query':>9} {'mlflow/sdk':>10}"
    )
    harness.line(backend, header)
    for case, t in r["times"].items():
        sdk, query, mlflow = (t[k] for k in ("sdk", "query", "mlflow"))
        ratio_q = statistics.median(sdk) / statistics.median(query) if sdk and query else None
        ratio_m = statistics.median(mlflow) / statistics.median(sdk) if sdk and mlflow else None
        status = []
        if ratio_q is not None:
            status.append(
                f"sdk <= {SDK_OVER_QUERY:g}x query: {'met' if ratio_q <= SDK_OVER_QUERY else 'MISSED'}"
            )
        if ratio_m is not None:
            status.append(
                f"mlflow >= {MLFLOW_OVER_SDK:g}x sdk: {'met' if ratio_m >= MLFLOW_OVER_SDK else 'MISSED'}"
            )
        if not sdk:
            status.append("get_runs cannot order: not measured")
        if case in r["mlflow_timed_out"]:
            status.append(f"mlflow: a call ran past {r['mlflow_timeout_s']:g} s, given up")
        harness.line(
            backend,
            f"{case:<22} {_cell(sdk)} {_cell(query)} {_cell(mlflow)} "
            f"{(f'{ratio_q:8.2f}x' if ratio_q else '        -'):>9} "
            f"{(f'{ratio_m:9.2f}x' if ratio_m else '         -'):>10}",
            "; ".join(status),
        )
    return ok


def main() -> int:
    args = harness.parse_args(__doc__.splitlines()[0], add_arguments, database=DATABASE)
    if args.child:
        child(args)
        return 0
    if not Path(args.mlflow_python).exists():
        print(
            f"MLflow's Python {args.mlflow_python} is missing: create the benchmark venv "
            "(`make bench-venv`, see bench/README.md) or pass --mlflow-python",
            file=sys.stderr,
        )
        return 1
    argv = [
        "--runs",
        str(args.runs),
        "--rounds",
        str(args.rounds),
        "--repeat",
        str(args.repeat),
        "--mlflow-python",
        args.mlflow_python,
    ]
    return harness.run_backends(__file__, args, argv, report, database=args.database)


if __name__ == "__main__":
    sys.exit(main())
