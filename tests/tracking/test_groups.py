"""A runs list grouped by a property, a tag or the experiment: counts and mean / std /
min / max per metric column, checked against numpy; missing, NaN and infinite values;
the cap on a key with very many values; keys a list cannot be grouped by."""

import uuid

import numpy as np
import pytest

from studio.errors import ValidationError
from studio.rules.runquery import RunQuery, parse_column, parse_sort
from studio.tracking import services
from studio.tracking.models import Run, RunProperty
from studio.tracking.runlist import groups
from studio.tracking.runlist import query as runlist
from studio.tracking.runlist.state import parse_group
from tests.web.listing_helpers import log_metric

# lr -> per seed (loss, acc); None: not logged.
SWEEP = {
    "0.1": [(0.5, 0.7), (0.25, 0.75), (0.4, None)],
    "0.01": [(0.125, 0.9), (1e6 + 0.1, 0.91), (1e6 + 0.2, 0.92), (1e6 + 0.4, 0.93)],
    "0.001": [(0.3, 0.8)],
}


@pytest.fixture
def sweep(experiment):
    made = []
    for lr, results in SWEEP.items():
        for seed, (loss, acc) in enumerate(results):
            tags = {"candidate": None} if seed == 0 else {"stage": f"s{seed % 2}"}
            run = services.run_create(
                experiment=experiment,
                submitted_by="alice",
                display_name=f"lr{lr}-s{seed}",
                properties={"lr": lr, "seed": str(seed)},
                tags=tags,
            )
            log_metric(run, "loss", 9.0, loss)  # min is loss too (9 > every loss)
            if acc is not None:
                log_metric(run, "acc", acc)
            made.append(run)
    plain = services.run_create(experiment=experiment, submitted_by="alice", display_name="plain")
    log_metric(plain, "loss", float("nan"))  # last value NaN: counted, not aggregated
    log_metric(plain, "acc", float("inf"))
    made.append(plain)
    return made


def _by_label(grouping):
    return {g.label: g for g in grouping.groups}


LOSS, ACC = parse_column("metric:last:loss"), parse_column("metric:last:acc")


def test_group_stats_match_numpy(sweep):
    grouping = groups.group_runs(Run.objects.all(), parse_group("prop:lr"), [LOSS, ACC])
    found = _by_label(grouping)
    assert set(found) == {"0.1", "0.01", "0.001", "(none)"}
    for lr, results in SWEEP.items():
        group = found[lr]
        assert group.count == len(results)
        for stats, values in zip(group.stats, zip(*results, strict=True), strict=True):
            present = np.array([v for v in values if v is not None])
            assert stats.n == len(present)
            assert stats.mean == pytest.approx(present.mean(), rel=1e-12)
            assert stats.min == present.min() and stats.max == present.max()
            if len(present) > 1:
                assert stats.std == pytest.approx(present.std(ddof=1), rel=1e-9)
            else:
                assert stats.std is None  # a sample std needs two values
    none = found["(none)"]
    assert none.count == 1 and not none.present
    assert [s.n for s in none.stats] == [0, 0]  # NaN and inf are not values to average
    assert all(s.mean is None and s.std is None for s in none.stats)
    assert grouping.runs == Run.objects.count() and not grouping.capped


def test_large_values_close_together_keep_their_spread(sweep):
    """1e6 + 0.1, + 0.2, + 0.4 and 0.125: sum-of-squares minus square-of-sum would
    lose most digits of this std; the two-pass formula keeps them."""
    grouping = groups.group_runs(Run.objects.all(), parse_group("prop:lr"), [LOSS])
    values = np.array([r[0] for r in SWEEP["0.01"]])
    assert _by_label(grouping)["0.01"].stats[0].std == pytest.approx(values.std(ddof=1), rel=1e-12)


def test_min_and_max_columns_aggregate_their_own_stat(sweep):
    columns = [parse_column("metric:max:loss"), parse_column("metric:min:loss")]
    grouping = groups.group_runs(Run.objects.all(), parse_group("prop:lr"), columns)
    top, low = _by_label(grouping)["0.1"].stats
    assert top.mean == 9.0 and top.std == 0.0
    assert low.mean == pytest.approx(np.mean([0.5, 0.25, 0.4]))


