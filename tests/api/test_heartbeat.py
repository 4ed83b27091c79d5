"""``POST /api/v1/heartbeat``: a process keeps its runs alive in one request that
reads ids and statuses only, whatever the runs hold, and only for runs its caller
may change (the one access mechanism, in bulk)."""

import datetime as dt

from django.utils import timezone

from studio.rules import validation
from studio.tracking import services
from studio.tracking.models import Run
from tests.api.conftest import post
from tests.factories import client_for

HEARTBEAT = "/api/v1/heartbeat"


def _quiet(runs):
    """Make the runs' last heartbeat an hour old, so a new one shows."""
    old = timezone.now() - dt.timedelta(hours=1)
    Run.objects.filter(pk__in=[r.pk for r in runs]).update(heartbeat_at=old)
    return old


def test_a_heartbeat_of_1000_runs_costs_a_fixed_number_of_queries_and_never_loads_tags(
    owner, run, django_assert_max_num_queries
):
    children = services.run_create_children(parent=run, submitted_by="alice", count=999)
    services.run_set_tags(run=run, tags={f"tag-{i}": "x" * 100 for i in range(1000)})
    services.run_add_properties(run=children[0], properties={f"p-{i}": "v" for i in range(1000)})
    ids = [run.run_id] + [c.run_id for c in children]
    old = _quiet([run, *children])
    post(owner.api, HEARTBEAT, {"runs": []})  # makes alice's token

    with django_assert_max_num_queries(6) as captured:
        response = post(owner.api, HEARTBEAT, {"runs": ids})

    assert response.status_code == 200
    assert response.json()["alive"] == 1000
    assert sorted(response.json()["runs"]) == sorted(ids)
    sql = " ".join(q["sql"] for q in captured.captured_queries).lower()
    assert "runtag" not in sql and "runproperty" not in sql
    assert Run.objects.filter(run_id__in=ids, heartbeat_at__gt=old).count() == 1000


def test_a_heartbeat_leaves_finished_runs_alone(owner, run, experiment):
    done = services.run_create(experiment=experiment, submitted_by="alice")
    services.run_complete(run=done)
    old = _quiet([run, done])

    response = post(owner.api, HEARTBEAT, {"runs": [run.run_id, done.run_id]})

    assert response.json() == {"alive": 1, "runs": [run.run_id]}
    done.refresh_from_db()
    assert done.heartbeat_at == old


def test_a_heartbeat_keeps_alive_only_runs_its_caller_may_change(
    member, reader, outsider, run, other_workspace
):
    theirs = services.run_create(
        experiment=services.experiment_get_or_create(workspace=other_workspace, name="x"),
        submitted_by="charlie",
    )
    old = _quiet([run, theirs])

    as_reader = post(reader.api, HEARTBEAT, {"runs": [run.run_id]})
    as_outsider = post(outsider.api, HEARTBEAT, {"runs": [run.run_id, "no-such-run"]})
    as_member = post(member.api, HEARTBEAT, {"runs": [run.run_id, theirs.run_id]})

    assert as_reader.json() == {"alive": 0, "runs": []}
    assert as_outsider.json() == {"alive": 0, "runs": []}
    assert as_member.json() == {"alive": 1, "runs": [run.run_id]}
    theirs.refresh_from_db()
    assert theirs.heartbeat_at == old


def test_a_run_scoped_token_keeps_alive_its_run_and_the_runs_below_it_only(owner, run, experiment):
    child = services.run_create(experiment=experiment, submitted_by="alice", parent=run)
    grandchild = services.run_create(experiment=experiment, submitted_by="alice", parent=child)
    sibling = services.run_create(experiment=experiment, submitted_by="alice")
    scoped = client_for(owner, run=child)

    ids = [r.run_id for r in (run, child, grandchild, sibling)]
    response = post(scoped, HEARTBEAT, {"runs": ids})

    assert sorted(response.json()["runs"]) == sorted([child.run_id, grandchild.run_id])


def test_a_heartbeat_of_more_runs_than_the_limit_is_refused(owner, run):
    old = _quiet([run])
    ids = [run.run_id] * (validation.MAX_HEARTBEAT_RUNS + 1)

    response = post(owner.api, HEARTBEAT, {"runs": ids})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "runs"
    run.refresh_from_db()
    assert run.heartbeat_at == old
