"""Exceptions with stable codes, shared by the server, the SDK and the CLI.

No Django import here: the SDK and the CLI import this module without Django
configured. The API maps ``code`` to an HTTP status through ``HTTP_STATUS`` and the
REST store maps it back to the same class through ``error_from_code``.
"""

from __future__ import annotations


class StudioError(Exception):
    """Base class: a stable machine-readable ``code``, a message and the field at fault."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


class ValidationError(StudioError):
    code = "invalid"
    http_status = 400


class NotFound(StudioError):
    code = "not_found"
    http_status = 404


class ModelNotFound(NotFound):
    """No registered model (version) by that name; v1's ``ModelNotFoundException``.
    The message starts with ``ModelNotFound`` as v1's does (code checks for it)."""

    code = "model_not_found"


class ModelPathNotFound(NotFound):
    """A model path that matches no file of the run; v1's ``ModelPathNotFoundException``."""

    code = "model_path_not_found"


class PermissionDenied(StudioError):
    code = "permission_denied"
    http_status = 403


class WorkspaceArchived(PermissionDenied):
    """A write to an archived workspace: archived workspaces are read-only for everyone
    until an owner unarchives them."""

    code = "workspace_archived"


class Conflict(StudioError):
    code = "conflict"
    http_status = 409


class PropertyConflict(Conflict):
    """A property key already holds another value: properties are immutable."""

    code = "property_conflict"

    @classmethod
    def for_key(cls, key: str, stored: str, new: str) -> PropertyConflict:
        return cls(
            f"Property {key!r} is immutable: it is already {stored!r} and cannot become {new!r}.",
            field=f"properties.{key}",
        )


class InvalidTransition(Conflict):
    """The run's status does not allow the requested change."""

    code = "invalid_transition"

    @classmethod
    def between(cls, run_id: str, current: str, target: str) -> InvalidTransition:
        return cls(f"Run {run_id} is {current}; it cannot become {target}.", field="status")


class RunTerminal(Conflict):
    """Metrics or files sent to a run that has already finished."""

    code = "run_terminal"


class RunFailed(StudioError):
    """``wait_for_completion`` of a run that ended Failed."""

    code = "run_failed"
    http_status = 409


class RunEnvironmentException(StudioError):
    """``Run.get_context(allow_offline=False)`` outside a run Studio submitted."""

    code = "run_environment"
    http_status = 400


class NotAuthenticated(StudioError):
    """No valid API token (the API never authenticates by cookie)."""

    code = "not_authenticated"
    http_status = 401


class UnsupportedMediaType(StudioError):
    """A state-changing request whose body is not the one type its route takes."""

    code = "unsupported_media_type"
    http_status = 415


class PayloadTooLarge(StudioError):
    """A body or file over its documented limit."""

    code = "too_large"
    http_status = 413


class LengthRequired(StudioError):
    """A body sent without a length the server can read (chunked, where the WSGI
    server does not decode it)."""

    code = "length_required"
    http_status = 411


class RangeNotSatisfiable(StudioError):
    """A download's Range header names no byte of the file (past its end, malformed,
    or several ranges at once)."""

    code = "range_not_satisfiable"
    http_status = 416


class Unavailable(StudioError):
    code = "unavailable"
    http_status = 503


class TooManyAttempts(StudioError):
    """Too many failed sign-ins or unknown API tokens from one place: refused, even
    with the right secret, for ``retry_after`` seconds."""

    code = "too_many_attempts"
    http_status = 429

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        retry_after: int = 60,
    ):
        super().__init__(message, field=field, code=code)
        self.retry_after = retry_after


_CLASSES = {
    cls.code: cls
    for cls in (
        StudioError,
        ValidationError,
        NotFound,
        ModelNotFound,
        ModelPathNotFound,
        PermissionDenied,
        Conflict,
        PropertyConflict,
        InvalidTransition,
        RunTerminal,
        RunFailed,
        RunEnvironmentException,
        NotAuthenticated,
        UnsupportedMediaType,
        PayloadTooLarge,
        LengthRequired,
        RangeNotSatisfiable,
        Unavailable,
        TooManyAttempts,
        WorkspaceArchived,
    )
}


_BY_STATUS = {
    400: ValidationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    503: Unavailable,
}


def error_from_code(
    code: str, message: str, field: str | None = None, status: int | None = None
) -> StudioError:
    """Rebuild the exception a server raised from its JSON error (used by the REST
    store): the class named by the code, else the one its HTTP status stands for."""
    cls = _CLASSES.get(code) or _BY_STATUS.get(status or 0, StudioError)
    err = cls(message, field=field, code=code)
    if status is not None and cls is StudioError:
        err.http_status = status
    return err


# --- azureml.exceptions: v1's names for the same errors ------------------------------
# ``from azureml.exceptions import X`` becomes ``from studio.sdk import X``; each name
# is the Studio error raised in the situation v1 raised it in, so ``except X`` catches
# what it caught there.
AzureMLException = StudioError
UserErrorException = ValidationError
ActivityFailedException = RunFailed  # wait_for_completion of a failed run
ExperimentExecutionException = ValidationError  # a submission Studio refuses
SnapshotException = ValidationError  # a source folder over the snapshot limits
ProjectSystemException = ValidationError  # an unreadable workspace config
RunConfigurationException = ValidationError
TrainingException = ValidationError
DatasetTimestampMissingError = ValidationError
WorkspaceException = NotFound  # a workspace that does not exist
ComputeTargetException = NotFound
ModelNotFoundException = ModelNotFound
ModelPathNotFoundException = ModelPathNotFound
DiscoveryUrlNotFoundException = NotFound
AuthenticationException = NotAuthenticated
ServiceException = Unavailable  # the studio could not be reached or answered 5xx
WebserviceException = StudioError  # no web services in Studio: nothing more specific

V1_EXCEPTIONS = (
    "AzureMLException",
    "UserErrorException",
    "ActivityFailedException",
    "ExperimentExecutionException",
    "SnapshotException",
    "ProjectSystemException",
    "RunConfigurationException",
    "TrainingException",
    "DatasetTimestampMissingError",
    "WorkspaceException",
    "ComputeTargetException",
    "ModelNotFoundException",
    "ModelPathNotFoundException",
    "DiscoveryUrlNotFoundException",
    "AuthenticationException",
    "ServiceException",
    "WebserviceException",
    "RunEnvironmentException",
)
