"""Theme, keyboard and phone in the browser: the theme menu switches at once, is
remembered and redraws the charts; the skip link comes first; j / k / Enter walk the
runs list and never fire while typing; ? lists the shortcuts; the cancel dialog
focuses "Keep it running"; at 390 px the account menu holds Sign out, menus stay on
screen and the runs table scrolls in its own box with its name column in view."""

import re

import pytest

from studio.tracking import services
from tests.web.run_page_helpers import log_series

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def _runs(experiment, n=3):
    runs = []
    for i in range(n):
        run = services.run_create(experiment=experiment, submitted_by="bob", display_name=f"r{i}")
        log_series(run, "loss", [1 / (s + 1) for s in range(5)])
        runs.append(run)
    return runs


def _signed_in(browser, path="/runs/"):
    browser.sign_in("bob", "pw-bob")
    browser.page.wait_for_url(re.compile(r"/runs/$"))
    if path != "/runs/":
        browser.goto(path)
    return browser.page


def _active(page, expression="document.activeElement"):
    return page.evaluate(
        f"(() => {{ const a = {expression}; return a && (a.textContent || '').trim(); }})()"
    )


def test_the_theme_switches_at_once_is_remembered_and_redraws_charts(browser, member, experiment):
    _runs(experiment)
    page = _signed_in(browser)
    page.wait_for_selector(".panels .js-plotly-plot")
    paper = "document.querySelector('.panels .js-plotly-plot')._fullLayout.paper_bgcolor"
    page.emulate_media(color_scheme="light")
    light = page.evaluate(paper)
    page.click("details.user-menu > summary")
    page.click("[data-theme-form] button[value=dark]")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.wait_for_function(f"{paper} !== {light!r}")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 19, 26)"
    # The POST went through: the server draws the next page dark, before any script.
    page.wait_for_timeout(300)
    page.route("**/*.js", lambda route: route.abort())
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 19, 26)"
    page.unroute("**/*.js")
    assert browser.csp_violations() == []


def test_skip_link_comes_first_and_leads_to_the_content(browser, member, experiment):
    page = _signed_in(browser)
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Tab")
    assert _active(page) == "Skip to content"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_j_k_and_enter_walk_the_runs_list(browser, member, experiment):
    runs = _runs(experiment)  # newest first on the list: r2, r1, r0
    page = _signed_in(browser)
    page.locator("body").press("j")
    current = "document.querySelector('tr[aria-current=true]')"
    assert page.evaluate(f"{current}.dataset.runId") == runs[2].run_id
    assert _active(page) == "r2"  # the name link has the focus: visible, and Enter opens it
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")  # stays on the last one
    assert page.evaluate(f"{current}.dataset.runId") == runs[0].run_id
    page.keyboard.press("k")
    assert page.evaluate(f"{current}.dataset.runId") == runs[1].run_id
    assert page.locator("tr[aria-current=true]").count() == 1
    page.keyboard.press("x")
    assert page.locator(f"tr[data-run-id='{runs[1].run_id}'] input[name=run]").is_checked()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/runs/{runs[1].run_id}/$"))
    assert browser.console_errors == []


def test_shortcuts_do_not_fire_while_typing(browser, member, experiment):
    _runs(experiment)
    page = _signed_in(browser)
    page.locator("body").press("/")
    assert page.evaluate("document.activeElement.id") == "search-q"
    page.keyboard.type("jk?/")
    assert page.input_value("#search-q") == "jk?/"
    assert page.locator("tr[aria-current=true]").count() == 0
    assert page.locator("dialog#shortcuts[open]").count() == 0


def test_question_mark_lists_the_shortcuts_and_escape_gives_the_focus_back(
    browser, member, experiment
):
    _runs(experiment)
    page = _signed_in(browser)
    page.focus("#search-q")
    page.focus("a.brand")
    page.keyboard.press("?")
    dialog = page.locator("dialog#shortcuts")
    assert dialog.is_visible()
    assert "Next and previous run" in dialog.inner_text()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('brand')")


def test_the_cancel_dialog_focuses_keep_it_running(browser, member, experiment):
    run = services.run_create(experiment=experiment, submitted_by="bob")
    page = _signed_in(browser, f"/runs/{run.run_id}/")
    page.click("[data-open-dialog=cancel-dialog]")
    assert page.locator("dialog#cancel-dialog").is_visible()
    assert _active(page) == "Keep it running"


def test_at_a_phone_width_menus_stay_on_screen_and_the_table_scrolls_in_its_box(
    browser, member, experiment
):
    _runs(experiment)
    page = browser.page
    page.set_viewport_size(PHONE)
    columns = "name id experiment status created duration submitted_by tags description type"
    _signed_in(browser, "/runs/?" + "&".join(f"col={c}" for c in columns.split()))
    inside = "(el) => { const r = el.getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth; }"
    # The account menu: Sign out is there, on screen, and reached with the keyboard.
    page.focus("details.user-menu > summary")
    page.keyboard.press("Enter")
    sign_out = page.locator("details.user-menu button", has_text="Sign out")
    assert sign_out.is_visible() and sign_out.evaluate(inside)
    page.keyboard.press("Escape")
    for label in ("Columns", "Group", "Status", "Save view"):
        summary = page.locator("details.dropdown > summary", has_text=label).first
        summary.click()
        menu = summary.locator("xpath=..").locator(":scope > .menu")
        assert menu.evaluate(inside), label
        page.keyboard.press("Escape")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator(".table-wrap")
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")
    box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
    name = page.locator("table.runs.list tbody tr td:has(> .name-cell)").first
    assert name.evaluate(inside)  # sticky: still in view with the table scrolled to its end
    assert browser.console_errors == [] and browser.csp_violations() == []
