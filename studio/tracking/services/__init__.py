"""Every write of the tracking domain. Views, the API, the SDK's local store and
commands call these functions; nothing else writes tracking models.

Functions are keyword-only and named ``<entity>_<action>``. Each validates its input
fully before it opens a transaction, so bad input raises a ``ValidationError`` and
changes nothing.
"""

from studio.tracking.services.descriptions import (
    description_attachment_upload,
    description_restore,
    description_save,
)
from studio.tracking.services.files import (
    run_file_sizes_update,
    run_file_upload,
    run_live_log_append,
    run_live_log_open,
)
from studio.tracking.services.metrics import MAX_BATCH_ITEMS, metric_log_batch, new_batch_id
from studio.tracking.services.runs import (
    MAX_CHILDREN_PER_CALL,
    WorkspaceChanged,
    experiment_get_or_create,
    run_add_properties,
    run_cancel,
    run_complete,
    run_create,
    run_create_children,
    run_fail,
    run_failure,
    run_heartbeat,
    run_note_client,
    run_remove_tags,
    run_set_tags,
    run_transition,
    run_transition_live,
    run_update,
    runs_heartbeat,
    workspace_check_writable,
    workspace_get_or_create,
)
from studio.tracking.services.trash import (
    TRASH_DAYS,
    run_archive,
    run_delete,
    run_lifecycle,
    run_purge,
    run_restore,
    run_unarchive,
    trash_purge_expired,
)

__all__ = [
    "MAX_BATCH_ITEMS",
    "TRASH_DAYS",
    "MAX_CHILDREN_PER_CALL",
    "WorkspaceChanged",
    "description_attachment_upload",
    "description_restore",
    "description_save",
    "experiment_get_or_create",
    "metric_log_batch",
    "new_batch_id",
    "run_add_properties",
    "run_archive",
    "run_cancel",
    "run_complete",
    "run_create",
    "run_create_children",
    "run_delete",
    "run_fail",
    "run_failure",
    "run_file_sizes_update",
    "run_file_upload",
    "run_heartbeat",
    "run_lifecycle",
    "run_live_log_append",
    "run_live_log_open",
    "run_note_client",
    "run_purge",
    "run_remove_tags",
    "run_restore",
    "run_set_tags",
    "run_transition",
    "run_transition_live",
    "run_unarchive",
    "run_update",
    "runs_heartbeat",
    "trash_purge_expired",
    "workspace_check_writable",
    "workspace_get_or_create",
]
