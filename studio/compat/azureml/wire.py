"""azureml-core's documents, to and from Studio's: the run (RunDto), metric batches
(BatchMetricV2Dto in, MetricV2Dto out), artifacts and errors (ErrorResponse). Pure
functions over plain values; the checks of the values themselves are the services'.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from typing import Any

from studio.errors import StudioError, ValidationError
from studio.tracking.models import MetricKind, Run

ORIGIN = "ExperimentRun"
CONTAINER_PREFIX = "dcid."
EVENT_PREFIX = "Microsoft.MachineLearning.Run."

# The client's metric kinds (MetricProperties.uxMetricType) -> Studio's. A row is
# sent as a one-row table, and v1 appends the rows of a table to what is there:
# both become Studio rows, which read back as v1 reads them.
KINDS = {
    "azureml.v1.scalar": "scalar",
    "azureml.v1.list": "list",
    "azureml.v1.table": "row",
    "azureml.v2.image": "image",
    "azureml.v1.image": "image",
}
SCALAR, LIST, TABLE, IMAGE = (
    "azureml.v1.scalar",
    "azureml.v1.list",
    "azureml.v1.table",
    "azureml.v2.image",
)
ARTIFACT_ID = "aml://artifactId/"


def loads(body: bytes) -> Any:
    """The client's JSON: it writes non-finite floats as bare NaN and Infinity."""
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("The body is not JSON.", field="body") from None


def dumps(data: Any) -> str:
    return json.dumps(data, allow_nan=True)  # NaN as the client reads it


def iso(when: dt.datetime | None) -> str | None:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if when else None


def _epoch(text: object, where: str) -> float:
    if text is None:
        return time.time()
    if not isinstance(text, str):
        raise ValidationError(f"{where} must be an ISO 8601 time.", field=where)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{where} must be an ISO 8601 time.", field=where) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


# --- errors ------------------------------------------------------------------------


def error(exc: StudioError) -> dict[str, Any]:
    """An ErrorResponse: the client raises its ServiceException with this message."""
    return {
        "error": {
            "code": "UserError" if exc.http_status < 500 else "SystemError",
            "message": exc.message,
            "target": exc.field,
            "innerError": {"code": exc.code},
            # The client formats its ServiceException by walking ``details``: without
            # the list its repr raises TypeError and the message is lost.
            "details": [],
        },
        "componentName": "studio",
    }


# --- runs --------------------------------------------------------------------------


def container_of(run_id: str) -> str:
    return CONTAINER_PREFIX + run_id


def run_of_container(container: str) -> str:
    if not container.startswith(CONTAINER_PREFIX):
        raise ValidationError(f"Unknown data container {container!r}.", field="container")
    return container[len(CONTAINER_PREFIX) :]


def run_dto(run: Run) -> dict[str, Any]:
    """A RunDto of ``run`` (its experiment, parent and root joined)."""
    root = run.root.run_id if run.root_id else run.run_id
    error = None
    if run.error:
        error = {
            "error": {
                "code": run.error.get("code") or "UserError",
                "message": run.error.get("message") or run.status_reason,
            }
        }
    return {
        "runId": run.run_id,
        "runUuid": str(run.uuid),
        "rootRunId": root,
        "parentRunId": run.parent.run_id if run.parent_id else None,
        "experimentId": run.experiment.name,
        "runNumber": run.number,
        "status": run.status,
        "createdUtc": iso(run.created_at),
        "startTimeUtc": iso(run.started_at),
        "endTimeUtc": iso(run.ended_at),
        "name": run.display_name or run.run_id,
        "displayName": run.display_name or None,
        "description": run.description or None,
        "dataContainerId": container_of(run.run_id),
        "target": run.compute_target,
        "scriptName": run.script or None,
        "runType": "azureml.scriptrun" if run.script else "interactive",
        "heartbeatEnabled": False,
        "hidden": False,
        "tags": {t.key: t.value for t in run.tags.all()},
        "properties": {p.key: p.value for p in run.properties.all()},
        "createdBy": {"userName": run.submitted_by},
        "error": error,
    }


def run_details(run: Run, log_files: dict[str, str]) -> dict[str, Any]:
    dto = run_dto(run)
    keep = ("runId", "target", "status", "startTimeUtc", "endTimeUtc", "properties", "error")
    return {**{k: dto[k] for k in keep}, "logFiles": log_files, "warnings": []}


# --- metrics in --------------------------------------------------------------------


def _points(metric: dict, where: str) -> list[dict]:
    points = metric.get("value")
    if not isinstance(points, list) or not points:
        raise ValidationError(f"{where}.value must be a non-empty list.", field=f"{where}.value")
    for j, point in enumerate(points):
        if not isinstance(point, dict) or not isinstance(point.get("data"), dict):
            raise ValidationError(
                f"{where}.value[{j}].data must be an object.", field=f"{where}.value[{j}].data"
            )
    return points


def _cell(point: dict, name: str, where: str) -> Any:
    if name not in point["data"]:
        raise ValidationError(f"{where}.data has no value for {name!r}.", field=f"{where}.data")
    return point["data"][name]


def _image_file(location: object, where: str) -> str:
    # aml://artifactId/{origin}/{container}/{path}
    if not isinstance(location, str) or not location.startswith(ARTIFACT_ID):
        raise ValidationError(f"{where} must be an aml://artifactId/ location.", field=where)
    parts = location[len(ARTIFACT_ID) :].split("/", 2)
    if len(parts) != 3 or not parts[2]:
        raise ValidationError(f"{where} names no file.", field=where)
    return parts[2]


