from studio.tracking.models.metrics import (
    MetricBatch,
    MetricChunk,
    MetricKind,
    MetricRecord,
    MetricSummary,
)
from studio.tracking.models.runs import (
    Experiment,
    Run,
    RunFile,
    RunProperty,
    RunStatus,
    RunTag,
    RunType,
    Workspace,
)

__all__ = [
    "Experiment",
    "MetricBatch",
    "MetricChunk",
    "MetricKind",
    "MetricRecord",
    "MetricSummary",
    "Run",
    "RunFile",
    "RunProperty",
    "RunStatus",
    "RunTag",
    "RunType",
    "Workspace",
]
