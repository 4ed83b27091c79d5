"""Compute target kinds (issue 13, item 1): a slurm target is created and read back
from the SDK on both stores with its settings; every wrong setting is refused with an
error naming it and nothing is stored; local is built in; a target with waiting runs
keeps its kind and is not deleted."""

import pytest

from studio.sdk import ComputeTarget, Conflict, SlurmCompute, ValidationError
from studio.sdk.compute import SlurmComputeTarget


def test_a_slurm_target_is_created_and_found_with_its_settings(ws):
    created = ComputeTarget.create(
        ws,
        "hpc",
        SlurmCompute(
            partition="debug",
            account=None,
            time_limit="02:00:00",
            gres="gpu:1",
            extra_sbatch_args=["--qos=high", "--exclusive"],
        ),
    )
    assert type(created) is SlurmComputeTarget and created.kind == "slurm"
    found = ws.compute_targets["hpc"]
    assert type(found) is SlurmComputeTarget
    assert (found.partition, found.account, found.time_limit, found.gres) == (
        "debug",
        None,
        "02:00:00",
        "gpu:1",
    )
    assert found.extra_sbatch_args == ["--qos=high", "--exclusive"]
    assert "hpc" in ws.compute_targets
    details = found.get_details()
    assert details["kind"] == "slurm" and details["queued"] == 0 and details["jobs"] == []
    # created again with other settings: the same target, changed
    ComputeTarget.create(ws, "hpc", SlurmCompute(partition="long", time_limit="1-00:00:00"))
    again = ComputeTarget(ws, "hpc")
    assert (again.partition, again.time_limit, again.gres) == ("long", "1-00:00:00", None)


BAD = [
    ({"partition": "debug; rm -rf /"}, "partition"),
    ({"partition": "a" * 65}, "partition"),
    ({"account": "team lead"}, "account"),
    ({"time_limit": "2 hours"}, "time_limit"),
    ({"time_limit": "0"}, "time_limit"),
    ({"time_limit": "01:75:00"}, "time_limit"),
    ({"gres": "gpu 1"}, "gres"),
    ({"extra_sbatch_args": ["--output=/tmp/x"]}, "--output is refused"),
    ({"extra_sbatch_args": ["--wrap=hostname"]}, "--wrap is refused"),
    ({"extra_sbatch_args": ["--parsable"]}, "--parsable is refused"),
    ({"extra_sbatch_args": ["--job-name=x"]}, "--job-name is refused"),
    ({"extra_sbatch_args": ["--export=NONE"]}, "--export is refused"),
    ({"extra_sbatch_args": ["-o", "/tmp/x"]}, "not a long option"),
    ({"extra_sbatch_args": ["--qos=high\n#SBATCH --wrap=x"]}, "one line"),
    ({"extra_sbatch_args": ["train.sh"]}, "not a long option"),
]


@pytest.mark.parametrize(("settings", "message"), BAD, ids=[m for _, m in BAD])
def test_a_wrong_setting_is_refused_by_name_and_nothing_is_stored(ws, settings, message):
    with pytest.raises(ValidationError, match=message.replace("-", r"\-")):
        ComputeTarget.create(ws, "bad-hpc", SlurmCompute(**settings))
    assert "bad-hpc" not in ws.compute_targets


def test_a_wrong_setting_leaves_an_existing_target_as_it_was(ws):
    ComputeTarget.create(ws, "hpc", SlurmCompute(partition="debug"))
    with pytest.raises(ValidationError, match="time_limit"):
        ComputeTarget.create(ws, "hpc", SlurmCompute(partition="long", time_limit="soon"))
    assert ComputeTarget(ws, "hpc").partition == "debug"


def test_local_is_built_in_and_cannot_be_made_or_deleted(ws):
    local = ComputeTarget(ws, "local")
    assert local.kind == "local"
    with pytest.raises(ValidationError, match="built-in"):
        ComputeTarget.create(ws, "local", SlurmCompute(partition="debug"))
    with pytest.raises(ValidationError, match="built-in"):
        local.delete()
    assert ws._store.compute_target_status(ws.name, "local")["kind"] == "local"


def test_a_target_with_a_queued_run_keeps_its_kind_and_is_not_deleted(ws, tmp_path):
    from studio.sdk import Experiment, ScriptRunConfig

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "t.py").write_text("print(1)\n")
    run = Experiment(ws, "kinds").submit(
        ScriptRunConfig(
            source_directory=str(tmp_path / "src"), script="t.py", compute_target="pool"
        )
    )
    assert run.get_status() == "Queued"
    assert ws.compute_targets["pool"].kind == "queue"  # created on first use
    with pytest.raises(Conflict, match="queued or running"):
        ComputeTarget.create(ws, "pool", SlurmCompute(partition="debug"))
    with pytest.raises(Conflict, match="queued or running"):
        ws.compute_targets["pool"].delete()
    assert ws.compute_targets["pool"].get_details()["queued"] == 1
    run.cancel()
    ComputeTarget.create(ws, "pool", SlurmCompute(partition="debug"))
    assert ws.compute_targets["pool"].kind == "slurm"
    ws.compute_targets["pool"].delete()
    assert "pool" not in ws.compute_targets
