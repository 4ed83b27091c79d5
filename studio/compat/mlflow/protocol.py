"""MLflow's side of the mapping, as pure functions (no Django): statuses, error codes,
numbers as MLflow's protobuf JSON writes them, its per-call limits, its search
filter (translated into Studio's filter language, which evaluates it) and its
artifact paths."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from studio.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PropertyConflict,
    StudioError,
    TooManyAttempts,
    Unavailable,
    ValidationError,
)
from studio.rules import transitions

# MLflow's own limits on one log-batch call (mlflow/utils/validation.py).
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_RESULTS = 50_000  # runs/search and experiments/search, as MLflow's server

DEFAULT_EXPERIMENT_ID = "0"  # MLflow's default experiment ...
DEFAULT_EXPERIMENT_NAME = "Default"  # ... is this Studio experiment

PARENT_TAG = "mlflow.parentRunId"  # a nested run: a Studio child run, not a tag
NAME_TAG = "mlflow.runName"  # the run's display name, not a tag
# MLflow's soft delete: a deleted run carries this system tag (set and removed only by
# runs/delete and runs/restore); Studio keeps listing it, with the tag.
LIFECYCLE_TAG = "mlflow.lifecycleStage"
DELETED = "deleted"
ACTIVE = "active"

# --- statuses ---------------------------------------------------------------------

TO_MLFLOW = {
    transitions.NOT_STARTED: "SCHEDULED",
    transitions.QUEUED: "SCHEDULED",
    transitions.PREPARING: "RUNNING",
    transitions.STARTING: "RUNNING",
    transitions.RUNNING: "RUNNING",
    transitions.FINALIZING: "RUNNING",
    transitions.CANCEL_REQUESTED: "RUNNING",
    transitions.COMPLETED: "FINISHED",
    transitions.FAILED: "FAILED",
    transitions.CANCELED: "KILLED",
}
# What runs/update's status asks for, as a Studio status (RUNNING: no change).
FROM_MLFLOW = {
    "RUNNING": transitions.RUNNING,
    "FINISHED": transitions.COMPLETED,
    "FAILED": transitions.FAILED,
    "KILLED": transitions.CANCELED,
}

# --- errors -------------------------------------------------------------------------

# MLflow's error codes and the HTTP statuses its server answers them with
# (mlflow/exceptions.py ERROR_CODE_TO_HTTP_STATUS). The client raises
# MlflowException(error_code=...) from them; it retries 429 and 5xx.
HTTP_STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "BAD_REQUEST": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "RESOURCE_CONFLICT": 409,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "TEMPORARILY_UNAVAILABLE": 503,
}


def error_code(exc: StudioError) -> str:
    """The MLflow error code for a Studio error (most specific class first)."""
    if exc.code == "file_exists" or exc.code == "already_exists":
        return "RESOURCE_ALREADY_EXISTS"
    for cls, code in (
        (PropertyConflict, "INVALID_PARAMETER_VALUE"),  # as MLflow for a changed param
        (NotAuthenticated, "UNAUTHENTICATED"),
        (TooManyAttempts, "REQUEST_LIMIT_EXCEEDED"),
        (NotFound, "RESOURCE_DOES_NOT_EXIST"),
        (PermissionDenied, "PERMISSION_DENIED"),
        (Conflict, "RESOURCE_CONFLICT"),
        (PayloadTooLarge, "INVALID_PARAMETER_VALUE"),
        (Unavailable, "TEMPORARILY_UNAVAILABLE"),
        (ValidationError, "INVALID_PARAMETER_VALUE"),
    ):
        if isinstance(exc, cls):
            return code
    return "BAD_REQUEST"


class AlreadyExists(ValidationError):
    """MLflow's RESOURCE_ALREADY_EXISTS (experiments/create of a taken name)."""

    code = "already_exists"


# --- numbers and JSON ------------------------------------------------------------

_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "inf": math.inf}


def number(value: object, field: str) -> float:
    """A double as protobuf JSON sends it: a number, or "NaN", "Infinity", "-Infinity"."""
    if type(value) in (int, float):
        try:
            return float(value)
        except OverflowError:
            raise ValidationError(f"{field} is out of range: {value!r}.", field=field) from None
    if isinstance(value, str):
        if value in _SPECIAL:
            return _SPECIAL[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise ValidationError(f"{field} must be a number, not {value!r}.", field=field)


def integer(value: object, field: str, default: int | None = None) -> int:
    """An int64 as protobuf JSON sends it: a number or a decimal string."""
    if value is None and default is not None:
        return default
    if type(value) is int:
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,19}", value):
        return int(value)
    raise ValidationError(f"{field} must be an integer, not {value!r}.", field=field)


