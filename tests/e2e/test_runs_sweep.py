"""The runs list grouped and brushed, in Debian's Chromium: grouping by a property
shows the aggregate rows (count, mean ± std) and opens a group's runs in place; a
range brushed on a parallel-coordinates axis, or a box in the scatter, narrows the
table through the filter language. No console errors, no CSP violations."""

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.web.listing_helpers import log_metric, make_run

pytestmark = pytest.mark.e2e

LOSSES = {
    "a": ("0.1", 0.1),
    "b": ("0.1", 0.3),
    "c": ("0.01", 0.2),
    "d": ("0.01", 0.8),
    "e": ("0.001", 0.9),
}


@pytest.fixture
def sweep(experiment):
    for name, (lr, loss) in LOSSES.items():
        log_metric(make_run(experiment, name, props={"lr": lr}), "val_loss", loss)


def _names(page) -> list[str]:
    return page.locator("table.runs.list tbody tr[data-run-id] a.name").all_inner_texts()


def _clean(browser) -> None:
    assert browser.console_errors == []
    assert browser.csp_violations() == []
    assert browser.dialogs == []


def test_grouping_by_a_property_shows_the_aggregate_row(browser, member, sweep):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/runs/?col=name&col=metric:last:val_loss")
    page.click("summary:has-text('Group')")
    page.select_option("#group-by", "prop:lr")
    page.click("form[aria-label='Group by'] button[type=submit]")
    page.wait_for_url(re.compile(r"group=prop%3Alr"))

    rows = page.locator("tr.group-row")
    assert rows.count() == 3
    first = rows.nth(0)  # values as numbers: 0.001, 0.01, 0.1
    assert first.locator(".group-name").inner_text() == "0.001"
    group = page.locator(
        "tr.group-row", has=page.locator(".group-name", has_text=re.compile("^0.1$"))
    )
    assert group.locator(".count").inner_text() == "2 runs"
    assert group.locator(".agg-mean").inner_text() == "0.2"  # mean of 0.1 and 0.3
    assert group.locator(".agg-std").inner_text() == "± 0.1414"  # sample std
    assert group.locator(".agg-range").inner_text() == "0.1 – 0.3"
    assert _names(page) == []  # groups start closed

    group.locator("button.group-toggle").click()
    page.wait_for_selector("tr.in-group[data-run-id]")
    assert sorted(_names(page)) == ["a", "b"]
    assert group.locator("button.group-toggle").get_attribute("aria-expanded") == "true"
    group.locator("button.group-toggle").click()
    assert _names(page) == []
    _clean(browser)


def _point(page, panel: str, x: float, y: float) -> tuple[float, float]:
    """Where data (x, y) of a plot is on the screen."""
    return page.evaluate(
        """([id, x, y]) => {
          const box = document.getElementById(id);
          box.scrollIntoView({block: "center"});  // below the chart panels on a tall page
          const rect = box.querySelector(".nsewdrag").getBoundingClientRect();
          const layout = box._fullLayout;
          return [rect.left + layout.xaxis.l2p(x), rect.top + layout.yaxis.l2p(y)];
        }""",
        [panel, x, y],
    )


def _drag(page, start, end) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()


def test_a_brushed_range_in_parallel_coordinates_narrows_the_table(browser, member, sweep):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/runs/?col=name&col=metric:last:val_loss&axis=prop:lr&axis=metric:last:val_loss")
    page.wait_for_selector("#sweep-parcoords .nsewdrag")
    assert sorted(_names(page)) == list("abcde")

    # Over the val_loss axis (the second, x = 1), its lower 30%: 0.1 to 0.34.
    _drag(
        page, _point(page, "sweep-parcoords", 0.8, -0.02), _point(page, "sweep-parcoords", 1.2, 0.3)
    )
    page.wait_for_url(re.compile(r"q="))
    query = parse_qs(urlparse(page.url).query)["q"][0]
    assert re.fullmatch(r"metrics\.'val_loss' >= [\d.]+ and metrics\.'val_loss' <= [\d.]+", query)
    assert sorted(_names(page)) == ["a", "b", "c"]
    assert page.locator("#search-q").input_value() == query  # a filter like any other

    # Then on the lr axis (x = 0), which now spans the listed runs' 0.01 .. 0.1
    # (linear): its lower 30%, 0.01 only.
    page.wait_for_selector("#sweep-parcoords .nsewdrag")
    _drag(
        page,
        _point(page, "sweep-parcoords", -0.2, -0.02),
        _point(page, "sweep-parcoords", 0.2, 0.3),
    )
    page.wait_for_url(lambda url: "properties" in parse_qs(urlparse(url).query).get("q", [""])[0])
    narrowed = parse_qs(urlparse(page.url).query)["q"][0]
    assert narrowed.startswith(f"({query}) and properties.'lr' >= ")
    assert _names(page) == ["c"]
    _clean(browser)


def test_a_box_in_the_scatter_narrows_the_table(browser, member, sweep):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/runs/?col=name&scatter=prop:lr&scatter=metric:last:val_loss")
    page.wait_for_selector("#sweep-scatter .nsewdrag")
    # lr is on a log axis: plotly's x is log10(lr). A box round lr 0.01 .. 0.1, loss <= 0.5.
    _drag(page, _point(page, "sweep-scatter", -2.2, 0.05), _point(page, "sweep-scatter", -0.9, 0.5))
    page.wait_for_url(re.compile(r"q="))
    assert sorted(_names(page)) == ["a", "b", "c"]
    _clean(browser)
