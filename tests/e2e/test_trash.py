"""Archive and trash in Debian's Chromium: archive from the run page, the run leaves
the list and shows with "Show archived"; delete, find it in the Trash, restore it.
No console errors, no CSP violations."""

import re

import pytest

from studio.tracking import services
from tests.web.listing_helpers import make_run

pytestmark = pytest.mark.e2e


def _names(page) -> list[str]:
    return page.locator("table.runs.list tbody tr a.name").all_inner_texts()


def _confirm(page) -> None:
    """Forms with data-confirm may ask first (a <dialog> of studio.js): say yes."""
    page.wait_for_function(
        "() => !location.pathname.match(/^\\/runs\\/[^/]+\\/$/) || document.querySelector('dialog[open]')"
    )
    dialog = page.locator("dialog[open]")
    if dialog.count():
        dialog.locator(".btn-danger, [type=submit]").first.click()


def test_archive_hides_a_run_and_delete_then_restore_brings_one_back(browser, member, experiment):
    kept = make_run(experiment, "kept")
    shelved = make_run(experiment, "shelved")
    binned = make_run(experiment, "binned")
    for run in (kept, shelved, binned):
        services.run_complete(run=run)
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    assert sorted(_names(page)) == ["binned", "kept", "shelved"]

    browser.goto(f"/runs/{shelved.run_id}/")
    page.click(".run-lifecycle button:has-text('Archive')")
    page.wait_for_selector(".run-lifecycle button:has-text('Unarchive')")
    browser.goto("/runs/")
    assert sorted(_names(page)) == ["binned", "kept"]
    page.click("a.archived-toggle:has-text('Show archived')")
    page.wait_for_url(re.compile(r"q=archived"))
    assert _names(page) == ["shelved"]
    page.click("a.archived-toggle:has-text('Hide archived')")
    page.wait_for_function("() => !location.search.includes('archived')")
    assert sorted(_names(page)) == ["binned", "kept"]

    browser.goto(f"/runs/{binned.run_id}/")
    page.click(".run-lifecycle button:has-text('Delete')")
    _confirm(page)
    page.wait_for_url(re.compile(r"/runs/(\?.*)?$"))
    assert "Moved binned to the trash" in page.inner_text("body")
    assert _names(page) == ["kept"]

    page.click("a.archived-toggle:has-text('Trash')")
    page.wait_for_url(re.compile(r"/trash/$"))
    row = page.locator(f"tr[data-trashed-run='{binned.run_id}']")
    assert "30 days" in row.inner_text()
    row.locator("button:has-text('Restore')").click()
    page.wait_for_url(re.compile(rf"/runs/{binned.run_id}/$"))
    assert "Restored binned" in page.inner_text("body")
    browser.goto("/runs/")
    assert sorted(_names(page)) == ["binned", "kept"]
    assert browser.console_errors == [] and browser.csp_violations() == []
