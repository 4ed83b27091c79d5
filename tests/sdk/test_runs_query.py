"""``get_runs`` and ``get_children`` go through the one runs query on both stores:
the same filters, the studio's sort keys, keyset pages, and a first page that costs
what the page beneath it does."""

import pytest
from django.db import connection

from studio.errors import ValidationError
from studio.rules.runquery import RunQuery


@pytest.fixture
def exp(ws, sdk):
    return sdk.Experiment(workspace=ws, name="query")


def _runs(exp, losses):
    runs = []
    for i, loss in enumerate(losses):
        run = exp.start_logging(display_name=f"r{i}")
        run.log("loss", loss)
        run.set_tags({"lr": str(i % 2)})
        run.complete()
        runs.append(run)
    return runs


def test_get_runs_sorts_by_a_studio_column_key(exp):
    runs = _runs(exp, [0.3, 0.1, 0.2])
    assert [r.id for r in exp.get_runs(sort="metric:last:loss")] == [
        runs[1].id,
        runs[2].id,
        runs[0].id,
    ]
    assert [r.id for r in exp.get_runs(sort="-name", tags={"lr": "0"})] == [runs[2].id, runs[0].id]
    with pytest.raises(ValidationError, match="Unknown column"):
        list(exp.get_runs(sort="password"))


def test_get_runs_reads_every_page_of_a_long_list(exp, ws):
    parent = exp.start_logging()
    parent.create_children(count=250)
    assert len(list(exp.get_runs(include_children=True))) == 251
    assert len(parent.get_children()) == 250


def test_get_children_filters_and_recurses_through_the_same_query(exp):
    parent = exp.start_logging()
    kids = parent.create_children(count=2)
    kids[1].set_tags({"lr": "0.2"})
    grandchild = kids[0].child_run()
    grandchild.complete()
    assert [c.id for c in parent.get_children(tags={"lr": "0.2"})] == [kids[1].id]
    assert [c.id for c in parent.get_children()] == [kids[0].id, kids[1].id]
    assert {c.id for c in parent.get_children(recursive=True)} == {
        kids[0].id,
        kids[1].id,
        grandchild.id,
    }
    assert [c.id for c in parent.get_children(recursive=True, status="Completed")] == [
        grandchild.id
    ]


def test_a_tag_key_holding_an_equals_sign_points_to_the_filter_language(exp):
    with pytest.raises(ValidationError, match="filter language"):
        list(exp.get_runs(tags={"a=b": "c"}))


def test_the_local_first_page_costs_a_fixed_number_of_queries(sdk, django_assert_num_queries):
    from itertools import islice

    exp = sdk.Experiment(workspace=sdk.Workspace.from_config(), name="counted")
    parent = exp.start_logging()
    parent.create_children(count=150)
    # workspace, the page's rows, their tags and properties (one query), and one to
    # see whether the listed runs that are going still have a process: whatever its size
    with django_assert_num_queries(4):
        assert len(list(islice(exp.get_runs(include_children=True), 100))) == 100
    # workspace, rows: nothing more to read; on SQLite the tag's probe (language.having)
    with django_assert_num_queries(2 + (connection.vendor == "sqlite")):
        assert list(exp.get_runs(include_children=True, tags={"x": None})) == []


def test_a_query_round_trips_through_its_parameters():
    query = RunQuery.of(
        experiment="mnist",
        tags={"lr": "0.1", "best": None},
        properties={"author": "a=b"},
        status="Completed",
        type="script",
        include_children=True,
        filter="metrics.loss < 0.2",
        sort="-metric:min:loss",
    )
    assert RunQuery.from_params(_as_dict(query.to_params())) == query
    assert RunQuery.from_params({}) == RunQuery()


def test_the_apis_older_parameters_read_as_the_same_query():
    older = {"tags": '{"lr": "0.1"}', "properties": '{"a": "b"}', "include_children": "true"}
    assert RunQuery.from_params(older) == RunQuery.of(
        tags={"lr": "0.1"}, properties={"a": "b"}, include_children=True
    )
    with pytest.raises(ValidationError, match="Unknown parameter"):
        RunQuery.from_params({"password": "x"})


def _as_dict(pairs):
    out = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out
