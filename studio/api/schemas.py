"""Request bodies of the API. Strict: unknown fields are refused (a typo must not
silently drop data), booleans are not numbers and strings are not numbers. The
services validate the content again (one place for domain rules); these schemas
shape the request and document it in the OpenAPI description."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt, StrictStr


class Body(Schema):
    model_config = ConfigDict(extra="forbid")


class EmptyIn(Body):
    pass


class ExperimentIn(Body):
    name: StrictStr


class RunIn(Body):
    experiment: StrictStr
    type: Literal["interactive", "script", "pipeline", "step"] = "interactive"
    parent_id: StrictStr | None = None
    display_name: StrictStr = ""
    tags: dict[StrictStr, StrictStr | None] | None = None
    properties: dict[StrictStr, StrictStr] | None = None


class RunPatchIn(Body):
    display_name: StrictStr | None = None
    description: StrictStr | None = None


class ChildrenIn(Body):
    count: StrictInt | None = None
    tag_key: StrictStr | None = None
    tag_values: list[StrictStr] | None = None


class FailIn(Body):
    error_details: StrictStr | None = None
    error_code: StrictStr | None = None


class HeartbeatIn(Body):
    runs: list[StrictStr]


class PropertiesIn(Body):
    properties: dict[StrictStr, StrictStr]


class TagsIn(Body):
    tags: dict[StrictStr, StrictStr | None]


class TagKeysIn(Body):
    keys: list[StrictStr]


class SeriesIn(Body):
    """Points of one metric. Items are checked by the tracking services, which name
    the offending index (``values[3] must be a number, not bool``)."""

    name: StrictStr
    steps: list[Any] | dict[str, str] = Field(
        description="Integers >= 0, or null for 'the next step'; or packed, "
        '{"$i8": "<base64 of little-endian int64>"}.'
    )
    values: list[Any] | dict[str, str] = Field(
        description='Numbers (non-finite as {"$float": "NaN"}), or strings for a text series; '
        'or packed numbers, {"$f8": "<base64 of little-endian float64>"} or {"$i8": ...}.'
    )
    times: list[Any] | dict[str, str] = Field(
        description='Epoch seconds; or packed, {"$f8": "<base64>"}.'
    )


class RecordIn(Body):
    name: StrictStr
    kind: Literal["list", "row", "table", "image"]
    data: Any


class MetricBatchIn(Body):
    batch_id: StrictStr = Field(description="Client-chosen id; a retried id is stored once.")
    series: list[SeriesIn] = []
    records: list[RecordIn] = []


class SystemMetricsIn(Body):
    batch_id: StrictStr = Field(description="Client-chosen id; a retried id is stored once.")
    series: list[SeriesIn] = Field(description="Numbers, every name under 'sys/'.")


class TokenIn(Body):
    name: StrictStr
    workspace: StrictStr | None = None


class TargetIn(Body):
    name: StrictStr
    capacity: StrictInt | None = None
    provisioning: dict[StrictStr, Any] | None = None
    kind: StrictStr | None = None  # queue, slurm (None: as it is; queue when created)
    slurm: dict[StrictStr, Any] | None = None  # execution.slurm.SETTINGS


class SubmissionIn(Body):
    experiment: StrictStr
    script: StrictStr
    arguments: list[StrictStr] = []
    compute_target: StrictStr
    parent_id: StrictStr | None = None
    tags: dict[StrictStr, StrictStr | None] | None = None
    environment: dict[StrictStr, Any] | None = None
    properties: dict[StrictStr, StrictStr] | None = None
    variables: dict[StrictStr, StrictStr] | None = None


class StepIn(Body):
    name: StrictStr
    script: StrictStr
    arguments: list[StrictStr] = []
    compute_target: StrictStr
    after: list[StrictStr] = []
    properties: dict[StrictStr, StrictStr] | None = None


class StatusIn(Body):
    """A status change reported by the supervisor of a run on its submitter's machine."""

    status: StrictStr
    reason: StrictStr = ""
    error: dict[StrictStr, StrictStr | StrictInt] | None = None


class ClaimIn(Body):
    """A worker asking for a run of its target (and saying it is alive)."""

    worker: StrictStr
    types: list[StrictStr] = []
    claim: StrictBool = True  # false: only the heartbeat (every slot of the worker is busy)
    bridge: StrictBool = False  # a Slurm bridge (slurm targets only)


class BridgeSyncIn(Body):
    """One poll of a Slurm bridge: Slurm's live jobs and job names, runs it asks about."""

    worker: StrictStr
    live: list[StrictStr] = []
    named: list[StrictStr] = []
    ask: list[StrictStr] = []


class BridgeReportIn(Body):
    """What a Slurm bridge saw about one run of its target (``bridging.bridge_report``)."""

    worker: StrictStr
    action: StrictStr
    job_id: StrictStr = ""
    reason: StrictStr = ""
    status: StrictStr = ""
    from_status: StrictStr = ""
    message: StrictStr = ""
    code: StrictStr = ""
    from_worker: StrictStr = ""


class ExecutionIn(Body):
    """How a run's script ended, as its supervisor saw it."""

    exit_code: StrictInt | None = None
    signal: StrictStr = ""


class LogChunkIn(Body):
    """Bytes of a run's live log (base64), appended at ``offset``."""

    offset: StrictInt
    data: StrictStr


class PipelineIn(Body):
    experiment: StrictStr
    steps: list[StepIn]
    tags: dict[StrictStr, StrictStr | None] | None = None
    description: StrictStr = ""
    properties: dict[StrictStr, StrictStr] | None = None


class EnvironmentIn(Body):
    definition: dict[StrictStr, Any] = Field(
        description="The environment as v1's Environment serializes it (name, python, docker, ...)."
    )


class WorkspaceIn(Body):
    name: StrictStr


class WorkspacePatchIn(Body):
    name: StrictStr | None = None
    archived: StrictBool | None = None


class WorkspaceDeleteIn(Body):
    confirm: StrictStr = Field(description="The workspace's name, typed again.")
