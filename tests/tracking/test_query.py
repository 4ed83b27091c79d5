"""The filter language (docs/requirements.md SPEC §4), evaluated in the database
through the one runs query."""

import datetime as dt

import pytest

from studio.errors import ValidationError
from studio.rules.runquery import RunQuery
from studio.tracking import services
from studio.tracking.models import Run
from studio.tracking.runlist import language
from studio.tracking.runlist import query as runlist

T0 = 1_790_000_000.0


@pytest.fixture
def runs(workspace, experiment):
    other = services.experiment_get_or_create(workspace=workspace, name="cifar")

    def make(exp, name, status="Running", tags=None, props=None, loss=None, description=""):
        run = services.run_create(
            experiment=exp, submitted_by="alice", display_name=name, tags=tags, properties=props
        )
        if description:
            services.run_update(run=run, description=description)
        if loss is not None:
            services.metric_log_batch(
                run=run,
                batch_id="b",
                series=[
                    {
                        "name": "loss",
                        "steps": list(range(len(loss))),
                        "values": loss,
                        "times": [T0] * len(loss),
                    }
                ],
            )
        if status != "Running":
            services.run_transition(run=run, status=status)
        return run

    return {
        "great": make(
            experiment,
            "great",
            "Completed",
            {"quality": "great run", "worth another look": None},
            {"author": "azureml-user"},
            [0.9, 0.1, 0.15],
            "Tried **lr 0.1**",
        ),
        "bad": make(
            experiment, "bad", "Failed", {"quality": "poor"}, {"author": "someone"}, [2.0, 1.5]
        ),
        "live": make(experiment, "live", "Running", {"val.split": "0.2"}, None, [0.5]),
        "cifar": make(other, "cifar-run", "Canceled", {"quality": "great run"}),
    }


def names(workspace, expression):
    return sorted(
        r.display_name
        for r in runlist.runs(RunQuery(filter=expression, children=True), workspace=workspace)
    )


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("status = Completed", ["great"]),
        ("status != Completed", ["bad", "cifar-run", "live"]),
        ("status in (Failed, Canceled)", ["bad", "cifar-run"]),
        ("experiment = cifar", ["cifar-run"]),
        ("tags.quality = 'great run'", ["cifar-run", "great"]),
        ("tags.quality ~ GREAT", ["cifar-run", "great"]),
        ("tags.quality != 'great run'", ["bad", "live"]),
        ("has tags.'worth another look'", ["great"]),
        ("not has tags.'worth another look'", ["bad", "cifar-run", "live"]),
        ("tags.'val.split' = '0.2'", ["live"]),
        ("properties.author = 'azureml-user' and tags.quality = 'great run'", ["great"]),
        ("metrics.loss < 0.2", ["great"]),
        ("metrics.loss.min < 0.2", ["great"]),
        ("metrics.loss.max >= 2", ["bad"]),
        ("has metrics.loss and not metrics.loss > 1", ["great", "live"]),
        ("description ~ 'lr 0.1'", ["great"]),
        ("name ~ cifar or (status = Failed and experiment = explore-runs)", ["bad", "cifar-run"]),
        ("NOT (status = Running) AND experiment = 'explore-runs'", ["bad", "great"]),
        (
            "created >= 2000-01-01 and created < 2100-01-01T00:00Z",
            ["bad", "cifar-run", "great", "live"],
        ),
        ("submitted_by = alice and type = interactive", ["bad", "cifar-run", "great", "live"]),
        ("", ["bad", "cifar-run", "great", "live"]),
    ],
)
@pytest.mark.parametrize("many_matches", [language.MANY_MATCHES, 0])
def test_expressions_select_the_right_runs(
    workspace, runs, expression, expected, many_matches, monkeypatch
):
    """Both ways a term on tag, property or metric rows is written (``having``: the
    list of matches, or on SQLite past MANY_MATCHES a probe per run) select alike."""
    monkeypatch.setattr(language, "MANY_MATCHES", many_matches)
    assert names(workspace, expression) == expected


@pytest.mark.parametrize("many_matches", [language.MANY_MATCHES, 0])
def test_chips_select_alike_written_either_way(workspace, runs, many_matches, monkeypatch):
    monkeypatch.setattr(language, "MANY_MATCHES", many_matches)

    def chosen(**params):
        query = RunQuery.from_params({**params, "children": "1"})
        return sorted(r.display_name for r in runlist.runs(query, workspace=workspace))

    assert chosen(tag="quality=great run") == ["cifar-run", "great"]
    assert chosen(tag=["quality", "worth another look"]) == ["great"]
    assert chosen(prop="author=someone") == ["bad"]


def _sql(workspace, expression):
    query = RunQuery(filter=expression, children=True)
    return str(runlist.runs(query, workspace=workspace).query)


