"""Environment benchmark: how long a submitted run takes from ``exp.submit()`` to
``Running`` with no environment, with a new environment (its virtual environment is
built first: venv + pip install of one small wheel, no package index reached), and
with the same environment again (cached), on SQLite and on PostgreSQL.

    .venv/bin/python bench/environments.py [--postgres URL | --no-postgres] [--runs N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness

sys.path.insert(0, str(harness.ROOT))
from tests.wheels import make_wheel  # noqa: E402  (the tests' tiny wheel maker)

POLL_S = 0.005
DEADLINE_S = 120.0
SCRIPT = "import studio_tinypkg\nprint('ready', studio_tinypkg.VERSION, flush=True)\n"


def add_arguments(parser) -> None:
    parser.add_argument("--runs", type=int, default=5, help="new environments (and reuses)")


def _wait_for(run, wanted: set[str]) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        status = run.get_status()
        if status in wanted:
            return status
        if time.monotonic() > deadline:
            raise SystemExit(f"{run.id} still {status} after {DEADLINE_S:g} s")
        time.sleep(POLL_S)


def _submit_to_running(exp, config) -> float:
    submitted = time.perf_counter()
    run = exp.submit(config)
    _wait_for(run, {"Running", "Completed", "Failed"})
    seconds = time.perf_counter() - submitted
    status = _wait_for(run, {"Completed", "Failed", "Canceled"})
    if status != "Completed":
        raise SystemExit(f"{run.id} ended {status}: {run.get_details().get('error')}")
    return seconds


def bench_environments(runs: int) -> dict:
    from studio.sdk import CondaDependencies, Environment, Experiment, ScriptRunConfig, Workspace

    root = Path(tempfile.mkdtemp(prefix="studio-bench-env-"))
    source = root / "src"
    source.mkdir()
    (source / "train.py").write_text(SCRIPT)
    plain_script = source / "plain.py"
    plain_script.write_text("print('ready', flush=True)\n")
    exp = Experiment(workspace=Workspace.from_config(), name="bench-environments")
    plain, built, cached = [], [], []
    for i in range(runs):
        wheels = root / f"wheels-{i}"  # a new folder: a new hash, a new environment
        make_wheel(wheels, version=f"1.{i}")
        deps = CondaDependencies.create(pip_packages=[f"studio_tinypkg==1.{i}"])
        deps.set_pip_option("--no-index")
        deps.set_pip_option(f"--find-links {wheels}")
        env = Environment(f"bench-env-{i}")
        env.python.conda_dependencies = deps
        config = ScriptRunConfig(source_directory=str(source), script="train.py", environment=env)
        plain.append(
            _submit_to_running(
                exp, ScriptRunConfig(source_directory=str(source), script="plain.py")
            )
        )
        built.append(_submit_to_running(exp, config))
        cached.append(_submit_to_running(exp, config))
    return {"runs": runs, "plain": plain, "built": built, "cached": cached}


def child(args) -> None:
    backend = harness.setup_child()
    results = {"backend": backend, "version": harness.backend_version()}
    results.update(bench_environments(args.runs))
    harness.write_results(args.child, results)


def report(backend: str, r: dict) -> bool:
    harness.line(backend, f"{r['version']}, {harness.machine()}")
    for key, what in (
        ("plain", "no environment (the submitter's interpreter)"),
        ("built", "new environment (venv + pip install of one wheel)"),
        ("cached", "the same environment again (cached venv)"),
    ):
        values = r[key]
        harness.line(
            backend,
            f"submit -> Running, {what}: median {statistics.median(values):.2f} s, "
            f"max {max(values):.2f} s over {r['runs']} runs",
        )
    saved = statistics.median(r["built"]) - statistics.median(r["cached"])
    ok = statistics.median(r["cached"]) < statistics.median(r["built"])
    harness.line(
        backend,
        f"cache hit saves {saved:.2f} s per run; cached within "
        f"{statistics.median(r['cached']) - statistics.median(r['plain']):+.2f} s of no environment",
        harness.verdict(ok),
    )
    return ok


def main() -> int:
    args = harness.parse_args(__doc__.splitlines()[0], add_arguments)
    if args.child:
        child(args)
        return 0
    return harness.run_backends(__file__, args, ["--runs", str(args.runs)], report)


if __name__ == "__main__":
    sys.exit(main())
