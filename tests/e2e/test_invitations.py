"""An owner invites a reader in Debian's Chromium; the reader opens the one-time link
in a fresh browser context, sets a password, sees the workspace's runs and no edit
controls; the spent link is refused with a clear page."""

import re

import pytest

from tests.web.listing_helpers import make_run

pytestmark = pytest.mark.e2e


def _clean(page_holder) -> None:
    assert page_holder.console_errors == []
    assert page_holder.csp_violations() == []
    assert page_holder.dialogs == []


def test_an_owner_invites_a_reader_who_signs_up_and_reads(browser, owner, experiment):
    make_run(experiment, "shared result", loss=0.3)
    browser.sign_in("alice", "pw-alice")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))

    browser.goto("/settings/members/")
    page.select_option("#invite-role", "reader")
    page.fill("#invite-note", "for erin")
    page.click("form[aria-label='Invite someone'] button[type=submit]")
    link = page.locator("#invitation-link").inner_text().strip()
    assert "/accounts/invite/" in link
    assert "for erin" in page.locator("table.invitations-table").inner_text()
    _clean(browser)

    fresh = page.context.browser.new_context()
    try:
        erin = fresh.new_page()
        erin.set_default_timeout(10_000)
        errors = []
        erin.on("pageerror", lambda exc: errors.append(str(exc)))
        erin.goto(link)
        assert "alice invites you to default as Reader" in " ".join(
            erin.locator("main").inner_text().split()
        )
        erin.fill("#id_username", "erin")
        erin.fill("#id_password", "a long enough passphrase")
        erin.click("form.invitation-form button[type=submit]")
        erin.wait_for_url(re.compile(r"/runs/$"))
        assert "shared result" in erin.locator("table.runs tbody").inner_text()
        assert erin.locator(".user").inner_text() == "erin"
        for control in (
            "button[value=cancel]",
            "button[value=tag]",
            "summary:has-text('Save view')",
            "text=Rename",
        ):
            assert erin.locator(control).count() == 0, control
        erin.goto(browser.base_url + "/settings/members/")
        assert erin.locator("text=Invite as").count() == 0
        assert erin.locator("text=Add member").count() == 0

        erin.goto(link)
        assert erin.locator("#invitation-refused").inner_text() == (
            "This invitation was already used."
        )
        assert errors == []
    finally:
        fresh.close()
