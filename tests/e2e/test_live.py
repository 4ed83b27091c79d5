"""Live pages in Debian's Chromium: what a running script logs (from another thread,
as the SDK does from its process) appears on the open runs list and run page within
2 s without a reload; a status change and a new run appear too. No polling: the
pages hold one EventSource each."""

import re
import threading
import time

import pytest

from studio.tracking import services
from tests.figures import report
from tests.web.listing_helpers import log_metric, make_run

pytestmark = pytest.mark.e2e

WITHIN_MS = 2_000  # the bound: a logged value is on the open page within 2 s


@pytest.fixture(autouse=True)
def _long_streams(settings):
    settings.STUDIO_LIVE_LIFETIME_SECONDS = 120  # one stream for the whole test


def _log_from_another_thread(run, name: str, step: int, value: float) -> float:
    """Log one point the way a training script does, from another thread (its own
    database connection); returns when it was committed (monotonic)."""
    done = {}

    def script():
        services.metric_log_batch(
            run=run,
            batch_id=services.new_batch_id(),
            series=[{"name": name, "steps": [step], "values": [value], "times": [time.time()]}],
        )
        done["at"] = time.monotonic()
        from django.db import connection

        connection.close()

    thread = threading.Thread(target=script)
    thread.start()
    thread.join()
    return done["at"]


def _until(page, expression: str, expected, within_ms: int = WITHIN_MS):
    """Wait until ``expression`` evaluates to ``expected`` in the page (the page's CSP
    forbids the eval that wait_for_function needs)."""
    deadline = time.monotonic() + within_ms / 1000
    while (value := page.evaluate(expression)) != expected:
        assert time.monotonic() < deadline, f"{expression} is {value!r}, not {expected!r}"
        page.wait_for_timeout(20)


def _following(page) -> None:
    page.wait_for_selector('[data-live-url][data-live-state="open"]', state="attached")


def _cell(run, stat: str) -> str:
    return f'tr[data-run-id="{run.run_id}"] td[data-metric="loss"][data-stat="{stat}"]'


def _clean(browser) -> None:
    assert browser.console_errors == []
    assert browser.csp_violations() == []


def test_a_logged_value_a_status_and_a_new_run_appear_on_the_open_list(browser, member, experiment):
    run = make_run(experiment, "training", loss=0.5)
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/runs/?col=name&col=status&col=metric:last:loss&col=metric:min:loss")
    _following(page)
    cell = page.locator(_cell(run, "last"))
    assert cell.inner_text() == "0.5"
    page.evaluate("window.__notReloaded = true")

    logged = _log_from_another_thread(run, "loss", 2, 0.1234)
    _until(page, f"document.querySelector('{_cell(run, 'last')}').textContent", "0.1234")
    latency = time.monotonic() - logged
    low = page.locator(_cell(run, "min"))
    assert low.inner_text() == "0.1234"

    services.run_complete(run=run)
    status = page.locator(f'tr[data-run-id="{run.run_id}"] td[data-col="status"]')
    status.locator(".status-completed").wait_for(timeout=WITHIN_MS)
    assert status.inner_text() == "Completed"

    make_run(experiment, "another")
    note = page.locator("[data-live-note]")
    note.locator("a").wait_for(timeout=WITHIN_MS)
    assert note.inner_text() == "1 new run — show"
    assert page.evaluate("window.__notReloaded") is True  # all of it without a reload
    _clean(browser)
    report(f"live: a logged value on the open list {latency * 1000:.0f} ms after its commit")


def test_a_logged_value_extends_the_chart_and_the_status_changes_on_the_run_page(
    browser, member, experiment
):
    run = make_run(experiment, "training")
    log_metric(run, "acc", 0.1, 0.2, 0.3)
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto(f"/runs/{run.run_id}/?tab=metrics")
    _following(page)
    plot = '[data-chart][data-name="acc"] .js-plotly-plot'
    page.wait_for_selector(plot)
    length = f"(() => {{ const d = document.querySelector('{plot}').data; return d[d.length - 1].y.length; }})()"
    assert page.evaluate(length) == 3
    page.evaluate("window.__notReloaded = true")

    logged = _log_from_another_thread(run, "acc", 3, 0.45)
    _until(page, length, 4)
    latency = time.monotonic() - logged
    last = f"(() => {{ const d = document.querySelector('{plot}').data; return d[d.length - 1].y.at(-1); }})()"
    assert page.evaluate(last) == 0.45

    services.run_fail(run=run)
    page.wait_for_selector(".run-status .status-failed", timeout=WITHIN_MS)
    assert page.evaluate("window.__notReloaded") is True
    _clean(browser)
    report(f"live: a logged value on the open run page's chart {latency * 1000:.0f} ms after")


def test_the_pages_hold_one_event_stream_and_poll_nothing(browser, member, experiment):
    run = make_run(experiment, "training", loss=0.5)
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/experiments/")  # a page that follows nothing
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    browser.goto("/runs/")
    _following(page)
    page.wait_for_timeout(6_000)  # longer than the old 5 s status poll
    asked = [u for u in requests if "/static/" not in u]
    assert len([u for u in asked if "/live/runs/" in u]) == 1
    # The page, and the chart panels' series once, as the page loads: nothing polled.
    others = [u for u in asked if "/live/" not in u and "/charts/series/" not in u]
    assert others == [page.url]
    assert len([u for u in asked if "/charts/series/" in u]) <= 2  # the first panel, the rest
    assert f"run={run.run_id}" in next(u for u in asked if "/live/runs/" in u)
