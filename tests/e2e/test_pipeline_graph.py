"""The pipeline run page's step graph in Debian's Chromium: drawn, following the
steps' statuses live (no reload), and a box opens its step's page."""

from __future__ import annotations

import re

import pytest

from studio.tracking import services
from tests.web.test_step_graph import DIAMOND, _pipeline

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _long_streams(settings):
    settings.STUDIO_LIVE_LIFETIME_SECONDS = 120  # one stream for the whole test


def _settled(page, quiet_ms: int = 600, within_ms: int = 10_000) -> None:
    """Wait until the steps section has not been replaced (refreshed) for quiet_ms."""
    page.evaluate("window.__steps = document.querySelector('[data-section=\"steps\"]')")
    waited = 0
    while waited < within_ms:
        page.wait_for_timeout(quiet_ms)
        waited += quiet_ms
        same = page.evaluate(
            "(() => { const now = document.querySelector('[data-section=\"steps\"]');"
            " const same = now === window.__steps; window.__steps = now; return same; })()"
        )
        if same:
            return
    raise AssertionError("the steps section kept being refreshed")


def test_the_step_graph_shows_follows_the_steps_and_opens_a_step(browser, member, experiment):
    pipeline, steps = _pipeline(experiment, DIAMOND)
    services.run_transition(run=pipeline, status="Running")
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto(f"/runs/{pipeline.run_id}/")
    page.wait_for_selector('[data-live-url][data-live-state="open"]', state="attached")

    graph = page.locator("svg[data-step-graph]")
    assert graph.is_visible()
    assert page.locator("svg[data-step-graph] a.dag-node").count() == 4
    assert page.locator("svg[data-step-graph] path.dag-edge").count() == 4
    box = graph.bounding_box()
    assert box["width"] > 300 and box["height"] > 80
    node = 'svg[data-step-graph] a.dag-node[data-step="{}"]'
    # the steps' boxes take the status palette's colours (a custom property, not black)
    fill = page.evaluate(
        f"getComputedStyle(document.querySelector('{node.format('prep')} rect')).fill"
    )
    assert fill not in ("", "none", "rgb(0, 0, 0)")
    page.evaluate("window.__notReloaded = true")

    services.run_transition(run=steps["prep"], status="Running")
    page.wait_for_selector(f"{node.format('prep')}.status-running", timeout=5_000)
    services.run_complete(run=steps["prep"])
    page.wait_for_selector(f"{node.format('prep')}.status-completed", timeout=5_000)
    assert page.evaluate("window.__notReloaded") is True
    assert page.text_content(f"{node.format('prep')} .dag-status") == "Completed"

    href = page.get_attribute(node.format("right"), "href")
    assert href == f"/runs/{steps['right'].run_id}/"
    _settled(page)  # a click between the mouse's down and up on a swapped box is no click
    page.click(node.format("right"))
    page.wait_for_url(re.compile(rf"/runs/{steps['right'].run_id}/$"), timeout=20_000)
    assert browser.console_errors == []
    assert browser.csp_violations() == []