def test_a_tag_groups_key_only_runs_apart_from_runs_without_it(sweep):
    grouping = groups.group_runs(Run.objects.all(), parse_group("tag:candidate"), [LOSS])
    found = _by_label(grouping)
    assert found["(no value)"].count == 3  # seed 0 of each lr: tagged, no value
    assert found["(none)"].count == len(sweep) - 3
    by_stage = _by_label(groups.group_runs(Run.objects.all(), parse_group("tag:stage"), []))
    assert {k: g.count for k, g in by_stage.items()} == {"s1": 3, "s0": 2, "(none)": 4}


def test_grouping_by_experiment_follows_the_filtered_runs(sweep, workspace):
    other = services.experiment_get_or_create(workspace=workspace, name="cifar")
    services.run_create(experiment=other, submitted_by="alice", display_name="c")
    grouping = groups.group_runs(Run.objects.all(), parse_group("experiment"), [LOSS])
    assert {g.label: g.count for g in grouping.groups} == {"explore-runs": 9, "cifar": 1}
    only = groups.group_runs(
        Run.objects.filter(properties__key="lr", properties__value="0.1"),
        parse_group("experiment"),
        [LOSS],
    )
    assert [(g.label, g.count) for g in only.groups] == [("explore-runs", 3)]


def test_grouping_costs_two_queries_whatever_the_number_of_groups(sweep, django_assert_num_queries):
    with django_assert_num_queries(2):
        groups.group_runs(Run.objects.all(), parse_group("prop:seed"), [LOSS, ACC])


@pytest.mark.slow  # 100,000 runs written, even with bulk_create
def test_a_key_with_100000_values_is_capped_with_a_message(experiment):
    """Runs written with bulk_create: the fixture is about the key's values, not the
    services (each run its own seed)."""
    n = 100_000
    runs = Run.objects.bulk_create(
        (
            Run(
                run_id=f"bulk_{i}_{uuid.uuid4().hex[:8]}",
                workspace=experiment.workspace,
                experiment=experiment,
                number=i + 1,
            )
            for i in range(n)
        ),
        batch_size=10_000,
    )
    RunProperty.objects.bulk_create(
        (RunProperty(run=run, key="seed", value=str(i)) for i, run in enumerate(runs)),
        batch_size=10_000,
    )
    grouping = groups.group_runs(Run.objects.all(), parse_group("prop:seed"), [LOSS])
    assert grouping.capped
    assert len(grouping.groups) == groups.MAX_GROUPS
    assert grouping.distinct == n
    assert "100,000 distinct values" in grouping.message
    assert f"showing the {groups.MAX_GROUPS} largest groups" in grouping.message


@pytest.mark.parametrize("key", ["status", "metric:last:loss", "prop:", "seed", "tag:" + "k" * 300])
def test_a_bad_group_key_gets_a_clear_message(key):
    with pytest.raises(ValidationError) as info:
        parse_group(key)
    assert info.value.field == "group" and info.value.message


def test_group_runs_refuses_a_column_a_list_cannot_group_by(db):
    with pytest.raises(ValidationError, match="Group by a property"):
        groups.group_runs(Run.objects.all(), parse_column("status"), [])


@pytest.mark.parametrize("key", ["prop:lr", "tag:candidate", "tag:stage", "experiment"])
def test_each_groups_filter_selects_exactly_its_runs(sweep, workspace, key):
    """Opening a group (rows in place, or its own list) adds its condition to the
    list's filter: through the one filter language, the same runs as the group."""
    column = parse_group(key)
    for group in groups.group_runs(Run.objects.all(), column, []).groups:
        expression = groups.group_filter(column, group)
        found = runlist.runs(RunQuery(filter=expression), workspace=workspace)
        assert found.count() == group.count, expression


def test_a_value_with_quotes_and_backslashes_is_quoted_for_the_filter(experiment, workspace):
    odd = "it's a \\ path"
    services.run_create(experiment=experiment, submitted_by="a", properties={"opt": odd})
    group = groups.group_runs(Run.objects.all(), parse_group("prop:opt"), []).groups[0]
    expression = groups.group_filter(parse_group("prop:opt"), group)
    assert runlist.runs(RunQuery(filter=expression), workspace=workspace).count() == 1


def test_groups_sort_by_the_sort_columns_mean_else_by_value(sweep):
    grouping = groups.group_runs(Run.objects.all(), parse_group("prop:lr"), [LOSS])
    by_value = [g.label for g in groups.ordered(grouping, parse_sort("-created"))]
    assert by_value == ["0.001", "0.01", "0.1", "(none)"]  # as numbers; none last
    best_first = [g.label for g in groups.ordered(grouping, parse_sort("metric:last:loss"))]
    assert best_first == ["0.001", "0.1", "0.01", "(none)"]  # means 0.3, 0.38, 750000