def test_a_large_match_is_probed_per_run_on_sqlite_and_listed_on_postgresql(
    workspace, runs, monkeypatch
):
    """On SQLite, which keeps no statistics, a term matching more than MANY_MATCHES
    rows becomes a correlated EXISTS (the page stops after its runs instead of reading
    every match first); a smaller match stays ``IN (SELECT run_id ...)``, which SQLite
    drives from. PostgreSQL plans both alike, so it always gets the list."""
    from django.db import connection

    monkeypatch.setattr(language, "MANY_MATCHES", 1)
    two, one = "metrics.loss < 1", "metrics.loss < 0.2"  # 2 summaries match, then 1
    assert names(workspace, two) == ["great", "live"]
    assert names(workspace, one) == ["great"]
    if connection.vendor == "sqlite":
        assert "EXISTS" in _sql(workspace, two) and "IN (SELECT" not in _sql(workspace, two)
    else:
        assert "EXISTS" not in _sql(workspace, two) and "IN (SELECT" in _sql(workspace, two)
    assert "EXISTS" not in _sql(workspace, one) and "IN (SELECT" in _sql(workspace, one)


def test_duration_compares_seconds(workspace, runs):
    Run.objects.filter(pk=runs["great"].pk).update(
        ended_at=runs["great"].started_at + dt.timedelta(seconds=120)
    )
    assert "great" in names(workspace, "duration > 60")
    assert "great" not in names(workspace, "duration > 600")


def test_a_value_that_looks_like_sql_is_just_a_value(workspace, runs):
    assert names(workspace, "tags.quality = 'x\\'); drop table tracking_run; --'") == []
    assert Run.objects.count() == 4


@pytest.mark.parametrize(
    "expression, column, words",
    [
        ("status = Runing", 10, "Unknown status"),
        ("status = ", 9, "ends too early"),
        ("foo = 1", 1, "Unknown field"),
        ("created_by__password__startswith = x", 1, "Unknown field"),
        ("_connector = OR", 1, "Unknown field"),
        ("tags.quality = great and (status = Running", 43, "ends too early"),
        ("status @ Running", 8, "Unexpected character '@'"),
        ("metrics.loss < fast", 16, "not a number"),
        ("metrics.loss ~ 1", 16, "compares text"),
        ("created > yesterday", 11, "not a date"),
        ("has status", 5, "'has' takes"),
        ("metrics.a.b.c = 1", 1, "metrics.NAME"),
    ],
)
def test_bad_expressions_point_at_the_position(workspace, expression, column, words):
    with pytest.raises(ValidationError) as err:
        list(runlist.runs(RunQuery(filter=expression, children=True), workspace=workspace))
    assert err.value.field == "filter"
    assert words in err.value.message
    assert f"(at column {column})" in err.value.message
    caret_line = err.value.message.splitlines()[-1]
    assert caret_line.index("^") - 2 == column - 1


def test_size_and_depth_are_bounded(workspace):
    with pytest.raises(ValidationError, match="limit is"):
        language.compile_filter("status = Running or " * 200 + "status = Running")
    with pytest.raises(ValidationError, match="deeper"):
        language.compile_filter("(" * 30 + "status = Running" + ")" * 30)
    with pytest.raises(ValidationError, match="more than"):
        language.compile_filter(" or ".join(["status = Running"] * (language.MAX_TERMS + 1)))
    with pytest.raises(ValidationError):
        language.compile_filter("tags.x = 'a\x00b'")


def test_the_compiler_only_emits_allowlisted_lookups():
    """Every lookup the compiler can produce is a literal in this module (C4)."""
    fields = {lookup for lookups, _ in language.COLUMNS.values() for lookup in lookups.split("|")}
    assert fields == {
        "status",
        "experiment__name",
        "display_name",
        "run_id",
        "description",
        "compute_target",
        "submitted_by",
        "type",
        "created_at",
        "duration",
        "archived",
    }
    q = language.compile_filter("status = Running and name ~ x and created > 2026-01-01")
    emitted = {child[0] for child in _leaves(q)}
    assert emitted <= {
        f"{f}__{lk}"
        for f in fields
        for lk in ("exact", "icontains", "lt", "lte", "gt", "gte", "in")
    }


def _leaves(q):
    for child in q.children:
        if isinstance(child, tuple):
            yield child
        elif hasattr(child, "children"):
            yield from _leaves(child)


def test_sdk_get_runs_takes_a_filter(sdk):
    ws = sdk.Workspace.from_config()
    exp = sdk.Experiment(ws, "filtering")
    a = exp.start_logging()
    a.tag("worth another look")
    exp.start_logging().complete()
    assert [r.id for r in exp.get_runs(filter="has tags.'worth another look'")] == [a.id]
    with pytest.raises(ValidationError):
        list(exp.get_runs(filter="status = "))


def test_order_against_a_number_reads_property_and_tag_values_as_numbers(workspace, experiment):
    """A brushed range (parallel coordinates) says ``properties.lr >= 0.0004``: as text,
    '5e-4' would sort before '0.001' and 'fast' after both."""
    for name, lr in [("tiny", "5e-4"), ("small", "0.001"), ("big", "0.1"), ("word", "fast")]:
        services.run_create(
            experiment=experiment,
            submitted_by="alice",
            display_name=name,
            properties={"lr": lr},
            tags={"lr": lr},
        )
    assert names(workspace, "properties.lr >= 0.0004 and properties.lr <= 0.01") == [
        "small",
        "tiny",
    ]
    assert names(workspace, "tags.lr > 0.001") == ["big"]
    assert names(workspace, "properties.lr < 1e2") == ["big", "small", "tiny"]
    assert names(workspace, "properties.lr >= a") == ["word"]  # a word: compared as text
    assert names(workspace, "properties.lr = 0.1") == ["big"]  # = is exact text, as before
