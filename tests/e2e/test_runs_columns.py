"""Runs list columns in Debian's Chromium: a metric header sorts the useful way
first (smallest val_loss min first), and a shared view keeps its columns' order,
widths and pins for another member. No console errors, no CSP violations."""

import re

import pytest

from studio.tracking import services
from tests.web.listing_helpers import log_metric, make_run

pytestmark = pytest.mark.e2e


@pytest.fixture
def sweep(experiment):
    runs = []
    for name, lr, losses in [
        ("a", "0.1", (0.9, 0.5, 0.6)),
        ("b", "0.3", (0.8, 0.2, 0.4)),
        ("c", "1.0", (0.7, 0.35, 0.3)),
    ]:
        run = make_run(experiment, name, props={"lr": lr, "seed": "1"})
        log_metric(run, "val_loss", *losses)
        log_metric(run, "accuracy", 1 - losses[-1])
        services.run_complete(run=run)
        runs.append(run)
    return runs


def _names(page) -> list[str]:
    return page.locator("table.runs.list tbody tr a.name").all_inner_texts()


def _heads(page) -> list[str]:
    return page.eval_on_selector_all(
        "table.runs.list thead th[data-col-key]", "ths => ths.map(th => th.dataset.colKey)"
    )


def _clean(browser) -> None:
    assert browser.console_errors == []
    assert browser.csp_violations() == []
    assert browser.dialogs == []


def test_sorting_by_val_loss_min_puts_the_lowest_first(browser, member, sweep):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))

    page.click("summary:has-text('Columns')")
    page.fill("[data-picker-search]", "val_loss")
    row = page.locator(".picker-row[data-picker-item='val_loss']")
    assert row.locator(".picker-count").inner_text() == "3"  # runs that logged it
    assert page.locator(".picker-row[data-picker-item='accuracy']").is_hidden()
    row.locator("input[value='metric:min:val_loss']").check()
    page.click("form[aria-label='Columns'] button[type=submit]")
    page.wait_for_url(re.compile(r"col=metric%3Amin%3Aval_loss"))

    page.click("th[data-col-key='metric:min:val_loss'] a.sort")  # the first click
    page.wait_for_url(re.compile(r"sort=metric%3Amin%3Aval_loss"))
    assert _names(page) == ["b", "c", "a"]  # 0.2, 0.35, 0.5
    header = page.locator("th[data-col-key='metric:min:val_loss']")
    assert header.get_attribute("aria-sort") == "ascending"

    page.click("th[data-col-key='metric:last:accuracy'] a.sort")  # larger is better
    page.wait_for_url(re.compile(r"sort=-metric%3Alast%3Aaccuracy"))
    assert _names(page) == ["c", "b", "a"]
    _clean(browser)


def test_a_shared_view_restores_column_order_widths_and_pins_for_another_member(
    browser, member, reader, sweep
):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/runs/?col=name&col=status&col=prop:lr&col=metric:last:val_loss")
    assert _heads(page) == ["name", "status", "prop:lr", "metric:last:val_loss"]

    # Pin val_loss: it moves first and sticks to the left.
    page.hover("th[data-col-key='metric:last:val_loss']")
    page.click("th[data-col-key='metric:last:val_loss'] a.pin")
    page.wait_for_url(re.compile(r"pin=metric%3Alast%3Aval_loss"))
    assert _heads(page)[0] == "metric:last:val_loss"
    pinned = page.locator("th[data-col-key='metric:last:val_loss']")
    assert pinned.evaluate("th => getComputedStyle(th).position") == "sticky"

    # Widen the lr column by dragging its edge.
    grip = page.locator("th[data-col-key='prop:lr'] .col-resize").bounding_box()
    x, y = grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y, steps=5)
    page.mouse.up()
    page.wait_for_url(re.compile(r"width=\d+%3Aprop%3Alr"))
    width = int(re.search(r"width=(\d+)%3Aprop%3Alr", page.url).group(1))
    assert width > 150

    # Move status before name by dragging its header.
    page.locator("th[data-col-key='status']").drag_to(page.locator("th[data-col-key='name']"))
    page.wait_for_function(
        "() => document.querySelector('table.runs thead th[data-col-key]:nth-child(3)')"
        "?.dataset.colKey === 'status'"
    )
    expected = ["metric:last:val_loss", "status", "name", "prop:lr"]
    assert _heads(page) == expected

    page.click("summary:has-text('Save view')")
    page.fill("#view-name", "sweep layout")
    page.check("input[name=shared]")
    page.click("form[aria-label='Save as a view'] button[type=submit]")
    page.wait_for_url(re.compile(r"/views/\d+/$"))
    link = page.url
    _clean(browser)

    browser.sign_out()
    browser.sign_in("dave", "pw-dave")
    page.wait_for_url(re.compile(r"/runs/$"))
    page.goto(link)
    assert _heads(page) == expected
    assert (
        page.locator("th[data-col-key='metric:last:val_loss']")
        .get_attribute("class")
        .count("pinned")
    )
    lr = page.locator("th[data-col-key='prop:lr']")
    assert lr.get_attribute("data-width") == str(width)
    assert abs(lr.bounding_box()["width"] - width) <= 2
    _clean(browser)


def test_metric_cells_follow_points_pushed_by_the_live_stream(browser, member, sweep):
    a, b, _ = sweep
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto(
        f"/runs/?col=name&col=metric:last:val_loss&col=metric:min:val_loss&baseline={a.run_id}"
    )

    def cell(run, key):
        index = page.locator(f"th[data-col-key='{key}']").evaluate("th => th.cellIndex")
        return page.locator(f"tr[data-run-id='{run.run_id}'] > td").nth(index)

    def shown(td) -> list[str]:
        return td.evaluate("td => [...td.childNodes].map(n => n.textContent)")

    assert shown(cell(b, "metric:last:val_loss")) == ["0.4", "−0.2"]  # baseline: 0.6
    # What live.js dispatches when b logs two more points (one not finite).
    page.evaluate(
        """id => document.dispatchEvent(new CustomEvent("studio:points", {detail: {
            run_id: id, name: "val_loss", steps: [2, 3], values: [0.1, 0.75], times: [1, 2]}}))""",
        b.run_id,
    )
    last = cell(b, "metric:last:val_loss")
    assert shown(last) == ["0.75", "+0.15"]
    assert last.locator(".delta").get_attribute("class") == "delta delta-worse"
    assert shown(cell(b, "metric:min:val_loss"))[0] == "0.1"
    _clean(browser)
