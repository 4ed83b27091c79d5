"""Signing in through the browser and seeing one's runs, with nothing going wrong
in the page: no console errors, no CSP violations, no script from user data."""

import re

import pytest

from studio.tracking import services

pytestmark = pytest.mark.e2e

XSS = '"><img src=x onerror=alert(1)>'


def test_member_signs_in_and_sees_their_runs(browser, member, experiment):
    run = services.run_create(experiment=experiment, submitted_by="bob", display_name="first try")
    services.run_set_tags(run=run, tags={"quality": "great run"})
    services.run_complete(run=run)

    browser.sign_in("bob", "pw-bob")

    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    row = page.locator("table.runs tbody tr")
    assert row.count() == 1
    assert "first try" in row.inner_text()
    assert run.run_id in row.inner_text().replace("\n", "")
    assert page.locator("table.runs .status-completed").inner_text() == "Completed"
    assert page.locator(".sidenav [aria-current=page]").inner_text() == "Runs"
    # The stylesheet loaded (served by WhiteNoise with DEBUG off).
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).position") == "sticky"
    assert browser.console_errors == []
    assert browser.csp_violations() == []


def test_a_tag_value_with_markup_is_shown_as_text_and_never_runs(browser, member, experiment):
    run = services.run_create(experiment=experiment, submitted_by="bob", display_name=XSS)
    services.run_set_tags(run=run, tags={"note": XSS})

    browser.sign_in("bob", "pw-bob")

    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    assert XSS in page.locator("table.runs tbody tr .chip").inner_text()
    assert page.locator("table.runs img").count() == 0
    assert browser.dialogs == []
    assert browser.console_errors == []
    assert browser.csp_violations() == []


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(browser, member):
    browser.sign_in("bob", "not-the-password")

    page = browser.page
    assert page.locator("[role=alert]").inner_text().startswith("Your username and password")
    assert "/accounts/login/" in page.url
    assert browser.csp_violations() == []
