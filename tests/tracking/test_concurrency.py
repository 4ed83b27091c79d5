"""Many processes logging at once into one database (docs/requirements.md F1, F2): stored
equals sent, no point lost or duplicated, no "database is locked"."""

import json
import subprocess
import textwrap
import time

import pytest
from django.db import connection

from studio.tracking import selectors, services
from studio.tracking.models import MetricSummary
from tests.conftest import PYTHON
from tests.figures import report

WRITERS = 8
POINTS = 100_000

WRITER = textwrap.dedent(
    """
    import sys, time
    from studio.sdk import Workspace, Experiment, Run
    ws = Workspace.from_config()
    exp = Experiment(ws, "concurrency")
    run = Run(exp, sys.argv[1])
    rank, points = int(sys.argv[2]), int(sys.argv[3])
    started = time.perf_counter()
    for i in range(points):
        run.log(f"rank{rank}", float(rank * points + i))
        run.log("shared", float(i))
    run.flush()
    print(time.perf_counter() - started)
    """
)


@pytest.mark.slow
def test_eight_processes_logging_into_one_run_lose_nothing(subprocess_env, tmp_path, capsys):
    ws = services.workspace_get_or_create(name="default")
    exp = services.experiment_get_or_create(workspace=ws, name="concurrency")
    run = services.run_create(experiment=exp, submitted_by="tester")
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [PYTHON, "-c", WRITER, run.run_id, str(rank), str(POINTS)],
            env=subprocess_env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(WRITERS)
    ]
    results = [p.communicate(timeout=600) for p in procs]
    elapsed = time.perf_counter() - started
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and "refused" not in err, err

    for rank in range(WRITERS):
        _, values, _ = selectors.metric_series(run=run, name=f"rank{rank}")
        assert values.tolist() == [float(rank * POINTS + i) for i in range(POINTS)]
    _, shared, _ = selectors.metric_series(run=run, name="shared")
    assert len(shared) == WRITERS * POINTS
    assert sorted(shared.tolist()) == sorted(
        float(i) for i in range(POINTS) for _ in range(WRITERS)
    )
    summaries = dict(MetricSummary.objects.filter(run=run).values_list("name", "count"))
    assert summaries["shared"] == WRITERS * POINTS
    assert all(summaries[f"rank{r}"] == POINTS for r in range(WRITERS))
    sent = stored = 2 * WRITERS * POINTS
    report(
        f"concurrent logging: writers={WRITERS} x points={2 * POINTS:,} | "
        f"backend={connection.vendor} | sent={sent:,} stored={stored:,} lost=0 dup=0 "
        f"locked=0 | {sent / elapsed:,.0f} pts/s"
    )


CREATOR = textwrap.dedent(
    """
    import json, sys
    from studio.sdk import Workspace, Experiment
    exp = Experiment(Workspace.from_config(), "numbering")
    print(json.dumps([exp.start_logging().number for _ in range(int(sys.argv[1]))]))
    """
)


@pytest.mark.slow
def test_concurrent_run_creation_hands_out_distinct_numbers(subprocess_env, tmp_path):
    procs = [
        subprocess.Popen(
            [PYTHON, "-c", CREATOR, "25"],
            env=subprocess_env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    numbers = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        numbers += json.loads(out)
    assert sorted(numbers) == list(range(1, 101))
