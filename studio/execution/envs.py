"""Virtual environments for submitted runs (v1's "environment build", done for real).

An environment that is not user-managed runs its script in a virtual environment
built from its packages: ``python -m venv`` (without pip: the submitter's pip
installs into it with ``--python``), then ``pip install -r`` of the resolved
requirements. Environments are cached by the hash of their resolved specification
under ``STUDIO_HOME/envs/<hash>`` and built once: a file lock (``flock``) makes two
concurrent submits of the same new environment wait for one build, and a marker
file written last says the build finished.

The job must still reach Studio's SDK: the venv gets a ``.pth`` file naming a
"runtime" folder of links to Studio's own dependencies (the closure of
requirements.txt, nothing else of the submitter's interpreter), added after the
venv's own packages, so what the environment installs comes first.

No Django here: the supervisor's glue is in ``studio.execution.envrun``.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

FORMAT = 1  # bump when the layout of a built environment changes: old ones are rebuilt
READY = ".studio-ready"
BUILD_RECORD = "studio-build.json"
STUDIO_ROOT = Path(__file__).resolve().parents[2]

# conda names whose pip name differs; a conda package not listed here and not in
# NO_PIP is installed under its own name.
CONDA_TO_PIP = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "opencv": "opencv-python",
    "py-opencv": "opencv-python",
    "matplotlib-base": "matplotlib",
    "pytables": "tables",
    "msgpack-python": "msgpack",
    "python-graphviz": "graphviz",
    "pyyaml": "PyYAML",
    "pillow": "Pillow",
    "tensorflow-gpu": "tensorflow",
    "scikit-learn-intelex": "scikit-learn-intelex",
    "lightgbm": "lightgbm",
    "ipykernel": "ipykernel",
}
# conda packages the interpreter or the venv already provide.
CONDA_ALREADY_THERE = {"pip", "setuptools", "wheel", "python", "cpuonly", "nomkl", "conda"}
# conda packages with no pip distribution: an environment naming them cannot be built.
NO_PIP = {
    "cudatoolkit",
    "cuda-toolkit",
    "cudnn",
    "nccl",
    "mkl",
    "mkl-service",
    "mkl_fft",
    "mkl_random",
    "libgcc-ng",
    "libstdcxx-ng",
    "libgfortran-ng",
    "openmpi",
    "mpich",
    "r-base",
    "blas",
    "libblas",
    "openblas",
    "gxx_linux-64",
    "gcc_linux-64",
    "cmake",
}


class BuildError(Exception):
    """The environment cannot be built; ``message`` says why, ``log`` has pip's tail."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.message = message
        self.log = log


class Stopped(Exception):
    """The run was cancelled (or failed) while its environment was being prepared."""


@dataclass
class Resolved:
    """What a venv is built from: pip lines (options first), the Python it runs on,
    and notes for the build log (packages mapped or left out, a Python pin that
    differs from the interpreter)."""

    requirements: list[str]
    options: list[str]
    python: str
    notes: list[str] = field(default_factory=list)

    @property
    def hash(self) -> str:
        spec = {
            "format": FORMAT,
            "python": self.python,
            "executable": os.path.realpath(sys.executable),
            "platform": sys.platform,
            "options": self.options,
            "requirements": self.requirements,
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]

    def requirements_text(self) -> str:
        return "".join(f"{line}\n" for line in [*self.options, *self.requirements])


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


_CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


def conda_to_pip(spec: str) -> str | None:
    """A conda package spec as a pip requirement (None: nothing to install).
    ``numpy=1.21`` (conda's prefix match) is ``numpy==1.21.*``; ``numpy=1.21.2=py38_0``
    drops the build string; ``conda-forge::numpy`` drops the channel."""
    spec = spec.split("::", 1)[-1].strip()
    m = _CONDA_SPEC.match(spec)
    if not m:
        raise BuildError(f"The conda package {spec!r} is not a package specification.")
    name, rest = m.group(1), m.group(2)
    key = name.lower()
    if key in CONDA_ALREADY_THERE:
        return None
    if key in NO_PIP:
        raise BuildError(
            f"The conda package {name!r} has no pip equivalent, and Studio builds "
            "environments with pip: remove it, or use a user-managed environment "
            "(env.python.user_managed_dependencies = True) where it is installed."
        )
    pip_name = CONDA_TO_PIP.get(key, name)
    if not rest:
        return pip_name
    if rest[0] not in "=<>!~":  # "numpy 1.21": conda's space-separated version
        rest = "=" + rest.split()[0]
    if rest.startswith("=") and not rest.startswith("=="):
        version = rest[1:].split("=", 1)[0]  # drop a build string
        if not version or version == "*":
            return pip_name
        return f"{pip_name}=={version}" if version.endswith("*") else f"{pip_name}=={version}.*"
    if rest.startswith("==") and rest.count("=") > 2:
        rest = "==" + rest[2:].split("=", 1)[0]
    return pip_name + rest


