"""System metrics (issue 14, item 8): the supervisor samples the script's process
tree (and the GPUs, when NVIDIA's library is there) and logs them under ``sys/``.

The sampler alone, then scripts run for real under a supervisor with a short
interval: on the ``local`` target (the database) and on a worker with only a URL and
a run token (the API)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from studio.execution import sysmetrics
from studio.tracking.models import MetricSummary
from tests.conftest import ROOT
from tests.execution import fake_pynvml
from tests.jobs import wait_terminal, wait_until

GPU_NAMES = {
    "sys/gpu0/util_percent",
    "sys/gpu0/memory_used_mb",
    "sys/gpu0/memory_percent",
    "sys/gpu0/power_w",
    "sys/gpu1/util_percent",
    "sys/gpu1/memory_used_mb",
    "sys/gpu1/memory_percent",
}


@pytest.fixture
def nvml(monkeypatch):
    """The fake pynvml as ``import pynvml`` finds it in this process."""
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml)
    fake_pynvml.calls.clear()
    return fake_pynvml


@pytest.fixture
def child():
    """A Python process holding 32 MiB, for the sampler to look at."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nb = bytearray(32 * 2**20)\nfor i in range(0, len(b), 4096): "
            "b[i] = 1\nprint('ready', flush=True)\ntime.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline() == "ready\n"
    yield proc
    proc.kill()
    proc.wait()


# --- the sampler --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, seconds, problem",
    [
        (None, 10.0, False),
        ("", 10.0, False),
        ("2.5", 2.5, False),
        ("0", 0.0, False),
        ("0.001", sysmetrics.MIN_EVERY, False),
        ("-1", 10.0, True),
        ("ten", 10.0, True),
        ("nan", 10.0, True),
        ("inf", 10.0, True),
    ],
)
def test_the_interval_comes_from_the_environment_and_a_bad_one_is_named(value, seconds, problem):
    got, note = sysmetrics.interval(value)
    assert got == seconds
    assert bool(note) is problem
    if problem:
        assert sysmetrics.ENV in note and repr(value) in note


