"""azureml-core benchmark: metric points per second through the real client's
``run.log`` loop into Studio, as a job of the ``local`` target logs them: the run's
supervisor endpoint (``studio.compat.azureml.local``, Django over the local SQLite
store) and a job process of the client's test venv. The time runs from the first
``run.log`` to the end of ``run.complete()`` (flush + ingest wait), so every point
is stored when the clock stops; then the points are counted in the database.

    .venv/bin/python bench/compat_azureml.py [--points N]

Needs the test-only client venv (tests/clientvenv.py builds it; STUDIO_CLIENT_VENVS
names where it is kept, the repository by default).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

JOB = """
import json, sys, time
from azureml.core import Run
run = Run.get_context()
n = int(sys.argv[1])
start = time.perf_counter()
for i in range(n):
    run.log("loss", 1.0 / (i + 1))
run.complete()
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=20_000)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="studio-bench-azureml-")
    os.environ["STUDIO_HOME"] = home
    os.environ.pop("DATABASE_URL", None)
    from tests.clientvenv import AZUREML, client_python

    python = client_python("azureml", AZUREML)
    from studio.bootstrap import setup_django

    setup_django()
    from studio.compat.azureml import jobenv, local
    from studio.core.spawn import python_path
    from studio.tracking import selectors, services

    workspace = services.workspace_get_or_create(name="default")
    experiment = services.experiment_get_or_create(workspace=workspace, name="bench-azureml")
    run = services.run_create(experiment=experiment, submitted_by="bench")
    endpoint = local.LocalEndpoint(run)
    job = {"id": run.run_id, "workspace": "default", "experiment": experiment.name}
    env = {
        "PATH": os.environ["PATH"],
        "HOME": home,
        **jobenv.environment(
            job, service=endpoint.service, token=endpoint.token, python_path=python_path()
        ),
    }
    try:
        done = subprocess.run(
            [str(python), "-c", JOB, str(args.points)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        endpoint.close()
    seconds = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
    stored = len(selectors.metrics_get(run=run)["loss"])
    assert stored == args.points, f"stored {stored} of {args.points} points"
    print(
        f"azureml-core run.log loop -> Studio (local job endpoint, SQLite): "
        f"{args.points:,} points in {seconds:.2f} s = {args.points / seconds:,.0f} points/s "
        f"(all {stored:,} stored)"
    )


if __name__ == "__main__":
    main()