def _python_pin(spec: str) -> str | None:
    m = re.match(r"^python\s*(?:=|==|\s)\s*([0-9][0-9.*]*)", spec.split("::", 1)[-1].strip())
    return m.group(1).rstrip(".*") if m else None


def _is_studio_provided(requirement: str) -> bool:
    """The v1 SDK's own packages: Studio's SDK takes their place in the job."""
    name = re.split(r"[\s\[=<>~!;@]", requirement.strip(), maxsplit=1)[0].lower()
    return name.startswith("azureml-") or name.startswith("azureml_") or name == "azureml"


def resolve(definition: Mapping[str, Any]) -> Resolved | None:
    """The pip requirements of a v1 environment definition (``Environment``'s
    serialized dict), or None when it is user-managed (no venv to build)."""
    python = definition.get("python") or {}
    if python.get("userManagedDependencies"):
        return None
    conda = python.get("condaDependencies") or {}
    requirements: list[str] = []
    options: list[str] = []
    notes: list[str] = []
    here = python_version()
    for item in conda.get("dependencies") or []:
        if isinstance(item, dict):
            for line in item.get("pip") or []:
                line = str(line).strip()
                if not line or line.startswith("#"):
                    continue
                line = re.sub(r"\s+#.*$", "", line)
                if line.startswith("-"):
                    options.append(line)
                elif _is_studio_provided(line):
                    notes.append(f"{line}: provided by Studio (studio.sdk), not installed")
                else:
                    requirements.append(line)
            continue
        spec = str(item).strip()
        pin = _python_pin(spec)
        if pin is not None:
            wanted = pin.split(".")
            if wanted[0] != str(sys.version_info.major):
                raise BuildError(
                    f"The environment pins python={pin}; this machine runs Python {here}."
                )
            if len(wanted) > 1 and wanted[1] != str(sys.version_info.minor):
                notes.append(
                    f"python={pin} is pinned; the job runs on this machine's Python {here} "
                    "(the interpreter Studio's SDK runs on)"
                )
            continue
        pip_line = conda_to_pip(spec)
        if pip_line is None:
            continue
        notes.append(f"conda package {spec} is installed with pip as {pip_line}")
        requirements.append(pip_line)
    return Resolved(requirements=requirements, options=options, python=here, notes=notes)


# --- the runtime: Studio's own packages, seen by every venv --------------------------


def _requirement_tools():
    try:
        from packaging.requirements import Requirement
        from packaging.utils import canonicalize_name
    except ImportError:  # pip vendors it
        from pip._vendor.packaging.requirements import Requirement
        from pip._vendor.packaging.utils import canonicalize_name
    return Requirement, canonicalize_name


def _studio_requirements() -> list[str]:
    listed = STUDIO_ROOT / "requirements.txt"
    if listed.is_file():
        lines = listed.read_text().splitlines()
        return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    try:
        return list(importlib.metadata.distribution("studio").requires or [])
    except importlib.metadata.PackageNotFoundError:
        return []


