"""The REST store: the same contract as the local store, over the JSON API v1.

Errors come back as the exceptions the server raised (``errors.error_from_code``).
Metric batches that cannot reach the server go to a spool on disk
(``STUDIO_HOME/spool/<identity>/runs/<run id>/``, one fsync'd file per batch, written
under a temporary name and renamed) and are delivered in order when it is back: by the
background flusher, at exit, or by the next process that uses the SDK with the same
server and token. The identity is a hash of the server and the token (the token never
reaches the disk); each file carries the server, the token's hash and the run too, so
a process with another token leaves the batch alone. Batch ids travel with them, so a
batch whose first delivery did arrive is not stored twice. A batch the server refuses
(run finished, token revoked, bad data) is never deleted: it moves to
``<identity>/refused/<run id>/`` and a warning names the run and the points.
"""

from studio.sdk.stores.rest.common import API, LOCAL, RETRY_AFTER
from studio.sdk.stores.rest.registry import RestRegistry
from studio.sdk.stores.rest.store import RestStore

__all__ = ["API", "LOCAL", "RETRY_AFTER", "RestRegistry", "RestStore"]