def text(value: object, field: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and value == ""):
        raise ValidationError(f"Missing value for required parameter '{field}'.", field=field)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def dumps(data: Any) -> str:
    """JSON as MLflow's server writes it: non-finite doubles as strings."""
    return json.dumps(_plain(data), allow_nan=False)


def check_batch_limits(metrics: list, params: list, tags: list) -> None:
    """MLflow's limits on one log-batch call: above them nothing is stored."""
    for items, limit, what in (
        (metrics, MAX_METRICS_PER_BATCH, "metrics"),
        (params, MAX_PARAMS_PER_BATCH, "params"),
        (tags, MAX_TAGS_PER_BATCH, "tags"),
    ):
        if not isinstance(items, list):
            raise ValidationError(f"{what} must be a list.", field=what)
        if len(items) > limit:
            raise ValidationError(
                f"A batch logging request can contain at most {limit} {what}. "
                f"Got {len(items)} {what}. Please split up {what} across multiple requests "
                "and try again.",
                field=what,
            )
    if len(metrics) + len(params) + len(tags) > MAX_METRICS_PER_BATCH:
        raise ValidationError(
            "A batch logging request can contain at most 1000 metrics, params and tags in total.",
            field="metrics",
        )


def metric_series(metrics: list) -> list[dict[str, Any]]:
    """MLflow's metrics (``[{"key", "value", "timestamp", "step"}, ...]``, as its
    client sends them) as Studio series, one per key in the order first logged, each
    point in the order logged; timestamps in ms become epoch seconds.

    The whole call is converted at once (numpy arrays, grouped by key with one stable
    sort): what the client sends (numbers; "NaN", "Infinity", "-Infinity" for
    non-finite values) never takes a per-point path. Anything else (int64s as decimal
    strings, a missing step, a bad item) goes through ``_metric_items``, which accepts
    what protobuf JSON allows and names the first bad item."""
    if not metrics:
        return []
    try:
        keys = [m["key"] for m in metrics]
        values = [m["value"] for m in metrics]
        times = [m["timestamp"] for m in metrics]
        steps = [m["step"] for m in metrics]
    except (TypeError, KeyError):
        return _metric_items(metrics)
    if set(map(type, keys)) != {str} or not set(map(type, steps)) | set(map(type, times)) <= {int}:
        return _metric_items(metrics)
    kinds = set(map(type, values))
    if str in kinds:
        values = [_SPECIAL.get(v, v) if type(v) is str else v for v in values]
        kinds = set(map(type, values))
    if not kinds <= {float, int}:
        return _metric_items(metrics)
    try:
        value_arr = np.array(values, dtype=np.float64)
        step_arr = np.array(steps, dtype=np.int64)
        time_arr = np.array(times, dtype=np.float64) / 1000
    except OverflowError:
        return _metric_items(metrics)
    names = dict.fromkeys(keys)
    if len(names) == 1:
        return [{"name": keys[0], "steps": step_arr, "values": value_arr, "times": time_arr}]
    index = {name: i for i, name in enumerate(names)}
    codes = np.fromiter(map(index.__getitem__, keys), dtype=np.intp, count=len(keys))
    order = np.argsort(codes, kind="stable")
    groups = np.split(order, np.searchsorted(codes[order], np.arange(1, len(names))))
    return [
        {"name": name, "steps": step_arr[g], "values": value_arr[g], "times": time_arr[g]}
        for name, g in zip(names, groups, strict=True)
    ]


def _metric_items(metrics: list) -> list[dict[str, Any]]:
    """``metric_series`` one item at a time: protobuf JSON's other spellings (int64
    as strings, a step left out as 0) and the error for the first bad item."""
    by_key: dict[str, tuple[list, list, list]] = {}
    for i, m in enumerate(metrics):
        if not isinstance(m, dict) or not isinstance(m.get("key"), str):
            raise ValidationError(f"metrics[{i}] needs a key.", field=f"metrics[{i}]")
        steps, values, times = by_key.setdefault(m["key"], ([], [], []))
        values.append(number(m.get("value"), f"metrics[{i}].value"))
        steps.append(integer(m.get("step"), f"metrics[{i}].step", 0))
        times.append(integer(m.get("timestamp"), f"metrics[{i}].timestamp") / 1000)
    return [{"name": k, "steps": s, "values": v, "times": t} for k, (s, v, t) in by_key.items()]


