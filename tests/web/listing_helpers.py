"""Helpers for the runs-list tests: runs with tags, properties and a logged metric."""

from __future__ import annotations

import re
import time

from studio.tracking import services
from studio.tracking.models import Run


def log_metric(run: Run, name: str, *values: float) -> None:
    now = time.time()
    services.metric_log_batch(
        run=run,
        batch_id=services.new_batch_id(),
        series=[
            {
                "name": name,
                "steps": list(range(len(values))),
                "values": list(values),
                "times": [now] * len(values),
            }
        ],
    )


def make_run(experiment, name: str, *, loss: float | None = None, tags=None, props=None, **kw):
    run = services.run_create(
        experiment=experiment,
        submitted_by=kw.pop("submitted_by", "bob"),
        display_name=name,
        tags=tags,
        properties=props,
        **kw,
    )
    if loss is not None:
        log_metric(run, "loss", loss * 2, loss)
    return run


def listed(body: str) -> list[str]:
    """Run ids of the table's rows, in order."""
    return re.findall(r'<tr data-run-id="([^"]+)"', body)


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()
