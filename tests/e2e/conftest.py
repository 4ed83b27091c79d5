"""Browser fixtures: Debian's Chromium driven by Playwright's sync API against
pytest-django's live server.

Each test gets its own Playwright instance and browser. Playwright's sync API keeps
an asyncio loop alive in this thread, which makes Django refuse ORM calls from it;
the loop is stopped at teardown, before the database fixtures flush, so only the
test body needs DJANGO_ALLOW_ASYNC_UNSAFE.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# How long a page or an element may take. Generous on purpose: the tests assert what
# a page does, not how fast, and in the full suite on a loaded two-core machine a
# chart page once took over 10 s to fire "load" (plotly.js alone is ~0.3 s of script
# on an idle one). A failing test waits this long; a passing one never does.
WAIT_MS = 30_000

# Records CSP violations in the page; init scripts are injected by the browser,
# not by the page, so CSP does not block this one.
_WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@dataclass
class Browser:
    """A page plus what went wrong in it: console errors and dialogs (alert() etc.)."""

    page: object
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations || []")

    def sign_in(self, username: str, password: str) -> None:
        self.goto("/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("button[type=submit]")

    def sign_out(self) -> None:
        """Through the account menu in the top bar."""
        self.page.click("details.user-menu > summary")
        self.page.click("details.user-menu button:has-text('Sign out')")


@pytest.fixture
def browser(live_server, transactional_db, monkeypatch):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(_WATCH_CSP)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        watched = Browser(page=page, base_url=live_server.url)
        page.on(
            "console",
            lambda msg: watched.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: watched.console_errors.append(str(exc)))

        def on_dialog(dialog):
            watched.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        yield watched
        chromium.close()
        from studio.tracking.live import HUB

        HUB.close_all()  # the pages' event streams end with the test (and its database)
        # While Playwright's loop runs, Django keeps this thread's connections apart
        # (asgiref's Local is per context then): the test body's connection is not the
        # one the database teardown closes. Closed here, or the last one is still open
        # when the test database is dropped ("being accessed by other users").
        from django.db import connections

        connections.close_all()