def test_the_sampler_measures_the_tree_it_is_given(child, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` fails: no GPUs
    sampler = sysmetrics.TreeSampler(child.pid)
    values = sampler.sample()
    assert values["sys/processes"] == 1
    assert values["sys/memory_rss_mb"] >= 32
    assert 0 < values["sys/memory_percent"] < 100
    assert values["sys/cpu_percent"] >= 0
    assert "sys/host_net_recv_mb_per_s" in values and "sys/disk_write_mb_per_s" in values
    assert not [name for name in values if name.startswith("sys/gpu")]
    assert all(name.startswith("sys/") for name in values)
    child.kill()
    child.wait()
    gone = sampler.sample()
    assert gone["sys/processes"] == 0 and "sys/memory_rss_mb" not in gone


def test_the_supervisors_adopted_orphans_count_but_not_the_supervisor(child):
    # This test process stands for the supervisor: its children are the run's.
    sampler = sysmetrics.TreeSampler(child.pid, adopter=os.getpid())
    assert [p.pid for p in sampler.members()].count(child.pid) == 1
    assert os.getpid() not in [p.pid for p in sampler.members()]


def test_every_gpu_nvml_shows_gives_its_readings_and_a_missing_one_is_absent(nvml, child):
    values = sysmetrics.TreeSampler(child.pid).sample()
    assert {n for n in values if n.startswith("sys/gpu")} == GPU_NAMES  # no power of gpu1
    assert values["sys/gpu0/util_percent"] == 87
    assert values["sys/gpu0/memory_used_mb"] == 3000
    assert values["sys/gpu0/memory_percent"] == 3000 / 16000 * 100
    assert values["sys/gpu0/power_w"] == 215.5


@pytest.mark.parametrize(
    "visible, devices",
    [("1", {1}), ("GPU-aaaa", {0}), ("GPU-bbbb-1111,0", {0, 1}), ("", set()), ("7", set())],
)
def test_only_the_gpus_cuda_visible_devices_names_are_sampled(nvml, visible, devices):
    gpus = sysmetrics.Gpus(visible)
    assert {i for i, _ in gpus.handles} == devices


def test_a_library_that_does_not_initialise_means_no_gpus_and_no_error(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_INIT_FAILS", "1")
    gpus = sysmetrics.Gpus()
    assert gpus.handles == [] and gpus.sample() == {}
    gpus.close()
    assert nvml.calls == ["init"]  # never shut down what did not start


class Backend:
    def __init__(self, fail: Exception | None = None):
        self.batches: list[tuple[str, list]] = []
        self.fail = fail

    def log_system_metrics(self, run_id, batch_id, series):
        self.batches.append((batch_id, series))
        if self.fail:
            raise self.fail


def test_the_reporter_sends_one_numbered_point_per_metric_each_interval(child, nvml):
    backend = Backend()
    reporter = sysmetrics.Reporter(backend, "r1", child.pid, every=5.0)
    start = reporter.next_at
    reporter.tick(start - 1)  # not yet
    reporter.tick(start)
    reporter.tick(start + 1)  # not again before the interval
    reporter.tick(start + 5)
    assert len(backend.batches) == 2
    (id0, first), (id1, second) = backend.batches
    assert id0 != id1
    assert [s["steps"] for s in first] == [[0]] * len(first)
    assert [s["steps"] for s in second] == [[1]] * len(second)
    names = [s["name"] for s in first]
    assert names == sorted(names) and "sys/cpu_percent" in names and "sys/gpu0/power_w" in names
    reporter.close()
    assert nvml.calls[-1] == "shutdown"


def test_a_studio_that_refuses_samples_is_noted_once_and_sampling_goes_on(child):
    notes: list[str] = []
    backend = Backend(fail=RuntimeError("database is locked"))
    reporter = sysmetrics.Reporter(backend, "r1", child.pid, every=1.0, note=notes.append)
    for _ in range(3):
        reporter.tick(reporter.next_at)
    assert len(backend.batches) == 3
    assert len(notes) == 1 and "database is locked" in notes[0]


def test_a_sample_that_fails_is_noted_once_and_never_raises(child):
    notes: list[str] = []
    backend = Backend()
    reporter = sysmetrics.Reporter(backend, "r1", child.pid, every=1.0, note=notes.append)

    def broken():
        raise OSError("no /proc")

    reporter.sampler.sample = broken
    reporter.tick(reporter.next_at)
    reporter.tick(reporter.next_at)
    assert backend.batches == [] and len(notes) == 1 and "no /proc" in notes[0]


# --- under a supervisor -----------------------------------------------------------------

# Busy and holding 48 MiB until the gate file exists.
BUSY = """
    import sys
    from pathlib import Path
    block = bytearray(48 * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    print("holding", flush=True)
    gate = Path(sys.argv[1])
    while not gate.exists():
        sum(range(20_000))
"""


def system_metrics(run_id: str) -> dict[str, MetricSummary]:
    return {
        s.name: s for s in MetricSummary.objects.filter(run__run_id=run_id, name__startswith="sys/")
    }


@pytest.fixture
def sampled(jobs, monkeypatch, tmp_path):
    """Supervisors started from here sample every 0.2 s, and ``import pynvml`` in them
    finds ``pynvml(kind)``: "missing" (fails to import, as without nvidia-ml-py) or
    "fake" (``fake_pynvml``)."""
    monkeypatch.setenv(sysmetrics.ENV, "0.2")

    def use(kind: str):
        folder = tmp_path / f"nvml-{kind}"
        if kind == "fake":
            fake_pynvml.install(folder)
        else:
            folder.mkdir()
            (folder / "pynvml.py").write_text("raise ImportError('no nvidia-ml-py here')\n")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(folder)]))

    return use


def run_busy(submit, source, tmp_path, samples: int = 3, target: str = "local"):
    """Submit BUSY, let it be sampled ``samples`` times, open the gate; the run."""
    gate = tmp_path / "gate"
    run = submit(source.write("busy.py", BUSY), gate, target=target)
    wait_until(
        lambda: (s := system_metrics(run.id).get("sys/cpu_percent")) and s.count >= samples,
        every=0.1,
    )
    gate.touch()
    assert wait_terminal(run) == "Completed", run.get_details()
    return run


@pytest.mark.slow
def test_a_supervised_script_gets_cpu_and_memory_metrics_and_no_gpu_without_nvml(
    sampled, submit, source, tmp_path
):
    sampled("missing")
    run = run_busy(submit, source, tmp_path)
    found = system_metrics(run.id)
    assert {"sys/cpu_percent", "sys/memory_rss_mb", "sys/processes"} <= set(found)
    assert not [name for name in found if name.startswith("sys/gpu")]
    assert found["sys/memory_rss_mb"].max_value >= 48
    assert found["sys/cpu_percent"].max_value > 5  # busy, on a shared machine
    assert found["sys/processes"].max_value >= 1
    # One point per sample, numbered from 0, the same steps for every metric.
    assert found["sys/cpu_percent"].count >= 3
    assert found["sys/memory_rss_mb"].last_step == found["sys/cpu_percent"].last_step
    # The script logged nothing of its own; nothing of a failure was noted.
    assert set(run.get_metrics()) == set(found)
    assert "system metrics" not in _log(run)


@pytest.mark.slow
def test_a_fake_nvml_in_the_supervisor_gives_gpu_metrics(sampled, submit, source, tmp_path):
    sampled("fake")
    run = run_busy(submit, source, tmp_path, samples=2)
    found = system_metrics(run.id)
    assert {n for n in found if n.startswith("sys/gpu")} == GPU_NAMES
    assert found["sys/gpu0/util_percent"].last_value == 87
    assert found["sys/gpu0/power_w"].last_value == 215.5


@pytest.mark.slow
def test_a_library_that_fails_to_initialise_costs_nothing(
    sampled, submit, source, tmp_path, monkeypatch
):
    sampled("fake")
    monkeypatch.setenv("FAKE_NVML_INIT_FAILS", "1")
    run = run_busy(submit, source, tmp_path, samples=2)
    found = system_metrics(run.id)
    assert "sys/cpu_percent" in found
    assert not [name for name in found if name.startswith("sys/gpu")]


@pytest.mark.slow
def test_sampling_turned_off_logs_nothing(jobs, submit, source, monkeypatch):
    monkeypatch.setenv(sysmetrics.ENV, "0")
    run = submit(source.write("quick.py", "print('done')\n"))
    assert wait_terminal(run) == "Completed"
    assert system_metrics(run.id) == {}


@pytest.mark.slow
def test_a_worker_with_only_a_run_token_sends_system_metrics_over_the_api(
    live_server, submitter, submit, source, tmp_path, jobs
):
    from tests.execution.test_remote_worker import TARGET, start_remote

    worker = start_remote(live_server, tmp_path, env={sysmetrics.ENV: "0.2"})
    try:
        run = run_busy(submit, source, tmp_path, target=TARGET)
    finally:
        worker.kill()
        worker.wait()
    found = system_metrics(run.id)
    assert {"sys/cpu_percent", "sys/memory_rss_mb"} <= set(found)
    assert found["sys/memory_rss_mb"].max_value >= 48


def _log(run) -> str:
    from studio.tracking import selectors
    from studio.tracking.models import Run

    record = Run.objects.get(run_id=run.id)
    run_file = selectors.file_get(run=record, name="logs/std_log.txt")
    return selectors.file_read(run_file=run_file, offset=0, limit=1 << 20)[0].decode()
