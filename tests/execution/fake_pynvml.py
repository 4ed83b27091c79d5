"""A stand-in for NVIDIA's ``pynvml`` (package ``nvidia-ml-py``) on a machine without
GPUs: the calls ``studio.execution.sysmetrics`` makes, with two devices. Device 1
gives no power reading, as some GPUs do not. ``FAKE_NVML_INIT_FAILS`` in the
environment makes ``nvmlInit`` fail as it does without a driver.

Tests put it in ``sys.modules`` (in-process), or on a supervisor's PYTHONPATH as
``pynvml.py`` (``install``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

MIB = 2**20
DEVICES = [
    {"uuid": "GPU-aaaa-0000", "util": 87, "used": 3000 * MIB, "total": 16000 * MIB, "mw": 215500},
    {"uuid": "GPU-bbbb-1111", "util": 5, "used": 500 * MIB, "total": 16000 * MIB, "mw": None},
]
calls: list[str] = []


class NVMLError(Exception):
    pass


def nvmlInit():
    calls.append("init")
    if os.environ.get("FAKE_NVML_INIT_FAILS"):
        raise NVMLError("NVML Shared Library Not Found")


def nvmlShutdown():
    calls.append("shutdown")


def nvmlDeviceGetCount():
    return len(DEVICES)


def nvmlDeviceGetHandleByIndex(index):
    return DEVICES[index]


def nvmlDeviceGetUUID(handle):
    return handle["uuid"]


def nvmlDeviceGetUtilizationRates(handle):
    return SimpleNamespace(gpu=handle["util"], memory=10)


def nvmlDeviceGetMemoryInfo(handle):
    return SimpleNamespace(used=handle["used"], total=handle["total"], free=0)


def nvmlDeviceGetPowerUsage(handle):
    if handle["mw"] is None:
        raise NVMLError("Not Supported")
    return handle["mw"]


def install(folder: Path) -> Path:
    """This module as ``folder/pynvml.py``: importable by a process whose PYTHONPATH
    has ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(__file__, folder / "pynvml.py")
    return folder
