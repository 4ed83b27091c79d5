"""Settings → Members at a phone's width (390 px), light and dark: the owner's forms,
a fresh invitation link, the pending invitations and the members table all fit, so
the page never scrolls sideways; and the workspace switcher, "New workspace"
included, is reached and used with the keyboard alone."""

import os
import re

import pytest

from studio.accounts.invitations import invitation_create
from studio.accounts.models import Membership, Role

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
# STUDIO_E2E_SHOTS=<folder>: keep a full-page screenshot of each case there.
SHOTS = os.environ.get("STUDIO_E2E_SHOTS")


def _widths(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_members_page_fits_a_phone(browser, owner, member, reader, workspace, scheme):
    owner_of_long = "a-teammate-with-a-rather-long-username-indeed"
    from django.contrib.auth.models import User

    Membership.objects.create(
        user=User.objects.create_user(owner_of_long, password="x"),
        workspace=workspace,
        role=Role.CONTRIBUTOR,
    )
    invitation_create(
        workspace=workspace, role="reader", created_by=owner, note="for the new intern, Monday"
    )
    page = browser.page
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme=scheme)
    browser.sign_in("alice", "pw-alice")
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/settings/members/")
    page.fill("#invite-note", "for erin")
    page.click("form[aria-label='Invite someone'] button[type=submit]")
    assert "/accounts/invite/" in page.locator("#invitation-link").inner_text()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/members-390-{scheme}.png", full_page=True)
    scroll, viewport = _widths(page)
    assert viewport == 390
    assert scroll <= viewport, f"the page is {scroll} px wide in a {viewport} px viewport"
    # Every form control is inside the viewport, not only the document.
    overflowing = page.evaluate(
        """[...document.querySelectorAll('main input, main select, main button, main pre')]
             .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
             .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert overflowing == []
    assert browser.console_errors == [] and browser.csp_violations() == []


def test_the_switcher_and_new_workspace_work_with_the_keyboard(browser, owner, other_workspace):
    Membership.objects.create(user=owner, workspace=other_workspace, role=Role.READER)
    page = browser.page
    browser.sign_in("alice", "pw-alice")
    page.wait_for_url(re.compile(r"/runs/$"))
    switcher = page.locator("details.ws-switch")
    assert switcher.locator(".ws-name").inner_text() == "default"
    # From the brand link, the next stop is the switcher; Enter opens it.
    page.focus("a.brand")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('details.ws-switch') !== null")
    page.keyboard.press("Enter")
    assert switcher.get_attribute("open") is not None
    names = switcher.locator(".ws-menu a").all_inner_texts()
    assert names == ["default", "other-team", "New workspace"]
    # Escape closes it and gives the focus back; Enter opens it again.
    page.keyboard.press("Escape")
    assert switcher.get_attribute("open") is None
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "other-team"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/runs/\?ws=other-team$"))
    assert page.locator("details.ws-switch .ws-name").inner_text() == "other-team"
    page.focus("details.ws-switch summary")
    page.keyboard.press("Enter")
    for _ in range(3):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "New workspace"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/settings/workspaces/new/$"))
    page.keyboard.press("Tab")  # the name field comes first on the page's form
    page.fill("#id_name, input[name=name]", "keyboard-team")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/runs/\?ws=keyboard-team$"))
    assert page.locator("details.ws-switch .ws-name").inner_text() == "keyboard-team"
    assert browser.console_errors == [] and browser.csp_violations() == []