def pairs(items: object, field: str) -> list[tuple[str, Any]]:
    """``[{"key": k, "value": v}, ...]`` as (key, value) pairs."""
    if not isinstance(items, list):
        raise ValidationError(f"{field} must be a list.", field=field)
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise ValidationError(f"{field}[{i}] needs a key.", field=f"{field}[{i}]")
        out.append((item["key"], item.get("value")))
    return out


def check_tag_keys(keys, field: str = "tags") -> None:
    """Refuse the tags MLflow sets through other calls: the parent run (set when the
    run is created) and the lifecycle stage (runs/delete, runs/restore)."""
    for key, how in (
        (PARENT_TAG, "is set when the run is created"),
        (LIFECYCLE_TAG, "is set by deleting or restoring the run"),
    ):
        if key in keys:
            raise ValidationError(f"{key} {how}.", field=key)


def check_active(lifecycle: str, run_id: str) -> None:
    """MLflow's rule: a deleted run takes no writes until it is restored."""
    if lifecycle == DELETED:
        raise ValidationError(
            f"The run {run_id} must be in the 'active' state. Current state is deleted.",
            field="run_id",
        )


# runs/search's run_view_type (protobuf JSON sends the name; the number is accepted).
RUN_VIEW_TYPES = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3, 1: 1, 2: 2, 3: 3}


def run_view_filter(view_type: object) -> str | None:
    """runs/search's run_view_type as a term of Studio's filter language (the deleted
    runs are those with the lifecycle tag), or None for ALL."""
    kind = RUN_VIEW_TYPES.get(view_type if view_type is not None else "ACTIVE_ONLY")
    if kind is None:
        raise ValidationError(f"Invalid run_view_type {view_type!r}.", field="run_view_type")
    has = f"has tags.{_quote(LIFECYCLE_TAG)}"
    return {1: f"not ({has})", 2: has, 3: None}[kind]


# --- ids ----------------------------------------------------------------------------


def run_hex(value: object, field: str = "run_id") -> str:
    """An MLflow run id: 32 hex digits (a Studio run's uuid)."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"Missing value for required parameter '{field}'.", field=field)
    if not re.fullmatch(r"[0-9a-fA-F]{32}", value):
        raise NotFound(f"Run with id={value} not found", field=field)
    return value.lower()


def experiment_pk(value: object, field: str = "experiment_id") -> int | None:
    """The Studio experiment's primary key, or None for MLflow's default ("0")."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"Missing value for required parameter '{field}'.", field=field)
    if value == DEFAULT_EXPERIMENT_ID:
        return None
    if not re.fullmatch(r"[1-9]\d{0,17}", value):
        raise NotFound(f"No Experiment with id={value} exists", field=field)
    return int(value)


# --- artifacts ----------------------------------------------------------------------

OUTPUTS = "outputs/"


def artifact_uri(experiment_id: str, run_id: str) -> str:
    return f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"


def artifact_path(path: str) -> tuple[str, str, str]:
    """``<experiment>/<run>/artifacts[/<rest>]`` as (experiment id, run id, rest)."""
    parts = path.strip("/").split("/", 3)
    if len(parts) < 3 or parts[2] != "artifacts":
        raise NotFound(
            f"No artifact at {path!r}: Studio serves runs' artifacts only.", field="path"
        )
    rest = parts[3] if len(parts) == 4 else ""
    if any(p in ("", ".", "..") for p in rest.split("/")) and rest:
        raise ValidationError(f"Invalid artifact path {rest!r}.", field="path")
    return parts[0], run_hex(parts[1], "path"), rest


# --- search ------------------------------------------------------------------------

