"""Honest states in Chromium: a destructive action asks first (and "No" or Esc
changes nothing), a cancel on the run page refreshes its header and details in place,
and the log viewer numbers and colours lines, marks a searched term and jumps between
matches with n / N."""

from __future__ import annotations

import re

import pytest

from studio.tracking import services
from studio.tracking.models import Run, RunStatus
from tests.web.run_page_helpers import upload

pytestmark = pytest.mark.e2e


def _open(browser, path: str):
    browser.sign_in("bob", "pw-bob")
    browser.page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto(path)


def _status(run) -> str:
    return Run.objects.get(pk=run.pk).status


def test_bulk_cancel_asks_first_and_no_or_escape_change_nothing(browser, member, experiment):
    runs = [
        services.run_create(experiment=experiment, submitted_by="bob", display_name=name)
        for name in ("alpha", "beta")
    ]
    _open(browser, "/runs/")
    page = browser.page
    for run in runs:
        page.check(f'input[form="bulk"][value="{run.run_id}"]')
    page.click("#bulk button[value=cancel]")
    dialog = page.locator("dialog[data-confirm-dialog]")
    dialog.wait_for(state="visible")
    text = dialog.inner_text()
    assert "Cancel the 2 selected runs?" in text and "alpha" in text and "beta" in text
    # The safe choice has the focus: Enter or a stray Space keeps the runs.
    assert page.evaluate("document.activeElement.matches('[data-confirm-answer=no]')")
    page.click("[data-confirm-answer=no]")
    dialog.wait_for(state="hidden")
    assert [_status(run) for run in runs] == [RunStatus.RUNNING] * 2
    assert page.url.endswith("/runs/")
    page.click("#bulk button[value=cancel]")
    dialog.wait_for(state="visible")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert [_status(run) for run in runs] == [RunStatus.RUNNING] * 2
    page.click("#bulk button[value=cancel]")
    page.click("[data-confirm-answer=yes]")
    page.wait_for_selector("text=Cancel requested for 2 runs")
    assert [_status(run) for run in runs] == [RunStatus.CANCELED] * 2
    assert not browser.console_errors and not browser.csp_violations()


def test_a_cancel_on_the_run_page_refreshes_the_header_and_details_in_place(browser, member, run):
    _open(browser, f"/runs/{run.run_id}/")
    page = browser.page
    page.evaluate("window.__samePage = true")
    assert page.inner_text('[data-section="details"]').count("Running") == 1
    page.click("text=Cancel run")
    page.wait_for_selector("dialog#cancel-dialog[open]")
    page.click("[data-confirm-cancel]")
    page.wait_for_selector('[data-section="details"] .status-canceled')
    header = page.inner_text('[data-section="status"]')
    assert re.search(r"Canceled\s+after .+ s · ended just now", header), header
    assert page.evaluate("window.__samePage === true")  # no reload
    assert "—" not in page.inner_text('[data-section="details"] tr:has-text("Ended")')
    assert _status(run) == RunStatus.CANCELED
    assert not browser.console_errors and not browser.csp_violations()


LOG = (
    b"starting\n"
    b"WARNING: lr is high\n"
    b"<script>window.__pwned = 1</script> step 1\n"
    b"Traceback (most recent call last):\n"
    b'  File "train.py", line 3, in <module>\n'
    b"ValueError: loss is nan\n"
    b"step 2 ok\n"
    b"ERROR disk full\n"
    b"done\n"
)


def test_the_log_viewer_numbers_colours_marks_and_jumps(browser, member, run):
    upload(run, "logs/std_log.txt", LOG)
    services.run_complete(run=run)
    _open(browser, f"/runs/{run.run_id}/?tab=outputs")
    page = browser.page
    lines = page.locator("pre.log .ln")
    lines.first.wait_for()
    assert lines.count() == 9
    assert [lines.nth(i).get_attribute("data-n") for i in (0, 8)] == ["1", "9"]
    classes = [lines.nth(i).get_attribute("class") for i in range(9)]
    assert "log-warn" in classes[1] and "log-trace" in classes[3] and "log-trace" in classes[4]
    assert "log-error" in classes[5] and "log-error" in classes[7] and classes[6] == "ln"
    assert lines.nth(2).inner_text().startswith("<script>")  # the log stays text
    assert page.evaluate(
        "window.__pwned === undefined && !document.querySelector('pre.log script')"
    )

    page.fill("#log-q", "error")
    page.press("#log-q", "Enter")
    page.wait_for_selector(".log-results li.match")
    items = page.locator(".log-results li.match")
    assert items.count() == 2
    first = items.nth(0)
    assert first.locator("mark").inner_text() == "Error"
    assert [s.get_attribute("data-n") for s in first.locator(".ctx").all()] == ["4", "5", "7", "8"]
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("n")
    page.wait_for_selector('pre.log .ln.current[data-n="6"]')
    assert items.nth(0).get_attribute("aria-current") is not None
    assert page.locator("pre.log .ln.current mark").inner_text() == "Error"
    page.keyboard.press("n")
    page.wait_for_selector('pre.log .ln.current[data-n="8"]')
    page.keyboard.press("N")
    page.wait_for_selector('pre.log .ln.current[data-n="6"]')
    assert "1 of 2" in page.inner_text("[data-log-position]")

    page.click("[data-log-wrap]")
    assert "nowrap" in page.get_attribute("pre.log", "class")
    page.reload()
    page.locator("pre.log .ln").first.wait_for()
    assert "nowrap" in page.get_attribute("pre.log", "class")  # remembered
    assert page.get_attribute("[data-log-wrap]", "aria-pressed") == "false"
    assert not browser.console_errors and not browser.csp_violations()
