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


# --- two writers of one run at once (threads, each its own connection) ---------------

T0 = 1_790_000_000.0


def _point(name: str, step: int, value) -> dict:
    return {"name": name, "steps": [step], "values": [value], "times": [T0 + step]}


def _while_held(first, second, hold: float = 0.5) -> dict:
    """Run ``first`` in a transaction held open ``hold`` seconds after it, and
    ``second`` meanwhile (it waits for the run's lock): their answers or errors."""
    import threading

    from django.db import transaction

    held, out = threading.Event(), {}

    def a():
        try:
            with transaction.atomic():
                out["a"] = first()
                held.set()
                time.sleep(hold)
        except Exception as exc:  # reported, not raised in a thread
            out["a"] = repr(exc)
        finally:
            held.set()
            connection.close()

    def b():
        held.wait()
        time.sleep(0.1)
        try:
            out["b"] = second()
        except Exception as exc:
            out["b"] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["scalar", "text"])
def test_a_batch_waiting_for_another_of_the_same_series_reads_it(experiment, kind):
    """The second writer reads the summary and last chunk the first committed (on
    PostgreSQL a read that waited for the run's lock would see them as before)."""
    run = services.run_create(experiment=experiment, submitted_by="alice")

    def value(step: int):
        return float(step) if kind == "scalar" else f"v{step}"

    def log(batch: str, step: int):
        return lambda: services.metric_log_batch(
            run=run, batch_id=batch, series=[_point("m", step, value(step))]
        )

    log("b0", 0)()
    out = _while_held(log("b1", 1), log("b2", 2))
    assert out["a"]["stored"] == 1 and out["b"]["stored"] == 1, out
    assert MetricSummary.objects.get(run=run, name="m").count == 3
    steps, values, _ = selectors.metric_series(run=run, name="m")
    assert list(steps) == [0, 1, 2] and list(values) == [value(0), value(1), value(2)]


@pytest.mark.django_db(transaction=True)
def test_the_same_batch_sent_twice_at_once_is_stored_once(experiment):
    run = services.run_create(experiment=experiment, submitted_by="alice")
    send = lambda: services.metric_log_batch(  # noqa: E731
        run=run, batch_id="b1", series=[_point("loss", 1, 2.0)]
    )
    out = _while_held(send, send)
    assert out["a"]["duplicate"] is False and out["b"]["duplicate"] is True, out
    assert MetricSummary.objects.get(run=run, name="loss").count == 1


@pytest.mark.django_db(transaction=True)
def test_a_prune_beside_a_run_being_deleted_fails_no_batch(experiment, monkeypatch):
    """The prune moves old batch ids to MetricBatch after its change commits, in its
    own transaction: a run deleted meanwhile fails neither the purge nor the batch."""
    import datetime as dt

    from django.utils import timezone

    from studio.tracking.models import Run, RunChange
    from studio.tracking.services import changes, trash

    gone = services.run_create(experiment=experiment, submitted_by="alice")
    other = services.run_create(experiment=experiment, submitted_by="alice")
    services.metric_log_batch(run=gone, batch_id="x", series=[_point("loss", 0, 1.0)])
    services.run_complete(run=gone)
    trash.run_delete(runs=[Run.objects.get(pk=gone.pk)])
    RunChange.objects.update(created_at=timezone.now() - dt.timedelta(days=1))
    monkeypatch.setattr(changes, "PRUNE_EVERY", 1)
    out = _while_held(
        lambda: trash.run_purge(runs=[Run.all_objects.get(pk=gone.pk)]),
        lambda: services.metric_log_batch(run=other, batch_id="y", series=[_point("l", 0, 1.0)]),
    )
    assert isinstance(out["b"], dict) and out["b"]["stored"] == 1, out
    assert not isinstance(out["a"], str), out  # the purge went through
    assert not Run.all_objects.filter(pk=gone.pk).exists()
