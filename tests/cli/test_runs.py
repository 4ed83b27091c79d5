"""``studio run list|show|update|cancel``: the seed article's CLI samples and the rest."""

from __future__ import annotations

import pytest


@pytest.fixture
def runs(sdk, exp):
    """Runs tagged so that each of the seed's queries picks a different subset."""

    def make(properties=None, tags=None, display_name=None, experiment=exp):
        run = experiment.start_logging(display_name=display_name)
        if properties:
            run.add_properties(properties)
        for key, value in (tags or {}).items():
            run.tag(key, value)
        return run

    other = sdk.Experiment(workspace=exp.workspace, name="other")
    return {
        "fantastic": make({"author": "azureml-user"}, {"quality": "fantastic run"}),
        "look": make({"author": "azureml-user"}, {"worth another look": None}),
        "great": make({"author": "azureml-user"}, {"quality": "great run"}),
        "stranger": make({"author": "someone-else"}, {"quality": "fantastic run"}),
        "plain": make(display_name="plain run"),
        "elsewhere": make(
            {"author": "azureml-user"}, {"quality": "fantastic run"}, experiment=other
        ),
    }


def ids(rows):
    return {row["id"] for row in rows}


def test_seed_query_on_the_author_property_lists_exactly_those_runs(cli, runs):
    rows = cli(
        "run", "list", "--experiment-name", "experiment",
        "--query", "[?properties.author=='azureml-user']",
    ).json()  # fmt: skip
    assert ids(rows) == {runs[k].id for k in ("fantastic", "look", "great")}


def test_seed_query_on_a_key_only_tag_lists_exactly_that_run(cli, runs):
    rows = cli(
        "run", "list", "--experiment-name", "experiment",
        "--query", "[?contains(keys(tags), 'worth another look')]",
    ).json()  # fmt: skip
    assert ids(rows) == {runs["look"].id}


def test_seed_query_as_the_article_writes_it_with_keys_and_starts_with(cli, runs):
    rows = cli(
        "run", "list", "--experiment-name", "experiment",
        "[?tags.keys(@)[?starts_with(@, 'worth another look')]]",
    ).json()  # fmt: skip
    assert ids(rows) == {runs["look"].id}


def test_seed_query_on_property_and_tag_lists_exactly_that_run(cli, runs):
    rows = cli(
        "run", "list", "--experiment-name", "experiment",
        "--query", "[?properties.author=='azureml-user' && tags.quality=='fantastic run']",
    ).json()  # fmt: skip
    assert ids(rows) == {runs["fantastic"].id}


def test_query_as_a_trailing_argument_means_the_same_as_query(cli, runs):
    query = "[?properties.author=='azureml-user'].id"
    as_option = cli("run", "list", "-e", "experiment", "--query", query).json()
    trailing = cli("run", "list", "-e", "experiment", query).json()
    assert trailing == as_option
    assert len(trailing) == 3


def test_query_given_twice_is_a_usage_error(cli, runs):
    result = cli("run", "list", "--query", "[].id", "[].number")
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1 and "once" in result.err


def test_list_without_an_experiment_covers_the_whole_workspace_newest_first(cli, runs):
    rows = cli("run", "list").json()
    assert [r["id"] for r in rows] == [r.id for r in reversed(list(runs.values()))]
    assert rows[0]["experiment"] == "other"


def test_list_of_an_unknown_experiment_is_empty(cli, runs):
    assert cli("run", "list", "-e", "never-used").json() == []


def test_filter_is_evaluated_by_the_store(cli, runs):
    rows = cli(
        "run", "list", "-e", "experiment", "--filter", "tags.quality = 'fantastic run'"
    ).json()
    assert ids(rows) == {runs["fantastic"].id, runs["stranger"].id}


def test_filter_and_query_combine(cli, runs):
    numbers = cli(
        "run", "list", "--filter", "has tags.quality and properties.author = azureml-user",
        "--query", "[].experiment",
    ).json()  # fmt: skip
    assert sorted(numbers) == ["experiment", "experiment", "other"]


def test_last_keeps_the_newest_runs(cli, runs):
    rows = cli("run", "list", "-e", "experiment", "--last", "2").json()
    assert [r["id"] for r in rows] == [runs["plain"].id, runs["stranger"].id]


def test_sort_takes_a_column_key_of_the_studios_list(cli, runs):
    rows = cli("run", "list", "-e", "experiment", "--sort", "name").json()
    assert [r["display_name"] for r in rows][-1] == "plain run"
    rows = cli("run", "list", "-e", "experiment", "--sort", "created").json()
    assert [r["id"] for r in rows][0] == runs["fantastic"].id


def test_an_unknown_sort_key_is_refused_with_the_allowed_ones(cli, runs):
    result = cli("run", "list", "--sort", "password")
    assert result.code != 0
    assert "Unknown column 'password'" in result.err


def test_children_are_listed_only_on_request(cli, runs):
    child = runs["plain"].child_run()
    assert child.id not in ids(cli("run", "list", "-e", "experiment").json())
    listed = cli("run", "list", "-e", "experiment", "--include-children").json()
    assert child.id in ids(listed)


