"""The runs list in Debian's Chromium: filters and the search bar, children opened
in place, live statuses, a shared view opened by another member, a non-member's
404, and a reader without edit controls. No console errors, no CSP violations."""

import re

import pytest

from studio.accounts.models import Membership, Role
from studio.tracking import services
from tests.web.listing_helpers import make_run

pytestmark = pytest.mark.e2e


@pytest.fixture
def listed_runs(experiment):
    a = make_run(experiment, "alpha", loss=0.4, tags={"lr": "0.1"})
    b = make_run(experiment, "beta", loss=0.2, tags={"lr": "0.3"})
    c = make_run(experiment, "gamma", loss=0.1, tags={"lr": "0.1"})
    services.run_complete(run=a)
    services.run_fail(run=b)
    return a, b, c


def _names(page) -> list[str]:
    return page.locator("table.runs.list tbody tr a.name").all_inner_texts()


def _clean(browser) -> None:
    assert browser.console_errors == []
    assert browser.csp_violations() == []
    assert browser.dialogs == []


def test_filter_by_a_tag_then_by_a_search_expression(browser, member, listed_runs):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    assert sorted(_names(page)) == ["alpha", "beta", "gamma"]

    page.click("details.dropdown summary:has-text('Tag')")
    page.fill("#f-tag", "lr=0.1")
    page.press("#f-tag", "Enter")
    page.wait_for_url(re.compile(r"tag=lr%3D0.1"))
    assert sorted(_names(page)) == ["alpha", "gamma"]
    assert page.locator(".filter-chip").inner_text().startswith("tag")

    page.fill("#search-q", "metrics.loss < 0.3")
    page.press("#search-q", "Enter")
    page.wait_for_url(re.compile(r"q=metrics.loss"))
    assert _names(page) == ["gamma"]  # both filters hold

    page.click(".filter-chip:has-text('lr = 0.1') .chip-remove")
    page.wait_for_load_state()
    assert sorted(_names(page)) == ["beta", "gamma"]

    page.fill("#search-q", "status = ")
    page.press("#search-q", "Enter")
    page.wait_for_load_state()
    error = page.locator("#search-error")
    assert "The filter ends too early" in error.inner_text() and "^" in error.inner_text()
    assert page.locator("#search-q").get_attribute("aria-invalid") == "true"
    _clean(browser)


def test_slash_focuses_the_search_bar(browser, member, listed_runs):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search-q"


def test_a_parent_opens_in_place_and_a_running_status_refreshes(browser, member, experiment):
    parent = make_run(experiment, "sweep")
    children = services.run_create_children(
        parent=parent, submitted_by="bob", tag_key="lr", tag_values=["0.1", "0.2", "0.3"]
    )
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    assert page.locator("table.runs.list tbody tr").count() == 1

    page.click("a.expander")
    page.wait_for_selector("tr.child-row")
    assert page.locator("tr.child-row").count() == 3
    assert page.locator("a.expander").get_attribute("aria-expanded") == "true"

    services.run_complete(run=children[1])
    row = page.locator(f'tr[data-run-id="{children[1].run_id}"] td[data-col=status]')
    row.locator(".status-completed").wait_for(timeout=12_000)  # refreshed, no reload
    assert row.inner_text() == "Completed"

    page.click("a.expander")
    assert page.locator("tr.child-row").count() == 0
    _clean(browser)


def test_a_shared_view_opens_for_another_member_with_the_same_runs(
    browser, member, reader, listed_runs
):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/runs/?tag=lr%3D0.1&sort=metric:last:loss&col=name&col=metric:last:loss")
    shown = _names(page)
    assert shown == ["gamma", "alpha"]

    page.click("summary:has-text('Save view')")
    page.fill("#view-name", "lr 0.1 by loss")
    page.check("input[name=shared]")
    page.click("form[aria-label='Save as a view'] button[type=submit]")
    page.wait_for_url(re.compile(r"/views/\d+/$"))
    link = page.url
    assert _names(page) == shown
    assert "lr 0.1 by loss" in page.locator(".sidenav").inner_text()
    _clean(browser)

    browser.sign_out()
    browser.sign_in("dave", "pw-dave")
    page.wait_for_url(re.compile(r"/runs/$"))
    page.goto(link)
    assert _names(page) == shown
    assert page.locator("h1").inner_text() == "lr 0.1 by loss"
    _clean(browser)