def metric_batch(body: object) -> tuple[str, list[dict], list[dict]]:
    """(batch id, series, records) for ``services.metric_log_batch`` from a
    BatchMetricV2Dto. The batch id is a digest of the client's metric ids: a batch the
    client sends again (it retries on a timeout) is recognised and stored once."""
    if not isinstance(body, dict) or not isinstance(body.get("values"), list):
        raise ValidationError('The body must be {"values": [metric, ...]}.', field="values")
    series: dict[str, dict[str, list]] = {}
    records: list[dict] = []
    ids: list[str] = []
    for i, metric in enumerate(body["values"]):
        where = f"values[{i}]"
        if not isinstance(metric, dict):
            raise ValidationError(f"{where} must be an object.", field=where)
        name = metric.get("name")
        if not isinstance(name, str) or not name:
            raise ValidationError(f"{where}.name must be a string.", field=f"{where}.name")
        ux = (metric.get("properties") or {}).get("uxMetricType")
        if ux not in KINDS:
            raise ValidationError(
                f"{where}: unknown metric kind {ux!r}; Studio takes {', '.join(KINDS)}.",
                field=f"{where}.properties.uxMetricType",
            )
        kind = KINDS[ux]
        points = _points(metric, where)
        for j, point in enumerate(points):
            metric_id = point.get("metricId")
            if not isinstance(metric_id, str) or not metric_id:
                raise ValidationError(
                    f"{where}.value[{j}].metricId is required.", field=f"{where}.value[{j}]"
                )
            ids.append(metric_id)
        if kind == "scalar":
            into = series.setdefault(name, {"name": name, "steps": [], "values": [], "times": []})
            for j, point in enumerate(points):
                into["steps"].append(point.get("step"))
                into["values"].append(_cell(point, name, f"{where}.value[{j}]"))
                into["times"].append(_epoch(point.get("createdUtc"), f"{where}.value[{j}]"))
        elif kind == "list":
            data = [_cell(p, name, f"{where}.value[{j}]") for j, p in enumerate(points)]
            records.append({"name": name, "kind": "list", "data": data})
        elif kind == "row":
            records.extend({"name": name, "kind": "row", "data": dict(p["data"])} for p in points)
        else:
            for j, point in enumerate(points):
                at = f"{where}.value[{j}].data.{name}"
                file = _image_file(_cell(point, name, f"{where}.value[{j}]"), at)
                records.append({"name": name, "kind": "image", "data": {"file": file}})
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    return digest, list(series.values()), records


# --- metrics out -------------------------------------------------------------------


def _column_type(values: list) -> str:
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {int}:
        return "int"
    if kinds and kinds <= {int, float}:
        return "double"
    if kinds == {bool}:
        return "bool"
    return "string"


def _value(i: int, data: dict, when: float | None = None, step: int | None = None) -> dict:
    created = dt.datetime.fromtimestamp(when, dt.UTC) if when is not None else None
    out = {"metricId": f"{i}", "createdUtc": iso(created), "data": data}
    if step is not None:
        out["step"] = step
    return out


def metric_dto(
    *, name: str, kind: str, container: str, series=None, records: list | None = None
) -> dict[str, Any]:
    """A MetricV2Dto of one stored metric, shaped so that the client's ``get_metrics``
    reads back what Studio's SDK reads (``selectors.metrics_get``)."""
    records = records or []
    if kind in (MetricKind.SCALAR, MetricKind.TEXT):
        steps, values, times = series
        values = values.tolist() if hasattr(values, "tolist") else list(values)
        rows = [
            _value(i, {name: v}, float(t), int(s))
            for i, (s, v, t) in enumerate(zip(steps.tolist(), values, times.tolist(), strict=True))
        ]
        return _dto(name, SCALAR, {name: _column_type(values)}, rows, container)
    if kind == MetricKind.LIST:
        items = records[-1] if records else []
        rows = [_value(i, {name: v}) for i, v in enumerate(items)]
        return _dto(name, LIST, {name: _column_type(items)}, rows, container)
    if kind in (MetricKind.ROW, MetricKind.TABLE):
        table_rows = (
            records if kind == MetricKind.ROW else _table_rows(records[-1] if records else {})
        )
        columns: dict[str, list] = {}
        for row in table_rows:
            for k, v in row.items():
                columns.setdefault(k, []).append(v)
        rows = [_value(i, dict(row)) for i, row in enumerate(table_rows)]
        return _dto(name, TABLE, {k: _column_type(v) for k, v in columns.items()}, rows, container)
    locations = [f"{ARTIFACT_ID}{ORIGIN}/{container}/{r['file']}" for r in records]
    rows = [_value(i, {name: loc}) for i, loc in enumerate(locations)]
    return _dto(name, IMAGE, {name: "Artifact"}, rows, container)


def _table_rows(table: dict[str, list]) -> list[dict]:
    length = max((len(c) for c in table.values()), default=0)
    return [{k: c[i] for k, c in table.items()} for i in range(length)]


def _dto(name: str, ux: str, columns: dict, rows: list, container: str) -> dict[str, Any]:
    return {
        "dataContainerId": container,
        "name": name,
        "columns": columns,
        "value": rows,
        "properties": {"uxMetricType": ux},
    }


# --- artifacts ---------------------------------------------------------------------


def artifact(container: str, path: str, created: dt.datetime | None = None) -> dict[str, Any]:
    return {
        "artifactId": f"{ORIGIN}/{container}/{path}",
        "origin": ORIGIN,
        "container": container,
        "path": path,
        "createdTime": iso(created),
    }


def content_info(container: str, path: str, uri: str) -> dict[str, Any]:
    return {"contentUri": uri, "origin": ORIGIN, "container": container, "path": path}
