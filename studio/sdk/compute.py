"""v1's compute targets (``azureml.core.compute``): a named target is a pool that
``studio worker --target NAME`` serves (``local`` is the submitting machine).

v1 notebooks find-or-provision a cluster::

    try:
        cluster = ComputeTarget(workspace=ws, name="cpu-cluster")
    except ComputeTargetException:
        config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=4)
        cluster = ComputeTarget.create(ws, "cpu-cluster", config)
    cluster.wait_for_completion(show_output=True)

Studio does what it can of that for real: the target is created in the workspace and
``max_nodes`` becomes how many steps of a pipeline it runs at once. A VM size, a
priority, scale-down or network settings need Azure: they are recorded on the target
(``get_status().serialize()`` shows them) and warned about once.

A Slurm cluster is a target of kind ``slurm``; ``studio worker --target NAME`` on a
login node submits each of its runs as a Slurm job::

    hpc = ComputeTarget.create(ws, "hpc", SlurmCompute(partition="debug", time_limit="02:00:00"))
    ws.compute_targets["hpc"].partition  # 'debug'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from studio.errors import ComputeTargetException
from studio.sdk.notice import warn_once

LOCAL = "local"


@dataclass
class AmlComputeProvisioningConfiguration:
    """What ``AmlCompute.provisioning_configuration`` returns: recorded on the target
    (``max_nodes`` is applied: the target's parallel steps)."""

    vm_size: str = ""
    vm_priority: str = "dedicated"
    min_nodes: int = 0
    max_nodes: int = 4
    idle_seconds_before_scaledown: int | str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # every other v1 keyword

    def serialize(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("settings"))
        return data


@dataclass
class SlurmCompute:
    """The configuration of a ``slurm`` target, for ``ComputeTarget.create``: the
    partition, account, time limit (Slurm's formats: ``MINUTES``, ``HH:MM:SS``,
    ``D-HH:MM:SS``) and GRES (``gpu:1``) its jobs ask for, and more sbatch options as
    ``--name=value`` items (none the bridge sets itself, such as --output or --wrap).
    None: the cluster's default. Checked when created; nothing is stored if wrong."""

    partition: str | None = None
    account: str | None = None
    time_limit: str | None = None
    gres: str | None = None
    extra_sbatch_args: list[str] = field(default_factory=list)

    def serialize(self) -> dict[str, Any]:
        return asdict(self)


class ComputeTarget:
    """A compute target of a workspace. ``ComputeTarget(workspace, name)`` finds an
    existing one (v1's constructor) or raises ``ComputeTargetException``; ``create``
    makes one. The instance is an ``AmlCompute`` when it was created from an AmlCompute
    provisioning configuration, as v1 returns the target's own type."""

    type = "Queue"

    def __new__(cls, workspace=None, name: str | None = None):
        if workspace is None or not name:
            raise TypeError("ComputeTarget(workspace, name) needs a workspace and a name.")
        found = _find(workspace, name)
        if found is None:
            raise ComputeTargetException(
                f"ComputeTargetNotFound: Compute Target with name {name} not found in "
                "provided workspace",
                field="name",
            )
        return _of(workspace, found)

    @staticmethod
    def _bind_data(workspace, data: dict[str, Any]) -> ComputeTarget:
        """The target of ``data`` (what a store returns) as its v1 class."""
        return _of(workspace, data)

    @classmethod
    def _bind(cls, workspace, data: dict[str, Any]) -> ComputeTarget:
        target = object.__new__(cls)
        target.workspace = workspace
        target.name = data["name"]
        target._data = data
        return target

    # --- v1's class methods ---------------------------------------------------------

    @staticmethod
    def create(workspace, name: str, provisioning_configuration) -> ComputeTarget:
        """Create the target ``name`` in the workspace (or take the existing one) with
        what the configuration asks that Studio can do; the rest is recorded."""
        config = provisioning_configuration
        if isinstance(config, SlurmCompute):
            data = workspace._store.get_compute_target(
                workspace.name, name, kind="slurm", slurm=config.serialize()
            )
            return _of(workspace, data)
        if not isinstance(config, AmlComputeProvisioningConfiguration):
            raise TypeError(
                "ComputeTarget.create takes SlurmCompute(...) or "
                "AmlCompute.provisioning_configuration(...); to use another machine, start "
                "`studio worker --target NAME` on it."
            )
        data = workspace._store.get_compute_target(
            workspace.name, name, capacity=config.max_nodes, provisioning=config.serialize()
        )
        return _of(workspace, data)

    @staticmethod
    def list(workspace) -> list[ComputeTarget]:
        return [_of(workspace, d) for d in workspace._store.list_compute_targets(workspace.name)]

    # --- the target --------------------------------------------------------------------

    @property
    def provisioning_state(self) -> str:
        return "Succeeded"

    @property
    def kind(self) -> str:
        """local, queue or slurm."""
        return self._data.get("kind", "queue")

    def delete(self) -> None:
        """Delete the target (refused while runs wait for or run on it)."""
        self.workspace._store.delete_compute_target(self.workspace.name, self.name)

    def get_details(self) -> dict[str, Any]:
        """Its queued and running runs, the workers or Slurm jobs serving them, and
        their last heartbeat."""
        return self.workspace._store.compute_target_status(self.workspace.name, self.name)

    @property
    def capacity(self) -> int:
        """Steps of one pipeline this target runs at once."""
        return self._data.get("capacity", 1)

    def wait_for_completion(
        self, show_output: bool = False, min_node_count=None, timeout_in_minutes: int = 20,
        is_delete_operation: bool = False,
    ) -> None:  # fmt: skip
        """A Studio target exists once created: nothing to wait for."""
        if show_output:
            print(f"Succeeded\n{type(self).__name__} wait for completion finished\n")

    def get_status(self) -> ComputeTargetStatus:
        return ComputeTargetStatus(self)

    def serialize(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "workspace": self.workspace.name,
            "provisioningState": self.provisioning_state,
            "properties": {"maxNodes": self.capacity, **self._data.get("provisioning", {})},
        }

    def update(self, min_nodes=None, max_nodes=None, idle_seconds_before_scaledown=None):
        """``max_nodes`` changes the target's parallel steps; the rest is recorded."""
        provisioning = dict(self._data.get("provisioning", {}))
        for key, value in (
            ("min_nodes", min_nodes),
            ("idle_seconds_before_scaledown", idle_seconds_before_scaledown),
        ):
            if value is not None:
                provisioning[key] = value  # fmt: skip
        self._data = self.workspace._store.get_compute_target(
            self.workspace.name, self.name, capacity=max_nodes, provisioning=provisioning
        )

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComputeTarget) and (other.workspace.name, other.name) == (
            self.workspace.name,
            self.name,
        )

    def __hash__(self) -> int:
        return hash((self.workspace.name, self.name))


