"""Keyset pages of a runs list: every run exactly once, in order, forwards and back,
with missing sort values last in both directions."""

import time

import pytest

from studio.rules.runquery import parse_sort
from studio.tracking import schema, services
from studio.tracking.models import Run
from studio.tracking.runlist import pages as listing
from tests.web.listing_helpers import log_metric


@pytest.fixture
def runs(experiment):
    made = []
    for i in range(23):
        run = services.run_create(experiment=experiment, submitted_by="bob", display_name=f"r{i}")
        if i % 4:
            log_metric(run, "loss", float(i % 5))  # ties, and runs without the metric
        made.append(run)
    return made


def _forward(sort_key: str, size: int) -> list[listing.Page]:
    pages, cursor = [], None
    qs = Run.objects.all()
    while True:
        page = listing.page(qs, parse_sort(sort_key), after=cursor, size=size)
        pages.append(page)
        if not page.next_cursor:
            return pages
        cursor = page.next_cursor


@pytest.mark.parametrize("sort_key", ["metric:last:loss", "-metric:last:loss", "-created", "name"])
def test_forward_pages_hold_every_run_once_in_sort_order(runs, sort_key):
    pages = _forward(sort_key, size=5)
    seen = [r.pk for p in pages for r in p.runs]
    whole = [r.pk for r in listing.page(Run.objects.all(), parse_sort(sort_key), size=100).runs]
    assert seen == whole and sorted(seen) == sorted(r.pk for r in runs)
    assert [p.start for p in pages] == [1, 6, 11, 16, 21]
    if "metric" in sort_key:
        values = [r._sort for p in pages for r in p.runs]
        assert values[-6:] == [None] * 6  # runs without the metric, last both ways


@pytest.mark.parametrize("sort_key", ["metric:last:loss", "-metric:last:loss", "-created", "name"])
def test_a_first_page_reads_a_counted_list_from_its_ids_in_the_same_order(
    runs, sort_key, monkeypatch
):
    """A first page whose count found the whole list (at most COUNT_LIMIT runs) is
    read from those ids and sorted; a longer list walks the sort column's index. Both
    give the same runs in the same order (ties by id, missing values last)."""
    counted = listing.page(Run.objects.all(), parse_sort(sort_key), size=10)
    assert counted.total == 23 and not counted.total_more
    monkeypatch.setattr(listing, "COUNT_LIMIT", 5)  # now the count stops short
    walked = listing.page(Run.objects.all(), parse_sort(sort_key), size=10)
    assert walked.total == 5 and walked.total_more
    assert [r.pk for r in walked.runs] == [r.pk for r in counted.runs]
    assert [r._sort for r in walked.runs] == [r._sort for r in counted.runs]
    assert walked.next_cursor == counted.next_cursor


@pytest.mark.parametrize("sort_key", ["metric:last:loss", "-metric:last:loss", "-created"])
def test_backward_pages_mirror_the_forward_ones(runs, sort_key):
    pages = _forward(sort_key, size=5)
    for earlier, later in zip(pages, pages[1:], strict=False):
        back = listing.page(
            Run.objects.all(), parse_sort(sort_key), before=later.prev_cursor, size=5
        )
        assert [r.pk for r in back.runs] == [r.pk for r in earlier.runs]
        assert back.start == earlier.start


def test_a_cursor_of_another_sort_is_refused(runs):
    page = listing.page(Run.objects.all(), parse_sort("-created"), size=5)
    from studio.errors import ValidationError

    with pytest.raises(ValidationError):
        listing.page(Run.objects.all(), parse_sort("name"), after=page.next_cursor)


@pytest.fixture
def mixed(experiment):
    """Runs with ties, a NaN and a text value of the metric, runs without it, tags
    with and without a value and properties on some: every kind of missing value."""
    made = []
    for i in range(17):
        tags = {"lr": str(i % 3)} if i % 5 else ({"lr": None} if i % 2 else {})
        props = {"seed": str(i % 4)} if i % 3 else {}
        run = services.run_create(
            experiment=experiment, submitted_by="bob", tags=tags, properties=props
        )
        if i % 6 == 1:
            log_metric(run, "loss", float("nan"))
        elif i % 6 != 0:
            log_metric(run, "loss", float(i % 4))
        made.append(run)
    run = services.run_create(experiment=experiment, submitted_by="bob")
    services.metric_log_batch(
        run=run,
        batch_id=services.new_batch_id(),
        series=[{"name": "loss", "steps": [0], "values": ["high"], "times": [time.time()]}],
    )
    return [*made, run]


def _pages_without_total(sort_key: str, size: int, load) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        page = listing.page(
            Run.objects.all(),
            parse_sort(sort_key),
            after=cursor,
            size=size,
            with_total=False,
            load=load,
        )
        pages.append([r.pk for r in page.runs])
        if not page.next_cursor:
            return pages
        cursor = page.next_cursor


@pytest.mark.parametrize("load", [listing.models, schema.run_rows], ids=["models", "rows"])
@pytest.mark.parametrize(
    "sort_key",
    [
        "metric:last:loss",
        "-metric:last:loss",
        "metric:max:loss",
        "tag:lr",
        "-tag:lr",
        "prop:seed",
        "-prop:seed",
        "-created",
    ],
)
def test_pages_without_a_total_read_the_valued_runs_then_the_others_in_the_same_order(
    mixed, sort_key, load
):
    """The API's and the SDK's pages (no total) read the runs that have the sort
    value, then those without: the same runs in the same order as the studio's list,
    whatever the page size, across the boundary between the two."""
    whole = [r.pk for r in listing.page(Run.objects.all(), parse_sort(sort_key), size=100).runs]
    assert sorted(whole) == sorted(r.pk for r in mixed)
    for size in (1, 2, 3, 7, 100):
        pages = _pages_without_total(sort_key, size, load)
        assert [pk for page in pages for pk in page] == whole, size
        assert all(len(page) == size for page in pages[:-1])


def test_rows_say_what_run_to_dict_says(mixed):
    """``schema.run_rows`` reads a page straight from the database: the same
    dictionaries as ``run_to_dict`` on each run, children and their parent included."""
    import datetime as dt

    parent = mixed[0]
    services.run_create_children(parent=parent, submitted_by="bob", count=2)
    # Times as PostgreSQL writes them (``_IsoText``): a whole second, a fraction with
    # trailing zeros, one microsecond, none.
    utc = dt.UTC
    Run.objects.filter(pk=mixed[1].pk).update(
        started_at=dt.datetime(2026, 12, 1, 6, 35, 30, tzinfo=utc),
        ended_at=dt.datetime(2026, 12, 1, 6, 35, 30, 100_000, tzinfo=utc),
        heartbeat_at=dt.datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=utc),
        deleted_at=None,
    )
    runs = Run.objects.order_by("pk")
    rows = schema.run_rows(runs)
    assert [r.data for r in rows] == [schema.run_to_dict(r) for r in runs.with_related()]
    assert [r.pk for r in rows] == [r.pk for r in runs] and rows[-1].data["parent_id"]
    shown = next(r.data for r in rows if r.pk == mixed[1].pk)
    assert (shown["started"], shown["ended"], shown["heartbeat"], shown["deleted"]) == (
        "2026-12-01T06:35:30Z",
        "2026-12-01T06:35:30.100000Z",
        "2026-01-02T03:04:05.000001Z",
        None,
    )
