"""Workers claiming queued runs at once (docs/requirements.md F3): each run is claimed by
exactly one worker, none is left behind, on whichever backend the suite runs
(SQLite: an IMMEDIATE transaction and a conditional UPDATE; PostgreSQL: SKIP LOCKED)."""

from __future__ import annotations

import subprocess
import textwrap
import time
from collections import Counter

import pytest
from django.db import connection

from studio.execution import services as execution
from studio.tracking import services as tracking
from studio.tracking.models import Run, RunStatus
from tests.conftest import PYTHON
from tests.figures import report
from tests.jobs import wait_until

WORKERS = 6
QUEUED = 300

# One claimer: waits for the start signal (so that Django's start-up does not
# serialise them), then claims until the queue stays empty, printing each run id.
CLAIMER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from studio.bootstrap import setup_django
    setup_django()
    from studio.execution.services import run_claim

    name, go = sys.argv[1], Path(sys.argv[2])
    (go.parent / f"ready-{name}").touch()
    while not go.exists():
        time.sleep(0.005)
    empty = 0
    while empty < 3:  # a queue seen empty three times in a row is drained
        run = run_claim(workspace=None, target="f3", worker=name)
        if run is None:
            empty += 1
            time.sleep(0.02)
            continue
        empty = 0
        print(run.run_id, flush=True)
    """
)


@pytest.mark.slow
def test_f3_six_workers_claim_every_queued_run_exactly_once(
    transactional_db, subprocess_env, tmp_path, capsys
):
    ws = tracking.workspace_get_or_create(name="default")
    exp = tracking.experiment_get_or_create(workspace=ws, name="claims")
    for _ in range(QUEUED):
        run = execution.run_submit(
            experiment=exp, submitted_by="tester", script="x.py", compute_target="f3"
        )
        execution.run_enqueue(run=run)
    queued = set(Run.objects.filter(status=RunStatus.QUEUED).values_list("run_id", flat=True))
    assert len(queued) == QUEUED

    go = tmp_path / "go"
    claimers = [
        subprocess.Popen(
            [PYTHON, "-c", CLAIMER, f"w{i}", str(go)],
            env=subprocess_env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(WORKERS)
    ]
    wait_until(lambda: len(list(tmp_path.glob("ready-*"))) == WORKERS)  # all at the start line
    started = time.perf_counter()
    go.touch()
    outputs = [c.communicate(timeout=120) for c in claimers]
    drained = time.perf_counter() - started

    claims: list[str] = []
    per_worker = []
    for claimer, (out, err) in zip(claimers, outputs, strict=True):
        assert claimer.returncode == 0, err
        assert "locked" not in err, err
        ids = out.split()
        per_worker.append(len(ids))
        claims += ids
    counts = Counter(claims)
    double = sum(n - 1 for n in counts.values() if n > 1)
    stranded = Run.objects.filter(status=RunStatus.QUEUED, compute_target="f3").count()
    report(
        f"workers={WORKERS} × queued={QUEUED} | backend={connection.vendor}"
        f" | claims={len(claims)} double={double} stranded={stranded}"
        f" | per worker {per_worker} | drain {drained:.2f} s"
    )
    assert double == 0
    assert stranded == 0
    assert set(counts) == queued
    # Each claimed run is Preparing and names the worker that printed it.
    owners = dict(Run.objects.filter(run_id__in=queued).values_list("run_id", "execution__worker"))
    assert Counter(owners.values()) == Counter({f"w{i}": n for i, n in enumerate(per_worker) if n})
    assert set(Run.objects.filter(run_id__in=queued).values_list("status", flat=True)) == {
        RunStatus.PREPARING
    }


def test_the_sqlite_claim_does_not_rely_on_select_for_update(monkeypatch, transactional_db):
    """SQLite has no row locks: the claim must be safe without select_for_update."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    assert not connection.features.has_select_for_update
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