def _closure() -> list[importlib.metadata.Distribution]:
    """The distributions Studio needs, with their dependencies (markers evaluated)."""
    Requirement, canonical = _requirement_tools()
    todo = [
        (Requirement(line), frozenset(Requirement(line).extras)) for line in _studio_requirements()
    ]
    seen: dict[str, tuple[importlib.metadata.Distribution, frozenset]] = {}
    while todo:
        req, extras = todo.pop()
        key = canonical(req.name)
        if key in seen and extras <= seen[key][1]:
            continue
        try:
            dist = importlib.metadata.distribution(req.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        extras = extras | (seen[key][1] if key in seen else frozenset())
        seen[key] = (dist, extras)
        for line in dist.requires or []:
            dep = Requirement(line)
            if dep.marker is not None and not any(
                dep.marker.evaluate({"extra": e}) for e in (extras or {""})
            ):
                continue
            todo.append((dep, frozenset(dep.extras)))
    return [dist for dist, _ in seen.values()]


def runtime_dir(root: Path) -> Path:
    """A folder of links to Studio's dependencies (built once per set of versions)."""
    dists = sorted(_closure(), key=lambda d: d.metadata["Name"].lower())
    key = hashlib.sha256(
        json.dumps(
            [os.path.realpath(sys.executable), sys.version]
            + [f"{d.metadata['Name']}=={d.version}@{d.locate_file('')}" for d in dists]
        ).encode()
    ).hexdigest()[:16]
    folder = root / f"runtime-{key}"
    if (folder / READY).exists():
        return folder
    partial = root / f"runtime-{key}.tmp-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for dist in dists:
        base = Path(dist.locate_file(""))
        tops = {Path(str(f)).parts[0] for f in dist.files or () if Path(str(f)).parts}
        for top in sorted(tops):
            source = base / top
            if top in ("..", "__pycache__") or top.endswith(".pth") or not source.exists():
                continue
            if top.startswith("__editable__"):
                continue
            link = partial / top
            if not link.exists():
                link.symlink_to(source)
    (partial / READY).touch()
    try:
        partial.rename(folder)
    except OSError:  # another process made it first
        shutil.rmtree(partial, ignore_errors=True)
    return folder


# --- building ---------------------------------------------------------------------------


def venv_python(folder: Path) -> Path:
    return folder / "bin" / "python"


def _site_packages(folder: Path) -> Path:
    found = sorted((folder / "lib").glob("python*/site-packages"))
    if not found:
        raise BuildError(f"The virtual environment in {folder} has no site-packages.")
    return found[0]


def _run_logged(
    command: Sequence[str], log: IO[bytes], tick: Callable[[], None], env: dict[str, str]
) -> int:
    """Run ``command`` with its output in ``log``, calling ``tick`` while it runs
    (it raises ``Stopped`` to stop the build: the process group is killed)."""
    log.write(("$ " + " ".join(str(c) for c in command) + "\n").encode())
    log.flush()
    proc = subprocess.Popen(
        [str(c) for c in command],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        while proc.poll() is None:
            tick()
            time.sleep(0.1)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        raise
    return proc.returncode


def _tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _pip_error(log_path: Path) -> str:
    """pip's own ERROR lines, which name what could not be installed."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    errors = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("ERROR:")]
    return "\n".join(errors) or _tail(log_path, 10)


def _lock(lock: IO, tick: Callable[[], None], say: Callable[[str], None]) -> None:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        say("another run is building this environment: waiting for it")
    while True:
        tick()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(0.1)


@dataclass
class Prepared:
    python: str
    hash: str
    built: bool  # False: the cached environment was used
    seconds: float


def ensure(
    resolved: Resolved,
    *,
    root: Path,
    log_path: Path,
    tick: Callable[[], None] = lambda: None,
    owner: str = "",
) -> Prepared:
    """The interpreter of the venv for ``resolved``, built (once) if it is not yet
    in the cache under ``root``. The build's output goes to ``log_path``; a failed
    build raises ``BuildError`` with pip's error and leaves nothing cached."""
    started = time.monotonic()
    key = resolved.hash
    folder = root / key
    root.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:

        def say(text: str) -> None:
            log.write(f"[studio] {text}\n".encode())
            log.flush()

        for note in resolved.notes:
            say(note)
        if (folder / READY).exists():
            say(f"environment {key} is cached: not built again")
            return Prepared(str(venv_python(folder)), key, False, time.monotonic() - started)
        with open(root / f"{key}.lock", "a+b") as lock:
            _lock(lock, tick, say)
            try:
                if (folder / READY).exists():
                    say(f"environment {key} was built by another run meanwhile: not built again")
                    return Prepared(
                        str(venv_python(folder)), key, False, time.monotonic() - started
                    )
                say(f"building environment {key} in {folder}")
                try:
                    _build(resolved, folder, root, log, log_path, tick)
                except BaseException:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
                seconds = time.monotonic() - started
                (folder / BUILD_RECORD).write_text(
                    json.dumps({"hash": key, "built_by": owner, "seconds": round(seconds, 3)})
                )
                (folder / READY).touch()
                say(f"environment {key} built in {seconds:.1f} s")
                return Prepared(str(venv_python(folder)), key, True, seconds)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _build(
    resolved: Resolved, folder: Path, root: Path, log: IO[bytes], log_path: Path, tick
) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    env.pop("PYTHONPATH", None)  # pip must see the venv, not Studio's path
    host_pip = importlib.util.find_spec("pip") is not None
    command = [sys.executable, "-m", "venv", *(["--without-pip"] if host_pip else []), folder]
    if _run_logged(command, log, tick, env) != 0:
        raise BuildError("python -m venv failed.", _tail(log_path))
    python = venv_python(folder)
    if resolved.requirements:
        listed = folder / "requirements.txt"
        listed.write_text(resolved.requirements_text())
        pip = (
            [sys.executable, "-m", "pip", "--python", python] if host_pip else [python, "-m", "pip"]
        )
        code = _run_logged([*pip, "install", "-r", listed], log, tick, env)
        if code != 0:
            raise BuildError(
                f"pip could not install the environment's packages: {_pip_error(log_path)}",
                _tail(log_path),
            )
    # Written after pip ran, so pip saw an empty venv and installed everything asked.
    runtime = runtime_dir(root)
    (_site_packages(folder) / "_studio_runtime.pth").write_text(f"{STUDIO_ROOT}\n{runtime}\n")
