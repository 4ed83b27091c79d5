"""What one MLflow log-batch call costs in queries, through the HTTP endpoint with a
real token: a fixed number for the call plus two per metric key (the metric
service's update of each key's last chunk and summary), never one per point."""

from __future__ import annotations

import json
import math

import pytest
from django.db import connection
from django.test import Client

from studio.accounts.models import Role
from studio.accounts.services import token_create
from studio.tracking import selectors
from studio.tracking.models import Run, RunChange
from tests.factories import MembershipFactory

NOW_MS = 1_800_000_000_000

# Per call: the token; the run's id by uuid; the run with its workspace and the
# caller's role (no tags or properties; the lease watch read along). Then the metric
# service, in its transaction (opened and closed: 2): the run's row locked with its
# state, the batch id looked up and the summaries joined with their last chunks (one
# statement whatever the keys); the change feed's row, which notes the batch id (live
# pages: one per batch, whatever its keys). The heartbeat is fresh (no write).
# PostgreSQL locks the run's row in a statement of its own, before that read.
FIXED = 7 + int(connection.features.has_select_for_update)


@pytest.fixture(autouse=True)
def fresh_heartbeat(monkeypatch):
    """The run's heartbeat stays fresh however slow the machine: no heartbeat write
    among the counted statements (tests/tracking/test_query_counts_lean.py counts it)."""
    from studio.tracking.services import metrics

    monkeypatch.setattr(metrics, "heartbeat_every", lambda: 3600.0)


@pytest.fixture
def mlflow(workspace):
    user = MembershipFactory(user__username="alice", workspace=workspace, role=Role.OWNER).user
    _, secret = token_create(user=user, name="mlflow", workspace=workspace)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def call(route: str, body: dict, status: int = 200) -> dict:
        response = client.post(
            f"/api/2.0/mlflow/{route}", json.dumps(body), content_type="application/json"
        )
        assert response.status_code == status, response.content
        return response.json()

    return call


def _metrics(keys: int, steps: int, first_step: int = 0) -> list[dict]:
    return [
        {"key": f"m{k}", "value": float(s), "timestamp": NOW_MS + s, "step": s}
        for k in range(keys)
        for s in range(first_step, first_step + steps)
    ]


@pytest.mark.parametrize("keys", [1, 10, 100])
def test_a_thousand_metric_call_costs_a_fixed_number_of_queries_plus_two_per_key(
    mlflow, django_assert_num_queries, keys
):
    experiment = mlflow("experiments/create", {"name": "counted"})["experiment_id"]
    run_hex = mlflow("runs/create", {"experiment_id": experiment})["run"]["info"]["run_id"]
    steps = 1000 // keys
    mlflow("runs/log-batch", {"run_id": run_hex, "metrics": _metrics(keys, steps)})
    with django_assert_num_queries(FIXED + 2 * keys):
        mlflow("runs/log-batch", {"run_id": run_hex, "metrics": _metrics(keys, steps, steps)})
    run = Run.objects.get(uuid=run_hex)
    steps_stored, values, _ = selectors.metric_series(run=run, name=f"m{keys - 1}")
    assert list(steps_stored) == list(range(2 * steps))
    assert list(values) == [float(s) for s in range(2 * steps)]
    # One metric batch per call, each noted by its change.
    assert RunChange.objects.filter(run=run).exclude(batch_id=None).count() == 2


def test_the_fast_parse_keeps_order_non_finite_values_and_refuses_bad_items(mlflow):
    experiment = mlflow("experiments/create", {"name": "parsed"})["experiment_id"]
    run_hex = mlflow("runs/create", {"experiment_id": experiment})["run"]["info"]["run_id"]
    metrics = [
        {"key": "b", "value": 1.0, "timestamp": NOW_MS, "step": 0},
        {"key": "a", "value": "NaN", "timestamp": NOW_MS + 1, "step": 0},
        {"key": "b", "value": "Infinity", "timestamp": NOW_MS + 2, "step": 1},
        {"key": "a", "value": 2, "timestamp": NOW_MS + 3, "step": 1},
        {"key": "b", "value": "-Infinity", "timestamp": NOW_MS + 4, "step": 2},
        # protobuf JSON's int64 as strings and a step left out (0) are accepted
        {"key": "a", "value": 3.5, "timestamp": str(NOW_MS + 5)},
    ]
    mlflow("runs/log-batch", {"run_id": run_hex, "metrics": metrics})
    run = Run.objects.get(uuid=run_hex)
    steps, values, times = selectors.metric_series(run=run, name="b")
    assert list(steps) == [0, 1, 2]
    assert list(values) == [1.0, math.inf, -math.inf]
    assert list(times) == [(NOW_MS + i) / 1000 for i in (0, 2, 4)]
    steps, values, _ = selectors.metric_series(run=run, name="a")
    assert list(steps) == [0, 1, 0]
    assert math.isnan(values[0]) and list(values[1:]) == [2.0, 3.5]

    before = RunChange.objects.filter(run=run).count()
    bad_items = [
        [{"key": "a", "value": True, "timestamp": NOW_MS, "step": 0}],
        [{"key": "a", "value": 1.0, "timestamp": NOW_MS, "step": -1}],
        [{"key": "a", "value": 1.0, "timestamp": NOW_MS, "step": 2**64}],
        [{"key": "a", "value": "1.0x", "timestamp": NOW_MS, "step": 0}],
        [{"key": 5, "value": 1.0, "timestamp": NOW_MS, "step": 0}],
        [{"value": 1.0, "timestamp": NOW_MS, "step": 0}],
        [{"key": "a", "value": 1.0, "step": 0}],
        [{"key": "a", "value": 10**400, "timestamp": NOW_MS, "step": 0}],
    ]
    for bad in bad_items:
        good = {"key": "b", "value": 9.0, "timestamp": NOW_MS, "step": 9}
        answer = mlflow("runs/log-batch", {"run_id": run_hex, "metrics": [good, *bad]}, 400)
        assert answer["error_code"] == "INVALID_PARAMETER_VALUE", bad
    # all or nothing: the good point beside each bad one was not stored either
    assert RunChange.objects.filter(run=run).count() == before
    assert list(selectors.metric_series(run=run, name="b")[0]) == [0, 1, 2]