def test_a_non_member_gets_404_for_a_shared_view(browser, member, outsider, listed_runs):
    from studio.tracking import saved_views

    view = saved_views.view_create(
        workspace=listed_runs[0].workspace, owner=member, name="team", state={}, shared=True
    )
    browser.sign_in("charlie", "pw-charlie")
    browser.page.wait_for_url(re.compile(r"/runs/$"))
    response = browser.goto(f"/views/{view.pk}/")
    assert response.status == 404
    assert "alpha" not in browser.page.content()


def test_a_reader_sees_no_edit_controls(browser, reader, member, listed_runs):
    from studio.tracking import saved_views

    view = saved_views.view_create(
        workspace=listed_runs[0].workspace, owner=member, name="team", state={}, shared=True
    )
    browser.sign_in("dave", "pw-dave")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    for path in ("/runs/", f"/views/{view.pk}/", "/settings/members/"):
        browser.goto(path)
        for control in (
            "button[value=cancel]",
            "button[value=tag]",
            "summary:has-text('Save view')",
            "text=Delete view",
            "text=Rename",
            "text=Add member",
            "form[action*='/settings/members/'] button",
        ):
            assert page.locator(control).count() == 0, (path, control)
    assert page.locator("text=bob").count() >= 1  # the members list itself is shown
    _clean(browser)


def test_experiment_page_draws_its_chart_without_csp_violations(browser, member, listed_runs):
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/experiments/explore-runs/")
    page.wait_for_selector("[data-figure] .main-svg")
    assert page.locator("[data-figure] .point").count() == 3
    _clean(browser)


def test_member_management_in_the_browser(browser, owner, django_user_model, workspace):
    django_user_model.objects.create_user(username="eve", password="pw-eve")
    browser.sign_in("alice", "pw-alice")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto("/settings/members/")
    page.fill("#member-username", "eve")
    page.select_option("#member-role", "contributor")
    page.click("text=Add member")
    page.wait_for_selector("text=Added eve as contributor.")
    assert (
        Membership.objects.get(user__username="eve", workspace=workspace).role == Role.CONTRIBUTOR
    )
    _clean(browser)


XSS = '"><img src=x onerror=alert(1)></script><script>alert(2)</script>'


def test_markup_in_names_tags_views_and_searches_is_shown_as_text(browser, member, experiment):
    from studio.tracking import saved_views

    run = make_run(experiment, XSS, loss=0.5, tags={XSS[:40]: XSS}, props={"note": XSS})
    services.run_create_children(parent=run, submitted_by="bob", count=1)
    view = saved_views.view_create(
        workspace=experiment.workspace,
        owner=member,
        name=XSS[:90],
        state={"filters": {"tag": [XSS[:40]]}, "columns": ["name", "tags", "prop:note"]},
        shared=True,
    )
    browser.sign_in("bob", "pw-bob")
    page = browser.page
    page.wait_for_url(re.compile(r"/runs/$"))
    for path in (
        f"/views/{view.pk}/",
        "/runs/?col=name&col=tags&col=prop:note&chart=metric:last:loss",
        "/runs/?q=name ~ '\"><img src=x onerror=alert(3)>'",
        "/runs/?q=" + XSS.replace("&", "%26"),
        "/experiments/explore-runs/",
        "/views/",
    ):
        browser.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.locator("main img").count() == 0, path
    browser.goto("/runs/")
    page.click("a.expander")
    page.wait_for_selector("tr.child-row")
    assert XSS in page.locator("table.runs.list").inner_text()
    _clean(browser)
