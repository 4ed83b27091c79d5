"""Run ids stay unique when thousands of runs are made in the same second."""

import itertools

from studio.tracking import services
from studio.tracking.services import runs as run_services


def test_children_made_in_one_batch_get_distinct_ids_even_when_the_random_part_repeats(
    run, monkeypatch
):
    # Every other draw repeats the previous one, and the first repeats the parent's id.
    draws = itertools.chain([run.run_id], (f"x_1_{i // 2:08x}" for i in itertools.count()))
    monkeypatch.setattr(run_services, "_new_run_id", lambda name: next(draws))

    children = services.run_create_children(parent=run, submitted_by="alice", count=50)

    ids = [child.run_id for child in children]
    assert len(set(ids)) == 50
    assert run.run_id not in ids
