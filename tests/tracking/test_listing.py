"""Keyset pages of a runs list: every run exactly once, in order, forwards and back,
with missing sort values last in both directions."""

import pytest

from studio.rules.runquery import parse_sort
from studio.tracking import services
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