_ENTITIES = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "properties",
    "params": "properties",
    "parameter": "properties",
    "parameters": "properties",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "attr": "attributes",
    "run": "attributes",
    None: "attributes",
}
_CLAUSE = re.compile(
    r"""\s*(?:(?P<entity>[A-Za-z_]+)\.)?
    (?P<key>`[^`]+`|"[^"]+"|[\w.\-]+)\s*
    (?P<op>!=|<=|>=|=|<|>|NOT\s+IN\b|IN\b|NOT\s+LIKE\b|LIKE\b|ILIKE\b)\s*
    (?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\([^)]*\)|[-+\w.]+)\s*""",
    re.IGNORECASE | re.VERBOSE,
)
_AND = re.compile(r"AND\b\s*", re.IGNORECASE)
_ITEM = re.compile(r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[-+\w.]+)\s*(,|$)""")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _unquote(token: str) -> str:
    if token[:1] in "'\"`" and token[-1:] == token[:1] and len(token) >= 2:
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def _values(raw: str) -> list[str]:
    inner, out, pos = raw.strip()[1:-1], [], 0
    while pos < len(inner):
        found = _ITEM.match(inner, pos)
        if not found or found.end() == pos:
            raise ValidationError(f"Invalid list in the filter: {raw}", field="filter")
        out.append(_unquote(found.group(1)))
        pos = found.end()
    return out


class Search:
    """A translated MLflow filter: a Studio filter expression and the clauses it
    has no field for (run ids, parent run)."""

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.run_ids: list[str] | None = None
        self.parent: str | None = None

    @property
    def expression(self) -> str:
        return " and ".join(self.terms)


def search_filter(expression: str | None) -> Search:
    """Translate MLflow's run filter (clauses joined by AND on ``metrics.``,
    ``params.``, ``tags.`` and the attributes ``status``, ``run_name``, ``run_id``)
    into Studio's filter language. Anything else is refused, never ignored."""
    search = Search()
    text_ = (expression or "").strip()
    pos = 0
    while pos < len(text_):
        found = _CLAUSE.match(text_, pos)
        if not found:
            raise ValidationError(
                f"Invalid filter {expression!r} at position {pos}: Studio understands "
                "comparisons on metrics., params., tags., status, run_name and run_id joined "
                "by AND.",
                field="filter",
            )
        _clause(search, found)
        pos = found.end()
        if pos < len(text_):
            joined = _AND.match(text_, pos)
            if not joined:
                raise ValidationError(
                    f"Invalid filter {expression!r} at position {pos}: expected AND.",
                    field="filter",
                )
            pos = joined.end()
    return search


def _clause(search: Search, found: re.Match) -> None:
    entity = found.group("entity")
    kind = _ENTITIES.get(entity.lower() if entity else None)
    key = _unquote(found.group("key"))
    op = " ".join(found.group("op").upper().split())
    raw = found.group("value")
    if kind is None:
        raise ValidationError(f"Studio cannot filter runs on {entity!r}.", field="filter")
    if kind == "tags" and key == PARENT_TAG:
        kind, key = "attributes", "parent_run_id"
    if kind == "tags" and key == NAME_TAG:
        kind, key = "attributes", "run_name"
    if kind == "attributes":
        _attribute(search, key, op, raw)
        return
    field = f"{kind}.{_quote(key)}"
    if op in ("IN", "NOT IN"):
        values = ", ".join(_literal(kind, v) for v in _values(raw))
        term = f"{field} in ({values})"
        search.terms.append(f"not ({term})" if op == "NOT IN" else term)
        return
    search.terms.append(_compare(field, op, _literal(kind, _unquote(raw)), raw))


def _literal(kind: str, value: str) -> str:
    if kind == "metrics":
        number(value, "filter")  # a metric compares with numbers
        return value
    return _quote(value)


def _compare(field: str, op: str, literal: str, raw: str) -> str:
    if op in ("LIKE", "ILIKE", "NOT LIKE"):
        pattern = _unquote(raw)
        inner = pattern.strip("%")
        if "%" in inner or "_" in inner:
            raise ValidationError(
                f"Studio matches LIKE patterns of the form '%text%' only, not {pattern!r}.",
                field="filter",
            )
        term = f"{field} ~ {_quote(inner)}" if pattern != inner else f"{field} = {_quote(inner)}"
        return f"not ({term})" if op == "NOT LIKE" else term
    return f"{field} {op} {literal}"


