from studio.tracking.models.changes import ChangeKind, RunChange
from studio.tracking.models.descriptions import DescriptionVersion
from studio.tracking.models.metrics import (
    MetricBatch,
    MetricChunk,
    MetricKind,
    MetricRecord,
    MetricSummary,
)
from studio.tracking.models.runs import (
    Experiment,
    LeaseWatch,
    LogChunk,
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
    "ChangeKind",
    "DescriptionVersion",
    "Experiment",
    "LeaseWatch",
    "LogChunk",
    "MetricBatch",
    "MetricChunk",
    "MetricKind",
    "MetricRecord",
    "MetricSummary",
    "Run",
    "RunChange",
    "RunFile",
    "RunProperty",
    "RunStatus",
    "RunTag",
    "RunType",
    "SavedView",
    "Workspace",
]
