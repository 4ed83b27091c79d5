"""Metrics and files of a run."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from studio.accounts.routes import Lean, endpoint
from studio.api.base import JSON, api, negotiate
from studio.api.schemas import MetricBatchIn
from studio.core.ranges import file_response
from studio.core.uploads import upload_body
from studio.errors import UnsupportedMediaType, ValidationError
from studio.rules import seriescodec
from studio.tracking import selectors, services
from studio.tracking.models import Run


@api.post("/runs/{run_id}/metrics", tags=["metrics"])
@endpoint("write", run=Lean("run_id"))
def metric_log_batch(request: HttpRequest, run: Run, payload: MetricBatchIn):
    """Store a batch of points and records, all or nothing. Send the same
    ``batch_id`` again after an unknown outcome: it is stored once."""
    return services.metric_log_batch(
        run=run,
        batch_id=payload.batch_id,
        series=[
            {"name": s.name, "steps": s.steps, "values": s.values, "times": s.times}
            for s in payload.series
        ],
        records=[{"name": r.name, "kind": r.kind, "data": r.data} for r in payload.records],
    )


@api.get("/runs/{run_id}/metrics", tags=["metrics"])
@endpoint("read", run="run_id")
def metrics_get(request: HttpRequest, run: Run, name: str | None = None):
    return {"metrics": selectors.metrics_get(run=run, name=name)}


@api.get("/runs/{run_id}/metrics/history", tags=["metrics"])
@endpoint("read", run="run_id")
def metric_history(request: HttpRequest, run: Run, name: str = ""):
    """Every point of one series: ``{"name", "steps", "values", "times"}``, or, for a
    numeric series when ``Accept`` asks for ``application/x-npy``, the same three
    columns as three ``.npy`` arrays back to back (``studio/rules/seriescodec.py``).
    ``name`` is checked after the run's access, so an outsider learns nothing."""
    if not name:
        raise ValidationError("name: the series to read is required (?name=loss).", field="name")
    steps, values, times = selectors.metric_history(run=run, name=name)
    numeric = isinstance(values, np.ndarray)
    if numeric and negotiate(request, (JSON, seriescodec.MEDIA_TYPE)) == seriescodec.MEDIA_TYPE:
        response = HttpResponse(
            seriescodec.encode(steps, values, times), content_type=seriescodec.MEDIA_TYPE
        )
    else:
        body = {
            "name": name,
            "steps": steps.tolist(),
            "values": values.tolist() if numeric else values,
            "times": times.tolist(),
        }
        response = api.create_response(request, body, status=200)
    patch_vary_headers(response, ("Accept",))
    return response


@api.get("/runs/{run_id}/files", tags=["files"])
@endpoint("read", run="run_id")
def file_list(request: HttpRequest, run: Run):
    return {"files": selectors.file_names(run=run)}


@api.put("/runs/{run_id}/files/{path:name}", tags=["files"])
@endpoint("write", run="run_id")
def file_upload(request: HttpRequest, run: Run, name: str):
    """Upload a file as the raw body (``application/octet-stream``) under ``name``,
    e.g. ``outputs/model.pkl``."""
    if (request.content_type or "").lower() != "application/octet-stream":
        raise UnsupportedMediaType(
            "Upload files as application/octet-stream.", field="Content-Type"
        )
    body = upload_body(request, settings.STUDIO_MAX_UPLOAD_BYTES)
    run_file = services.run_file_upload(run=run, name=name, content=body)
    return api.create_response(request, {"name": run_file.name, "size": run_file.size}, status=201)


@api.get("/runs/{run_id}/files/{path:name}", tags=["files"])
@endpoint("read", run="run_id")
def file_download(
    request: HttpRequest,
    run: Run,
    name: str,
    offset: int | None = None,
    limit: int | None = None,
):
    """The file as an attachment; never rendered by the browser. With ``offset``
    (negative: from the end) or ``limit``, at most 1 MB of it, and its current size
    in ``X-Studio-Size`` (a live log grows while it is read)."""
    run_file = selectors.file_get(run=run, name=name)
    if offset is not None or limit is not None:
        data, size = selectors.file_read(
            run_file=run_file, offset=offset or 0, limit=limit or selectors.MAX_READ
        )
        response = HttpResponse(data, content_type="application/octet-stream")
        response["X-Studio-Size"] = str(size)
        response["Content-Disposition"] = "attachment"
        response["Content-Security-Policy"] = "sandbox"
        return response
    response = file_response(
        request,
        selectors.file_open(run_file=run_file),
        as_attachment=True,
        filename=run_file.name.rsplit("/", 1)[-1],
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response