class AmlCompute(ComputeTarget):
    """v1's managed cluster: a Studio target created from an AmlCompute provisioning
    configuration (``max_nodes`` applied, the VM settings recorded)."""

    type = "AmlCompute"

    @staticmethod
    def provisioning_configuration(
        vm_size: str = "", vm_priority: str = "dedicated", min_nodes: int = 0,
        max_nodes: int | None = None, idle_seconds_before_scaledown=None, **kwargs,
    ) -> AmlComputeProvisioningConfiguration:  # fmt: skip
        warn_once(
            "AmlCompute.provisioning_configuration",
            "AmlCompute: vm_size, vm_priority and scaling need Azure; Studio records them "
            "on the target, which runs where `studio worker --target NAME` runs "
            "(max_nodes: its parallel steps).",
        )
        return AmlComputeProvisioningConfiguration(
            vm_size=vm_size,
            vm_priority=vm_priority,
            min_nodes=int(min_nodes or 0),
            max_nodes=int(max_nodes) if max_nodes is not None else 4,
            idle_seconds_before_scaledown=idle_seconds_before_scaledown,
            settings={k: v for k, v in kwargs.items() if v is not None},
        )


class SlurmComputeTarget(ComputeTarget):
    """A ``slurm`` target: its runs are Slurm jobs, submitted by ``studio worker
    --target NAME`` on a login node with these settings."""

    type = "Slurm"

    @property
    def settings(self) -> SlurmCompute:
        return SlurmCompute(**(self._data.get("slurm") or {}))

    @property
    def partition(self) -> str | None:
        return self.settings.partition

    @property
    def account(self) -> str | None:
        return self.settings.account

    @property
    def time_limit(self) -> str | None:
        return self.settings.time_limit

    @property
    def gres(self) -> str | None:
        return self.settings.gres

    @property
    def extra_sbatch_args(self) -> list[str]:
        return list(self.settings.extra_sbatch_args)

    def serialize(self) -> dict[str, Any]:
        data = super().serialize()
        data["properties"] = {"maxNodes": self.capacity, **self.settings.serialize()}
        return data


class ComputeTargetStatus:
    """What ``get_status()`` returns: ``serialize()`` as v1's, from what Studio has."""

    def __init__(self, target: ComputeTarget):
        self.target = target
        self.provisioning_state = target.provisioning_state

    def serialize(self) -> dict[str, Any]:
        provisioning = self.target._data.get("provisioning", {})
        return {
            "provisioningState": self.provisioning_state,
            "vmSize": provisioning.get("vm_size", ""),
            "vmPriority": provisioning.get("vm_priority", ""),
            "scaleSettings": {
                "minNodeCount": provisioning.get("min_nodes", 0),
                "maxNodeCount": self.target.capacity,
                "nodeIdleTimeBeforeScaleDown": provisioning.get("idle_seconds_before_scaledown"),
            },
        }

    def __repr__(self) -> str:
        return repr(self.serialize())


_TYPES = {"AmlCompute": AmlCompute, "slurm": SlurmComputeTarget}


def _find(workspace, name: str) -> dict[str, Any] | None:
    if name == LOCAL:
        return {"name": LOCAL, "kind": "local", "capacity": 1, "provisioning": {}}
    for data in workspace._store.list_compute_targets(workspace.name):
        if data["name"] == name:
            return data
    return None


def _of(workspace, data: dict[str, Any]) -> ComputeTarget:
    """The target of ``data`` as its v1 class (``AmlCompute`` when provisioned so)."""
    kind = "slurm" if data.get("kind") == "slurm" else None
    if kind is None and data.get("provisioning"):
        kind = "AmlCompute"
    return _TYPES.get(kind, ComputeTarget)._bind(workspace, data)
