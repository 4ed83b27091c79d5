"""Slurm benchmark (issue 13): submit -> Running and cancel() -> Canceled medians over
N runs on a ``slurm`` target (``studio worker --target hpc`` as the bridge, the local
one-node Slurm of scripts/slurm-dev.sh, started when it is not up), beside the same
figures for the ``local`` target; then a check that every run ended Canceled with no
process left and each slurm run was one Slurm job.

    .venv/bin/python bench/slurm.py [--postgres URL | --no-postgres] [--runs N]
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness

CANCEL_TARGET_S = 2.0  # issue 13: as for a local run, a script honouring SIGTERM
POLL_S = 0.005
DEADLINE_S = 60.0
SCRIPT = "import time\nprint('ready', flush=True)\ntime.sleep(1000)\n"
SLURM_DEV = harness.ROOT / "scripts" / "slurm-dev.sh"


def add_arguments(parser) -> None:
    parser.add_argument("--runs", type=int, default=10, help="runs per target")


def _wait_for(run, wanted: set[str]) -> tuple[str, float]:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        status = run.get_status()
        if status in wanted:
            return status, time.perf_counter()
        if time.monotonic() > deadline:
            error = run.get_details().get("error") or {}
            raise SystemExit(
                f"{run.id} still {status} after {DEADLINE_S:g} s: {error.get('message', '')}"
            )
        time.sleep(POLL_S)


def _wait_for_log(run, text: bytes) -> None:
    from studio.errors import NotFound

    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        try:
            if text in run._store.read_file(run.id, "logs/std_log.txt")[0]:
                return
        except NotFound:
            pass
        time.sleep(POLL_S)
    raise SystemExit(f"{run.id} never printed {text!r}")


def _processes_of(run_id: str) -> int:
    import psutil

    count = 0
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("STUDIO_RUN_ID") == run_id or (
                run_id in proc.cmdline() and "studio.execution.supervisor" in proc.cmdline()
            ):
                count += 1
        except psutil.Error:
            continue
    return count


def bench_target(exp, config, runs: int) -> dict:
    from studio.execution import slurm
    from studio.execution.models import Execution

    to_running, to_canceled, finals, run_ids = [], [], [], []
    for _ in range(runs):
        submitted = time.perf_counter()
        run = exp.submit(config)
        _, running = _wait_for(run, {"Running"})
        to_running.append(running - submitted)
        _wait_for_log(run, b"ready")
        asked = time.perf_counter()
        run.cancel()
        status, ended = _wait_for(run, {"Canceled", "Failed", "Completed"})
        to_canceled.append(ended - asked)
        finals.append(status)
        run_ids.append(run.id)
    time.sleep(2)  # supervisors exit after reporting Canceled
    surviving = sum(_processes_of(r) for r in run_ids)
    jobs = 0
    if config.compute_target != "local":
        names = [j.name for j in slurm.jobs().values()]
        jobs = sum(names.count(slurm.job_name(r)) for r in run_ids)
        recorded = Execution.objects.filter(run__run_id__in=run_ids).exclude(slurm_job_id="")
        assert recorded.count() == runs
    return {
        "runs": runs,
        "to_running": to_running,
        "to_canceled": to_canceled,
        "canceled": finals.count("Canceled"),
        "surviving": surviving,
        "jobs": jobs,
    }


@contextlib.contextmanager
def studio_server():
    """The studio on a free loopback port (gunicorn, this process's database and
    STUDIO_HOME): a Slurm job's supervisor reaches the studio over its API only."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(Path(os.environ["STUDIO_HOME"]) / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "studio.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"],
        env={**os.environ, "PYTHONPATH": str(harness.ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/accounts/login/", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the studio server did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def child(args) -> None:
    backend = harness.setup_child()
    from django.contrib.auth import get_user_model

    from studio.accounts.models import Membership, Role
    from studio.sdk import ComputeTarget, Experiment, ScriptRunConfig, SlurmCompute, Workspace
    from studio.tracking.models import Workspace as WorkspaceModel

    if subprocess.run([str(SLURM_DEV), "status"]).returncode != 0:
        subprocess.run([str(SLURM_DEV), "up"], check=True)
    os.environ["SLURM_CONF"] = (
        subprocess.run([str(SLURM_DEV), "env"], capture_output=True, text=True, check=True)
        .stdout.split("=", 1)[1]
        .strip()
    )

    ws = Workspace.from_config()
    ComputeTarget.create(ws, "hpc", SlurmCompute(partition="debug"))
    # A worker's job reports as its submitter: an account that may write here.
    user, _ = get_user_model().objects.get_or_create(username=ws._store.user)
    Membership.objects.get_or_create(
        user=user, workspace=WorkspaceModel.objects.get(name=ws.name), role=Role.OWNER
    )
    source = Path(tempfile.mkdtemp(prefix="studio-bench-src-"))
    (source / "honour.py").write_text(SCRIPT)
    exp = Experiment(workspace=ws, name="bench-slurm")
    results = {"backend": backend, "version": harness.backend_version()}
    local = ScriptRunConfig(source_directory=str(source), script="honour.py")
    results["local"] = bench_target(exp, local, args.runs)
    server = contextlib.ExitStack()
    url = server.enter_context(studio_server())
    bridge = subprocess.Popen(
        [sys.executable, "-m", "studio", "worker", "--target", "hpc", "-w", ws.name,
         "--server", url],
        env={**os.environ, "PYTHONPATH": str(harness.ROOT)},
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        on_slurm = ScriptRunConfig(
            source_directory=str(source), script="honour.py", compute_target="hpc"
        )
        results["slurm"] = bench_target(exp, on_slurm, args.runs)
    finally:
        bridge.send_signal(signal.SIGINT)
        bridge.wait(timeout=10)
        server.close()
    harness.write_results(args.child, results)


def report(backend: str, r: dict) -> bool:
    harness.line(backend, f"{r['version']}, {harness.machine()}")
    ok = True
    for target in ("local", "slurm"):
        t = r[target]
        running, canceled = t["to_running"], t["to_canceled"]
        median = statistics.median(canceled)
        harness.line(
            backend,
            f"{target:5}: submit -> Running median {statistics.median(running):.2f} s "
            f"(max {max(running):.2f}), cancel() -> Canceled median {median:.2f} s "
            f"(max {max(canceled):.2f}) over {t['runs']} runs",
            f"target <= {CANCEL_TARGET_S:g} s: {'met' if median <= CANCEL_TARGET_S else 'MISSED'}",
        )
        good = t["canceled"] == t["runs"] and t["surviving"] == 0
        if target == "slurm":
            good = good and t["jobs"] == t["runs"]
        harness.line(
            backend,
            f"{target:5}: {t['canceled']} of {t['runs']} Canceled, surviving processes "
            f"{t['surviving']}" + (f", Slurm jobs {t['jobs']}" if target == "slurm" else ""),
            harness.verdict(good),
        )
        ok = ok and good
    return ok


def main() -> int:
    args = harness.parse_args(__doc__.splitlines()[0], add_arguments, database="studio_bench_slurm")
    if args.child:
        child(args)
        return 0
    return harness.run_backends(
        __file__, args, ["--runs", str(args.runs)], report, database="studio_bench_slurm"
    )


if __name__ == "__main__":
    sys.exit(main())
