"""Every failure is one line on stderr and a non-zero exit: 2 for usage, 1 otherwise."""

from __future__ import annotations

import pytest

from studio.cli import runs as run_commands


def assert_one_line(result, code):
    assert result.code == code
    assert result.out == ""
    assert result.err.startswith("studio: error: ")
    assert result.err.count("\n") == 1
    assert "Traceback" not in result.err


def test_show_of_an_unknown_run_is_one_line_and_exit_1(cli):
    result = cli("run", "show", "-r", "no-such-run")
    assert_one_line(result, 1)
    assert result.err == "studio: error: Run 'no-such-run' does not exist. [not_found]\n"


@pytest.mark.parametrize(
    "query, where",
    [
        ("[?properties.author==", "incomplete expression at column 22"),
        ("[?tags.$x]", "at column 8"),
        ("[?a == 'b'", "at column 11"),
    ],
)
def test_a_bad_query_says_where_and_is_a_usage_error(cli, query, where):
    result = cli("run", "list", "--query", query)
    assert_one_line(result, 2)
    assert "invalid JMESPath" in result.err and where in result.err


def test_a_query_that_fails_on_the_data_is_one_line(cli, exp):
    exp.start_logging()
    result = cli("run", "list", "--query", "[].no_such_function(@)")
    assert_one_line(result, 2)
    assert "no_such_function" in result.err


def test_a_bad_filter_says_where_and_exits_1(cli):
    result = cli("run", "list", "--filter", "status = = Running")
    assert_one_line(result, 1)
    assert "(at column 10)" in result.err and result.err.endswith("[invalid]\n")


def test_an_unknown_filter_field_is_named(cli):
    result = cli("run", "list", "--filter", "colour = red")
    assert_one_line(result, 1)
    assert "'colour'" in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "show"],
        ["run", "list", "-o", "yaml"],
        ["run", "list", "--last", "0"],
        ["run", "frobnicate"],
        ["run"],
        [],
    ],
)
def test_usage_errors_are_one_line_and_exit_2(cli, argv):
    assert_one_line(cli(*argv), 2)


def test_an_invalid_experiment_name_is_a_domain_error(cli):
    result = cli("run", "list", "-e", "no spaces please")
    assert_one_line(result, 1)
    assert result.err.endswith("[invalid]\n")


def test_help_goes_to_stdout_and_exits_0(cli):
    result = cli("run", "list", "--help")
    assert result.code == 0
    assert "--filter" in result.out and result.err == ""


def test_an_unexpected_exception_is_one_line_without_traceback(cli, monkeypatch):
    def boom(args):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(run_commands, "run_show", boom)
    result = cli("run", "show", "-r", "x")
    assert_one_line(result, 1)
    assert result.err == (
        "studio: error: unexpected RuntimeError: disk on fire "
        "(set STUDIO_DEBUG=1 for the traceback)\n"
    )


def test_studio_debug_shows_the_traceback(cli, monkeypatch):
    def boom(args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(run_commands, "run_show", boom)
    monkeypatch.setenv("STUDIO_DEBUG", "1")
    result = cli("run", "show", "-r", "x")
    assert result.code == 1
    assert "Traceback" in result.err and "disk on fire" in result.err
