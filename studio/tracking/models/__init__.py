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
from studio.tracking.models.views import SavedView

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
    "SavedView",
    "Workspace",
]