def _attribute(search: Search, key: str, op: str, raw: str) -> None:
    values = _values(raw) if op in ("IN", "NOT IN") else [_unquote(raw)]
    if key in ("run_id", "run_uuid") and op in ("=", "IN"):
        search.run_ids = [v.lower() for v in values]
    elif key == "parent_run_id" and op == "=":
        search.parent = values[0].lower()
    elif key == "status" and op in ("=", "!=", "IN", "NOT IN"):
        statuses = [_status(v) for v in values]
        term = f"status in ({', '.join(statuses)})"
        search.terms.append(f"not ({term})" if op in ("!=", "NOT IN") else term)
    elif key in ("run_name", "name"):
        if op in ("IN", "NOT IN"):
            term = f"name in ({', '.join(_quote(v) for v in values)})"
            search.terms.append(f"not ({term})" if op == "NOT IN" else term)
        else:
            search.terms.append(_compare("name", op, _quote(values[0]), raw))
    else:
        raise ValidationError(
            f"Studio cannot filter runs on the attribute {key!r} with {op}.", field="filter"
        )


def _status(value: str) -> str:
    matches = {s for s, m in TO_MLFLOW.items() if m == value.upper()}
    if not matches:
        raise ValidationError(f"Unknown run status {value!r}.", field="filter")
    return ", ".join(sorted(matches))


ORDER_KEYS = {
    "start_time": "created",
    "attributes.start_time": "created",
    "attribute.start_time": "created",
    "run_name": "name",
    "attributes.run_name": "name",
    "attributes.status": "status",
    "status": "status",
}


def order(order_by: object) -> str:
    """MLflow's first ``order_by`` clause as a Studio sort key (default: newest first)."""
    if not order_by:
        return "-created"
    if not isinstance(order_by, list) or not all(isinstance(o, str) for o in order_by):
        raise ValidationError("order_by must be a list of strings.", field="order_by")
    parts = order_by[0].split()
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
        raise ValidationError(f"Invalid order_by clause {order_by[0]!r}.", field="order_by")
    descending = len(parts) == 1 or parts[1].upper() == "DESC"
    if len(parts) == 1 and not parts[0].endswith("start_time"):
        descending = False  # MLflow sorts ascending unless told (start_time: newest)
    key, prefix = parts[0], "-" if descending else ""
    if key in ORDER_KEYS:
        return prefix + ORDER_KEYS[key]
    for entity, column in (("metrics.", "metric:last:"), ("params.", "prop:"), ("tags.", "tag:")):
        if key.startswith(entity):
            return prefix + column + _unquote(key[len(entity) :])
    raise ValidationError(f"Studio cannot order runs by {key!r}.", field="order_by")


_EXPERIMENT_NAME = re.compile(
    r"""\s*(?:attributes?\.)?name\s*=\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*""",
    re.IGNORECASE,
)


def experiment_name_filter(expression: object) -> str | None:
    """experiments/search's filter: none, or ``name = '...'``."""
    if not expression:
        return None
    found = _EXPERIMENT_NAME.fullmatch(expression) if isinstance(expression, str) else None
    if not found:
        raise ValidationError(
            f"Studio searches experiments by name = '...' only, not {expression!r}.",
            field="filter",
        )
    return _unquote(found.group(1))


# --- logged models (MLflow 3) -----------------------------------------------------
# A logged model belongs to its source run: its files are the run's files under
# ``outputs/models/<model id>/``, its record (name, status, params, tags) one tag of
# the run, ``mlflow.loggedModel.<model id>``, as JSON. Its id names the run.

MODEL_TAG = "mlflow.loggedModel."
MODEL_STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
_MODEL_ID = re.compile(r"m-([0-9a-f]{32})-[0-9a-f]{12}")


def model_id(run_id: str, suffix: str) -> str:
    return f"m-{run_id}-{suffix}"


def model_run(value: object) -> str:
    """The MLflow run id inside a logged model's id."""
    found = _MODEL_ID.fullmatch(value) if isinstance(value, str) else None
    if not found:
        raise NotFound(f"Logged model with ID '{value}' not found.", field="model_id")
    return found.group(1)


def model_dict(record: dict[str, Any], *, model: str, experiment_id: str, run_id: str) -> dict:
    info = {
        "model_id": model,
        "experiment_id": experiment_id,
        "name": record["name"],
        "artifact_uri": f"{artifact_uri(experiment_id, run_id)}/models/{model}",
        "creation_timestamp_ms": record["created"],
        "last_updated_timestamp_ms": record["updated"],
        "model_type": record.get("model_type") or "",
        "source_run_id": run_id,
        "status": record["status"],
        "tags": [{"key": k, "value": v} for k, v in record["tags"].items()],
    }
    params = [{"key": k, "value": v} for k, v in record["params"].items()]
    return {"info": info, "data": {"params": params, "metrics": []}}
