"""System metrics of a run, sampled by its supervisor and logged under ``sys/`` (a
prefix the run's own code may not log: ``rules.validation.SYSTEM_METRIC_PREFIX``).

Every ``STUDIO_SYSTEM_METRICS_SECONDS`` (10 by default; 0 turns sampling off) one
sample of the run's process tree (the script, its descendants, and the orphans the
supervisor adopted as their subreaper), as one point per metric at step = the
sample's number:

- ``sys/cpu_percent``: CPU time of the tree over the interval, 100 = one core busy
  (as ``top`` counts: above 100 on several cores);
- ``sys/memory_rss_mb``: resident memory of the tree, MiB (2**20 bytes), and
  ``sys/memory_percent`` of the machine's memory;
- ``sys/processes``: processes in the tree;
- ``sys/disk_read_mb_per_s``, ``sys/disk_write_mb_per_s``: bytes the tree had the
  storage layer read and write over the interval (Linux ``read_bytes`` and
  ``write_bytes``: page-cache hits are not reads), MiB/s;
- ``sys/host_net_recv_mb_per_s``, ``sys/host_net_sent_mb_per_s``: the whole
  machine's network traffic, MiB/s. The kernel counts network bytes per interface,
  not per process: this is every process of the host, not only the run's;
- with NVIDIA's management library (``nvidia-ml-py``, optional: ``import pynvml``
  and ``nvmlInit()`` must work), per GPU the run may use (``CUDA_VISIBLE_DEVICES``:
  indices or UUIDs; all GPUs when unset), numbered as NVML numbers them:
  ``sys/gpu0/util_percent``, ``sys/gpu0/memory_used_mb`` (MiB),
  ``sys/gpu0/memory_percent``, ``sys/gpu0/power_w``. GPU figures are the whole
  device's, whichever process uses it.

Absent hardware or a reading the machine does not give (no GPU, no NVML, a GPU
without power readings, another user's I/O counters) is simply absent. A sample
that fails, or that the studio does not take, is noted once in the run's log and
never stops the run. Imports no Django: it runs in every supervisor.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import Any

ENV = "STUDIO_SYSTEM_METRICS_SECONDS"
DEFAULT_EVERY = 10.0
MIN_EVERY = 0.1
PREFIX = "sys/"
MIB = float(2**20)


def interval(value: str | None) -> tuple[float, str]:
    """Seconds between samples from ``value`` (the environment variable): (seconds,
    "") or, for a value that is not a number >= 0, the default and a note that says
    why. 0 means off; below ``MIN_EVERY`` is raised to it."""
    if value is None or not value.strip():
        return DEFAULT_EVERY, ""
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        return DEFAULT_EVERY, (
            f"{ENV}={value!r} is not a number of seconds >= 0; "
            f"system metrics are sampled every {DEFAULT_EVERY:g} s"
        )
    return (0.0 if seconds == 0 else max(MIN_EVERY, seconds)), ""


class Gpus:
    """The GPUs NVML shows and the run may use, or none: any failure to import or
    initialise the library means no GPU metrics, never an error."""

    def __init__(self, visible: str | None = None) -> None:
        self.nvml: Any = None
        self.handles: list[tuple[int, Any]] = []
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception:  # not installed, no driver, no device: nothing to sample
            return
        self.nvml = pynvml
        try:
            handles = [
                (i, pynvml.nvmlDeviceGetHandleByIndex(i))
                for i in range(pynvml.nvmlDeviceGetCount())
            ]
        except Exception:
            handles = []
        self.handles = [(i, h) for i, h in handles if self._visible(i, h, visible)]

    def _visible(self, index: int, handle: Any, visible: str | None) -> bool:
        """Whether CUDA_VISIBLE_DEVICES (``visible``) lists the device, by index or
        by (a prefix of) its UUID; unset lists every device."""
        if visible is None:
            return True
        wanted = [w.strip() for w in visible.split(",") if w.strip()]
        if str(index) in wanted:
            return True
        uuids = [w for w in wanted if w.startswith(("GPU-", "MIG-"))]
        if not uuids:
            return False
        try:
            uuid_ = self.nvml.nvmlDeviceGetUUID(handle)
        except Exception:
            return False
        uuid_ = uuid_.decode() if isinstance(uuid_, bytes) else str(uuid_)
        return any(uuid_.startswith(w) for w in uuids)

    def sample(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for index, handle in self.handles:
            name = f"{PREFIX}gpu{index}/"
            readings: dict[str, Callable[[], float]] = {
                "util_percent": lambda h=handle: self.nvml.nvmlDeviceGetUtilizationRates(h).gpu,
                "power_w": lambda h=handle: self.nvml.nvmlDeviceGetPowerUsage(h) / 1000.0,
            }
            for key, read in readings.items():
                try:
                    out[name + key] = float(read())
                except Exception:  # this device does not give this reading
                    pass
            try:
                memory = self.nvml.nvmlDeviceGetMemoryInfo(handle)
                out[name + "memory_used_mb"] = memory.used / MIB
                if memory.total:
                    out[name + "memory_percent"] = 100.0 * memory.used / memory.total
            except Exception:
                pass
        return out

    def close(self) -> None:
        if self.nvml is not None:
            try:
                self.nvml.nvmlShutdown()
            except Exception:
                pass
            self.nvml = None


class TreeSampler:
    """Samples the process tree of ``pid`` (and the descendants of ``adopter``, the
    supervisor when it is the subreaper orphans are given to; never ``adopter``
    itself). CPU and disk figures are the difference from the previous sample,
    kept per process (a process that started since counts from its start)."""

    def __init__(self, pid: int, *, adopter: int | None = None, gpus: Gpus | None = None) -> None:
        import psutil

        self.psutil = psutil
        self.pid, self.adopter = pid, adopter
        self.gpus = gpus if gpus is not None else Gpus(os.environ.get("CUDA_VISIBLE_DEVICES"))
        self.total_memory = psutil.virtual_memory().total
        self.last = time.monotonic()
        self.cpu: dict[tuple[int, float], float] = {}
        self.io: dict[tuple[int, float], tuple[int, int]] = {}
        self.net = self._net()

    def _net(self):
        try:
            return self.psutil.net_io_counters()
        except Exception:
            return None

    def members(self) -> list:
        found: dict[int, Any] = {}
        for root, include_root in ((self.pid, True), (self.adopter, False)):
            if root is None:
                continue
            try:
                process = self.psutil.Process(root)
                tree = process.children(recursive=True)
            except self.psutil.Error:
                continue
            for p in [process, *tree] if include_root else tree:
                found[p.pid] = p
        return list(found.values())

    def sample(self) -> dict[str, float]:
        """One sample: metric name -> value (what could not be read is left out)."""
        now = time.monotonic()
        elapsed = max(now - self.last, 1e-3)
        self.last = now
        rss = cpu = read = written = 0.0
        count = 0
        cpu_seen: dict[tuple[int, float], float] = {}
        io_seen: dict[tuple[int, float], tuple[int, int]] = {}
        for p in self.members():
            try:
                with p.oneshot():
                    key = (p.pid, p.create_time())
                    times = p.cpu_times()
                    memory = p.memory_info()
            except self.psutil.Error:
                continue  # gone meanwhile
            count += 1
            rss += memory.rss
            spent = times.user + times.system
            cpu += max(0.0, spent - self.cpu.get(key, 0.0))
            cpu_seen[key] = spent
            try:
                counters = p.io_counters()
            except (self.psutil.Error, AttributeError, NotImplementedError):
                continue  # another user's process, or a platform without them
            before = self.io.get(key, (0, 0))
            read += max(0, counters.read_bytes - before[0])
            written += max(0, counters.write_bytes - before[1])
            io_seen[key] = (counters.read_bytes, counters.write_bytes)
        self.cpu, self.io = cpu_seen, io_seen
        out = {f"{PREFIX}processes": float(count)}
        if count:
            out[f"{PREFIX}cpu_percent"] = 100.0 * cpu / elapsed
            out[f"{PREFIX}memory_rss_mb"] = rss / MIB
            if self.total_memory:
                out[f"{PREFIX}memory_percent"] = 100.0 * rss / self.total_memory
            if io_seen:
                out[f"{PREFIX}disk_read_mb_per_s"] = read / MIB / elapsed
                out[f"{PREFIX}disk_write_mb_per_s"] = written / MIB / elapsed
        net = self._net()
        if net is not None and self.net is not None:
            out[f"{PREFIX}host_net_recv_mb_per_s"] = (
                max(0, net.bytes_recv - self.net.bytes_recv) / MIB / elapsed
            )
            out[f"{PREFIX}host_net_sent_mb_per_s"] = (
                max(0, net.bytes_sent - self.net.bytes_sent) / MIB / elapsed
            )
        self.net = net
        out.update(self.gpus.sample())
        return out

    def close(self) -> None:
        self.gpus.close()


class Reporter:
    """What the supervisor's loop calls (``tick``): a sample every ``every`` seconds,
    logged through ``backend.log_system_metrics``. Nothing it does raises: a failure
    is noted once (``note``: a line in the run's log) and sampling goes on."""

    def __init__(
        self,
        backend: Any,
        run_id: str,
        pid: int,
        *,
        every: float,
        adopter: int | None = None,
        note: Callable[[str], None] = lambda text: None,
    ) -> None:
        self.backend, self.run_id, self.every, self.note = backend, run_id, every, note
        self.step = 0
        self.noted: set[str] = set()
        self.sampler: TreeSampler | None = None
        self.next_at = time.monotonic() + every
        try:
            self.sampler = TreeSampler(pid, adopter=adopter)
        except Exception as exc:
            self._note("sample", f"system metrics are off: {type(exc).__name__}: {exc}")

    def _note(self, what: str, text: str) -> None:
        if what not in self.noted:
            self.noted.add(what)
            try:
                self.note(text)
            except Exception:
                pass

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self.sampler is None or now < self.next_at:
            return
        self.next_at = now + self.every
        try:
            values = self.sampler.sample()
        except Exception as exc:
            self._note("sample", f"system metrics: a sample failed: {type(exc).__name__}: {exc}")
            return
        at = time.time()
        series = [
            {"name": name, "steps": [self.step], "values": [value], "times": [at]}
            for name, value in sorted(values.items())
        ]
        self.step += 1
        try:
            self.backend.log_system_metrics(self.run_id, f"sys-{uuid.uuid4().hex}", series)
        except Exception as exc:
            self._note(
                "send",
                f"system metrics: the studio did not take a sample ({type(exc).__name__}: "
                f"{exc}); later samples are still sent",
            )

    def close(self) -> None:
        if self.sampler is not None:
            self.sampler.close()
            self.sampler = None