def test_table_output_has_aligned_columns_with_a_header(cli, runs):
    result = cli("run", "list", "-e", "experiment", "-o", "table")
    assert result.code == 0
    header, rule, *rows = result.out.splitlines()
    assert header.split("  ")[0] == "Number"
    for title in ("Id", "Display name", "Status", "Created", "Tags"):
        assert title in header
    assert set(rule) == {"-", " "}
    assert len(rows) == 5
    status_at = header.index("Status")
    tags_at = header.index("Tags")
    for row in rows:
        assert row[status_at:].startswith("Running")
    plain = next(row for row in rows if runs["plain"].id in row)
    assert "plain run" in plain
    fantastic = next(row for row in rows if runs["fantastic"].id in row)
    assert fantastic[tags_at:] == "quality=fantastic run"
    look = next(row for row in rows if runs["look"].id in row)
    assert look[tags_at:] == "worth another look"


def test_table_output_after_a_query_takes_its_columns_from_the_result(cli, runs):
    result = cli(
        "run", "list", "-e", "experiment", "-o", "table",
        "--query", "[?tags.quality].{run: id, quality: tags.quality}",
    )  # fmt: skip
    header, _rule, *rows = result.out.splitlines()
    assert header.split() == ["run", "quality"]
    assert len(rows) == 3 and all(runs[k].id in result.out for k in ("fantastic", "great"))


def test_show_prints_the_run_as_json(cli, runs):
    run = runs["fantastic"]
    data = cli("run", "show", "-r", run.id).json()
    assert data["id"] == run.id
    assert data["status"] == "Running"
    assert data["properties"] == {"author": "azureml-user"}
    assert data["tags"] == {"quality": "fantastic run"}


def test_show_checks_the_experiment_when_given(cli, runs):
    run = runs["elsewhere"]
    assert cli("run", "show", "-r", run.id, "-e", "other").json()["id"] == run.id
    result = cli("run", "show", "-r", run.id, "-e", "experiment")
    assert result.code == 1
    assert result.err == (
        f"studio: error: Run {run.id!r} does not exist in experiment 'experiment'. [not_found]\n"
    )


def test_a_run_of_another_workspace_looks_missing(cli, runs):
    run = runs["fantastic"]
    result = cli("run", "show", "-r", run.id, "-w", "other-team")
    assert result.code == 1
    assert result.err == f"studio: error: Run {run.id!r} does not exist. [not_found]\n"


def test_update_adds_a_tag_with_a_value_split_on_the_first_equals(cli, runs):
    run = runs["plain"]
    data = cli(
        "run", "update", "-r", run.id,
        "--add-tag", "quality=fantastic run", "--add-tag", "formula=a=b",
    ).json()  # fmt: skip
    assert data["tags"] == {"formula": "a=b", "quality": "fantastic run"}
    assert run.get_tags() == {"formula": "a=b", "quality": "fantastic run"}


def test_update_adds_a_key_only_tag(cli, runs):
    run = runs["plain"]
    data = cli("run", "update", "-r", run.id, "--add-tag", "worth another look").json()
    assert data["tags"] == {"worth another look": None}
    assert run.get_tags() == {"worth another look": None}


def test_update_removes_tags_and_sets_description_and_display_name(cli, runs):
    run = runs["fantastic"]
    data = cli(
        "run", "update", "-r", run.id, "--remove-tag", "quality",
        "--description", "Uses the *new* data", "--display-name", "baseline",
    ).json()  # fmt: skip
    assert data["tags"] == {}
    assert data["description"] == "Uses the *new* data"
    assert data["display_name"] == "baseline"
    assert run.get_details()["displayName"] == "baseline"


def test_update_with_a_bad_value_changes_nothing(cli, runs):
    run = runs["fantastic"]
    result = cli("run", "update", "-r", run.id, "--add-tag", "new=tag", "--display-name", "x" * 300)
    assert result.code == 1
    assert result.err.startswith("studio: error: display_name is 300 characters long")
    assert run.get_tags() == {"quality": "fantastic run"}


def test_update_with_nothing_to_change_is_a_usage_error(cli, runs):
    result = cli("run", "update", "-r", runs["plain"].id)
    assert result.code == 2
    assert result.err.startswith("studio: error: nothing to update")


def test_cancel_cancels_a_running_run_and_prints_it(cli, runs):
    run = runs["plain"]
    data = cli("run", "cancel", "-r", run.id, "-w", "default", "-e", "experiment").json()
    assert data["id"] == run.id
    assert data["status"] == "Canceled"
    assert run.get_status() == "Canceled"


def test_cancelling_a_finished_run_is_one_error_line(cli, runs):
    run = runs["plain"]
    run.complete()
    result = cli("run", "cancel", "-r", run.id)
    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith("studio: error: ")
    assert result.err.endswith("[invalid_transition]\n")
    assert run.get_status() == "Completed"


def test_experiment_list_names_the_experiments_and_counts_runs(cli, runs):
    rows = cli("experiment", "list").json()
    assert [(r["name"], r["run_count"]) for r in rows] == [("experiment", 5), ("other", 1)]
    table = cli("experiment", "list", "-o", "table").out.splitlines()
    assert table[0].split("  ")[0] == "Name"
    assert table[2].split()[:2] == ["experiment", "5"]
