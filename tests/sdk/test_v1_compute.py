"""v1's compute targets: the find-or-provision cell of the v1 notebooks runs as
written, on both stores; what Studio can do (the target, its parallel steps) is done,
the Azure VM settings are recorded and warned about once."""

import pytest

from studio.sdk import AmlCompute, ComputeTarget, ComputeTargetException, NotFound
from studio.sdk.compute import ComputeTargetStatus


def _find_or_provision(ws, name, **config):
    try:
        target = ComputeTarget(workspace=ws, name=name)
        found = True
    except ComputeTargetException:
        compute_config = AmlCompute.provisioning_configuration(**config)
        target = ComputeTarget.create(ws, name, compute_config)
        found = False
    target.wait_for_completion(show_output=True)
    return target, found


def test_the_notebooks_find_or_provision_cell_creates_the_target_once(ws, capsys):
    target, found = _find_or_provision(ws, "cpu-cluster", vm_size="STANDARD_D2_V2", max_nodes=3)
    assert not found and type(target) is AmlCompute and target.name == "cpu-cluster"
    assert "Succeeded" in capsys.readouterr().out
    again, found = _find_or_provision(ws, "cpu-cluster", vm_size="STANDARD_D2_V2", max_nodes=3)
    assert found and again == target and type(again) is AmlCompute
    assert "cpu-cluster" in ws.compute_targets
    assert type(ws.compute_targets["cpu-cluster"]) is AmlCompute  # the MNIST tutorial's check


def test_max_nodes_becomes_the_targets_parallel_steps_and_the_rest_is_recorded(ws):
    config = AmlCompute.provisioning_configuration(
        vm_size="STANDARD_D2_V2", vm_priority="lowpriority", min_nodes=1, max_nodes=2,
        idle_seconds_before_scaledown="300", vnet_name="<my-vnet-name>", admin_username=None,
    )  # fmt: skip
    target = ComputeTarget.create(ws, "low-pri", config)
    assert target.capacity == 2
    status = target.get_status()
    assert isinstance(status, ComputeTargetStatus)
    assert status.serialize()["vmSize"] == "STANDARD_D2_V2"
    assert status.serialize()["scaleSettings"]["maxNodeCount"] == 2
    assert target.serialize()["properties"]["vnet_name"] == "<my-vnet-name>"
    target.update(max_nodes=5, idle_seconds_before_scaledown=600)
    assert ComputeTarget(ws, "low-pri").capacity == 5
    assert (
        ComputeTarget(ws, "low-pri")
        .get_status()
        .serialize()["scaleSettings"]["nodeIdleTimeBeforeScaleDown"]
        == 600
    )


def test_a_missing_target_raises_v1s_exception_which_is_also_not_found(ws):
    with pytest.raises(ComputeTargetException, match="not found"):
        ComputeTarget(workspace=ws, name="nowhere")
    with pytest.raises(NotFound):
        AmlCompute(ws, "nowhere")
    assert "nowhere" not in ws.compute_targets


def test_local_is_always_there_and_list_names_every_target(ws):
    assert ComputeTarget(ws, "local").name == "local"
    ComputeTarget.create(ws, "a", AmlCompute.provisioning_configuration(max_nodes=1))
    ws.compute_targets["b"]  # a plain queue target, created on first use
    targets = {t.name: type(t) for t in ComputeTarget.list(ws)}
    assert targets == {"a": AmlCompute, "b": ComputeTarget}


def test_a_submitted_run_accepts_the_target_object(ws, tmp_path):
    from studio.sdk import Experiment, ScriptRunConfig

    target = ComputeTarget.create(ws, "gpu", AmlCompute.provisioning_configuration(max_nodes=1))
    (tmp_path / "train.py").write_text("print('hi')\n")
    src = ScriptRunConfig(source_directory=str(tmp_path), script="train.py", compute_target=target)
    run = Experiment(ws, "compute").submit(src)
    assert run.get_details()["target"] == "gpu"
    run.cancel()


def test_the_vm_settings_warning_is_given_once(ws):
    import warnings

    from studio.sdk import notice

    notice._warned.discard("AmlCompute.provisioning_configuration")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        AmlCompute.provisioning_configuration(vm_size="A")
        AmlCompute.provisioning_configuration(vm_size="B")
    assert len([w for w in caught if "vm_size" in str(w.message)]) == 1
