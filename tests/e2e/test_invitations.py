"""Issue 11's story in Debian's Chromium: an owner creates a workspace from the
switcher's "New workspace", invites a reader; the reader opens the one-time link in
a fresh browser context, sets a password, sees the workspace's runs and no edit
controls; the owner promotes them on Settings → Members and, after a reload, the
edit controls are there. An expired, a spent and a revoked link are each refused
with a page that says which."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from studio.accounts.models import Invitation, Membership
from studio.tracking.models import Workspace
from tests.e2e.conftest import WAIT_MS
from tests.web.listing_helpers import make_run

pytestmark = pytest.mark.e2e

# What a contributor may use on the runs list, and a reader must not see.
EDIT_CONTROLS = ("summary:has-text('Save view')", "button[value=tag]")
READ_ONLY_HIDDEN = (*EDIT_CONTROLS, "button[value=cancel]", "text=Rename")


def _clean(holder) -> None:
    assert holder.console_errors == []
    assert holder.csp_violations() == []
    assert holder.dialogs == []


def _words(locator) -> str:
    return " ".join(locator.inner_text().split())


def _invite(browser, note: str) -> str:
    """Make an invitation as a reader on Settings → Members; its link."""
    page = browser.page
    browser.goto("/settings/members/?ws=research")
    page.select_option("#invite-role", "reader")
    page.fill("#invite-note", note)
    page.click("form[aria-label='Invite someone'] button[type=submit]")
    link = page.locator("#invitation-link").inner_text().strip()
    assert "/accounts/invite/" in link
    assert note in page.locator("table.invitations-table").inner_text()
    return link


def _refused(context, link: str) -> tuple[int, str, str]:
    """Open ``link`` in ``context``: the status, the page's heading and its reason."""
    page = context.new_page()
    try:
        response = page.goto(link)
        return (
            response.status,
            page.locator("h1").inner_text(),
            page.locator("#invitation-refused").inner_text(),
        )
    finally:
        page.close()


def test_an_owner_creates_a_workspace_invites_a_reader_and_promotes_them(
    browser, owner, experiment
):
    page = browser.page
    browser.sign_in("alice", "pw-alice")
    page.wait_for_url(re.compile(r"/runs/$"))

    # "New workspace", from the switcher.
    page.click("details.ws-switch summary")
    page.click("details.ws-switch .ws-menu >> text=New workspace")
    page.wait_for_url(re.compile(r"/settings/workspaces/new/$"))
    page.fill("#workspace-name", "research")
    page.click("form[aria-label='Create a workspace'] button[type=submit]")
    page.wait_for_url(re.compile(r"/runs/\?ws=research$"))
    assert "Created 'research'; you are its owner." in page.locator("main").inner_text()
    assert page.locator("details.ws-switch .ws-name").inner_text() == "research"
    research = Workspace.objects.get(name="research")
    assert Membership.objects.get(workspace=research, user=owner).role == "owner"
    make_run(
        experiment.__class__.objects.create(workspace=research, name="baseline"),
        "shared result",
        loss=0.3,
    )
    make_run(experiment, "not for erin", loss=0.9)  # in "default", where erin is not

    link = _invite(browser, "for erin")
    _clean(browser)

    fresh = page.context.browser.new_context()
    try:
        erin = fresh.new_page()
        erin.set_default_timeout(WAIT_MS)
        errors = []
        erin.on("pageerror", lambda exc: errors.append(str(exc)))
        erin.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        erin.goto(link)
        assert "alice invites you to research as Reader" in _words(erin.locator("main"))
        erin.fill("#id_username", "erin")
        erin.fill("#id_password", "a long enough passphrase")
        erin.click("form.invitation-form button[type=submit]")
        erin.wait_for_url(re.compile(r"/runs/$"))
        runs = erin.locator("table.runs tbody").inner_text()
        assert "shared result" in runs and "not for erin" not in runs
        assert erin.locator(".user-menu .user-name").inner_text() == "erin"
        assert erin.locator("details.ws-switch .ws-name").inner_text() == "research"
        for control in READ_ONLY_HIDDEN:
            assert erin.locator(control).count() == 0, control
        erin.goto(browser.base_url + "/settings/members/")
        assert erin.locator("text=Invite as").count() == 0
        assert erin.locator("text=Add member").count() == 0

        # The owner promotes erin to contributor on Settings → Members.
        page.goto(browser.base_url + "/settings/members/?ws=research")
        row = page.locator("table.members-table tbody tr", has_text="erin")
        row.locator("select").select_option("contributor")
        row.locator("button", has_text="Change").click()
        page.wait_for_load_state()
        assert Membership.objects.get(workspace=research, user__username="erin").role == (
            "contributor"
        )
        row = page.locator("table.members-table tbody tr", has_text="erin")
        assert row.locator("select").input_value() == "contributor"

        # Erin's page, reloaded, has the edit controls now.
        erin.goto(browser.base_url + "/runs/")
        erin.reload()
        for control in EDIT_CONTROLS:
            assert erin.locator(control).count() > 0, control

        # A spent link, an expired one and a revoked one: each refused, saying which.
        assert _refused(fresh, link) == (
            410,
            "This link cannot be used",
            "This invitation was already used.",
        )
        expired = _invite(browser, "too late")
        Invitation.objects.filter(note="too late").update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )  # seven days later
        assert _refused(fresh, expired)[0::2] == (410, "This invitation has expired.")
        revoked = _invite(browser, "changed my mind")
        page.locator("table.invitations-table tbody tr", has_text="changed my mind").locator(
            "button", has_text="Revoke"
        ).click()
        page.locator("dialog[open] [data-confirm-answer=yes]").click()  # it asks first
        # The revoke posts and the page comes back without the row: wait for that page,
        # not the load state of the one still showing (it was already loaded).
        page.locator("table.invitations-table tbody tr", has_text="changed my mind").wait_for(
            state="detached"
        )
        assert "changed my mind" not in page.locator("main").inner_text()
        assert _refused(fresh, revoked)[0::2] == (410, "This invitation was revoked.")
        # Signed out too (a fresh context), the pages say the same.
        anonymous = page.context.browser.new_context()
        try:
            assert _refused(anonymous, revoked)[0::2] == (410, "This invitation was revoked.")
            assert _refused(anonymous, link.rsplit("/", 2)[0] + "/not-a-token/")[0::2] == (
                404,
                "This invitation link is not valid.",
            )
        finally:
            anonymous.close()
        assert errors == []
    finally:
        fresh.close()
    _clean(browser)
