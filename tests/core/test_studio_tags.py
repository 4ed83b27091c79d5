"""Relative times and durations as the tables show them."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from studio.core.templatetags.studio_tags import reltime, run_duration

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "shown"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(seconds=-5), "just now"),
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(hours=3, minutes=59), "3 h ago"),
        (timedelta(days=2), "2 d ago"),
        (timedelta(days=30), "16 May"),
        (timedelta(days=400), "11 May 2025"),
    ],
)
def test_reltime_is_compact_and_turns_into_a_date_after_a_week(ago, shown):
    assert reltime(NOW - ago, NOW) == shown


def test_reltime_of_nothing_is_empty():
    assert reltime(None) == ""


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (0.01, "< 0.1 s"),
        (0.4, "0.4 s"),
        (9.96, "10.0 s"),
        (42, "42 s"),
        (120, "2 min"),
        (230, "3 min 50 s"),
        (3 * 3600 + 61, "3 h 1 min"),
        (2 * 3600 + 5 * 60 + 59, "2 h 5 min"),
        (90000, "1 d 1 h"),
    ],
)
def test_run_duration_counts_from_start_to_end(seconds, shown):
    run = SimpleNamespace(started_at=NOW, ended_at=NOW + timedelta(seconds=seconds))
    assert run_duration(run) == shown


def test_run_duration_of_an_unfinished_run_counts_to_now():
    run = SimpleNamespace(started_at=NOW, ended_at=None)
    assert run_duration(run, NOW + timedelta(minutes=2)) == "2 min"


def test_run_duration_of_a_run_not_started_is_empty():
    assert run_duration(SimpleNamespace(started_at=None, ended_at=None)) == ""
