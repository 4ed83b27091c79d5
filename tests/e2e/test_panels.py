"""The panel grid (static/studio/js/charts.js) in Debian's Chromium: one line per
listed run, the eye toggle, group bands, Compare drawn from JSON, markup in names
drawn as text, live points. No console errors, no CSP violations."""

import re

import pytest

from tests.web.listing_helpers import make_run
from tests.web.run_page_helpers import log_series

pytestmark = pytest.mark.e2e

HOSTILE = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture
def sweep(experiment):
    """Four runs logging loss over 50 steps: lr 0.1 with seeds 1 and 2, lr 0.01 with
    seeds 1 and 2."""
    runs = []
    for lr, seed, base in (
        ("0.1", "1", 1.0),
        ("0.1", "2", 1.2),
        ("0.01", "1", 2.0),
        ("0.01", "2", 2.4),
    ):
        run = make_run(experiment, f"lr {lr} seed {seed}", props={"lr": lr, "seed": seed})
        log_series(run, "loss", [base / (1 + i) for i in range(50)])
        runs.append(run)
    return runs


def _clean(browser) -> None:
    assert browser.console_errors == []
    assert browser.csp_violations() == []
    assert browser.dialogs == []


def _drawn(page, metric: str) -> int:
    return int(page.get_attribute(f"[data-panel='{metric}']", "data-drawn"))


def _lines(page, metric: str) -> int:
    """Line traces plotly drew in a panel (bands are filled paths, lines are not)."""
    return page.evaluate(
        """(metric) => {
          const plot = document.querySelector(`[data-panel="${metric}"] .plot`);
          return plot.data.filter((t) => !t.fill && t.visible !== false).length;
        }""",
        metric,
    )


def test_the_panels_draw_one_line_per_listed_run_and_the_eye_hides_one(browser, member, sweep):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    page.wait_for_selector("[data-panel='loss'][data-drawn]")
    assert _drawn(page, "loss") == 4 and _lines(page, "loss") == 4
    assert page.locator(".legend-item").count() == 4

    first = sweep[0].run_id
    page.click(f"button.eye[data-eye='{first}']")
    page.wait_for_function("document.querySelector(\"[data-panel='loss']\").dataset.drawn === '3'")
    assert _lines(page, "loss") == 3
    assert page.get_attribute(f"button.eye[data-eye='{first}']", "aria-pressed") == "false"
    assert page.locator(".legend-item[aria-pressed=false]").count() == 1

    page.click(f"button.eye[data-eye='{first}']")  # back
    page.wait_for_function("document.querySelector(\"[data-panel='loss']\").dataset.drawn === '4'")
    _clean(browser)


def test_grouping_by_a_property_draws_a_band_per_group(browser, member, sweep):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/runs/?group=prop:lr")
    page.wait_for_selector("[data-panel='loss'][data-drawn]")
    assert _drawn(page, "loss") == 2  # two groups: two mean lines
    bands = page.evaluate(
        "document.querySelector(\"[data-panel='loss'] .plot\").data.filter((t) => t.fill === 'toself').length"
    )
    assert bands == 2
    assert page.locator(".legend-item").all_inner_texts()[0].startswith("0.01 · 2 runs")
    # The band toggles to mean ± std in the browser, and the link keeps it.
    page.select_option("select[data-chart-option=band]", "std")
    page.wait_for_url(re.compile(r"band=std"))
    _clean(browser)


def test_compare_draws_its_panels_from_json(browser, member, sweep):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    fetched = []
    page.on("request", lambda r: fetched.append(r.url) if "/charts/series/" in r.url else None)
    browser.goto("/compare/?runs=" + ",".join(r.run_id for r in sweep))
    page.wait_for_selector("[data-panel='loss'][data-drawn]")
    assert fetched and _lines(page, "loss") == 4
    assert page.locator(".panels-legend .legend-item").count() == 4  # one legend for all
    _clean(browser)


def test_markup_in_names_is_drawn_as_text(browser, member, experiment):
    run = make_run(experiment, HOSTILE)
    log_series(run, HOSTILE, [1.0, 0.5])
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    page.wait_for_selector("[data-panel][data-drawn]")
    assert page.locator(".legend-label").first.inner_text() == HOSTILE
    assert page.locator(".panels img, .panels-grid a[href]").count() == 0
    assert page.evaluate("window.__pwned") is None
    _clean(browser)


def test_a_live_point_extends_its_line(browser, member, sweep):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    page.wait_for_selector("[data-panel='loss'][data-drawn]")
    run_id = sweep[0].run_id
    before = page.evaluate(
        "(id) => document.querySelector(\"[data-panel='loss'] .plot\").data.find((t) => !t.fill && t.meta.run === id).x.length",
        run_id,
    )
    page.evaluate(
        """(id) => document.dispatchEvent(new CustomEvent("studio:points", {detail: {
            run_id: id, name: "loss", steps: [50, 51], values: [0.01, null], times: [0, 0]}}))""",
        run_id,
    )
    page.wait_for_function(
        """([id, n]) => document.querySelector("[data-panel='loss'] .plot").data
              .find((t) => !t.fill && t.meta.run === id).x.length === n + 2""",
        arg=[run_id, before],
    )
    _clean(browser)


def test_panels_and_smoothing_are_kept_in_the_link(browser, member, sweep):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    page.wait_for_selector("[data-panel='loss'][data-drawn]")
    page.select_option("select[data-chart-option=smooth]", "ema:0.9")
    page.wait_for_url(re.compile(r"smooth=ema%3A0.9"))
    page.click("[data-panel='loss'] button[aria-label^='Remove']")
    page.wait_for_function("!document.querySelector(\"[data-panel='loss']\")")
    page.fill("[data-panel-add]", "loss")
    page.click("[data-panel-add-button]")
    page.wait_for_url(re.compile(r"panel=loss"))
    page.wait_for_selector("[data-panel='loss'][data-drawn]")
    saved = page.get_attribute("form input[name=state]", "value")
    assert "panel=loss" in saved and "smooth=ema%3A0.9" in saved
    _clean(browser)


def test_zoom_on_one_panel_zooms_them_all_and_fetches_that_range(browser, member, sweep):
    for run in sweep:
        log_series(run, "acc", [i / 50 for i in range(50)])
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/runs/?panel=loss&panel=acc")
    page.wait_for_selector("[data-panel='acc'][data-drawn]")
    bodies = []
    page.on(
        "request",
        lambda r: bodies.append(r.post_data or "") if "/charts/series/" in r.url else None,
    )
    page.evaluate(
        """() => Plotly.relayout(document.querySelector("[data-panel='loss'] .plot"),
                                 {"xaxis.range": [10, 20]})"""
    )
    page.wait_for_function(
        """() => {
          const r = document.querySelector("[data-panel='acc'] .plot").layout.xaxis.range;
          return r && r[0] === 10 && r[1] === 20;
        }"""
    )
    page.wait_for_timeout(600)
    assert any("range=10%2C20" in body for body in bodies)
    _clean(browser)
