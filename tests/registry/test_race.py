"""Versions are handed out in one transaction per registration: four processes
registering the same new name at once get versions 1-4, no number twice, and every
version keeps its own files."""

from __future__ import annotations

import subprocess
import textwrap
import time

from studio.registry.models import ModelFile, ModelVersion, RegisteredModel
from tests.conftest import PYTHON

SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from studio.sdk import Model, Workspace

    ws = Workspace.from_config()          # connect (and migrate nothing) before the start
    me = sys.argv[1]
    Path(f"model-{me}.pkl").write_bytes(me.encode())
    Path(f"ready-{me}").touch()
    while not Path("go").exists():
        time.sleep(0.005)
    model = Model.register(ws, f"model-{me}.pkl", "raced", tags={"by": me})
    print(model.version)
    """
)


def test_four_processes_registering_one_name_get_versions_1_to_4(subprocess_env, tmp_path, sdk):
    sdk.Workspace.from_config()  # the workspace exists before the race
    procs = [
        subprocess.Popen(
            [PYTHON, "-c", SCRIPT, str(i)],
            env=subprocess_env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{i}").exists() for i in range(4)):
        assert time.monotonic() < deadline, "the processes did not start"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outputs]

    assert sorted(int(out.split()[-1]) for out, _ in outputs) == [1, 2, 3, 4]
    assert RegisteredModel.objects.get(name="raced").version_counter == 4
    versions = ModelVersion.objects.filter(model__name="raced")
    assert sorted(versions.values_list("version", flat=True)) == [1, 2, 3, 4]
    # Each version holds the file of the process that got it.
    for version in versions:
        (only,) = ModelFile.objects.filter(version=version)
        assert only.name == f"model-{version.tags['by']}.pkl"
