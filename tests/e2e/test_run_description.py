"""The description editor and its embeds in Debian's Chromium (issue 15): Ctrl+Enter
saves and Esc cancels, unsaved text is guarded (Cancel asks, leaving the page asks),
a pasted image is uploaded and shown while a pasted SVG is refused, and a chart block
draws the same panel chart as the runs list."""

from __future__ import annotations

import re
import struct
import zlib

import pytest

from studio.tracking import services
from studio.tracking.models import RunFile
from tests.factories import RunFactory
from tests.web.run_page_helpers import log_series

pytestmark = pytest.mark.e2e


def real_png(width: int = 4, height: int = 3) -> bytes:
    """A small PNG a browser decodes (red pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PASTE = """
([bytes, name, type]) => {
  const text = document.querySelector("#description-text");
  text.focus();
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array(bytes)], name, { type }));
  text.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
}
"""


def until(page, script: str, arg=None, tries: int = 100):
    """Poll a function in the page until it returns true (wait_for_function evaluates
    its predicate with eval, which the CSP refuses)."""
    for _ in range(tries):
        if page.evaluate(script, arg):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"never true: {script}")


def _open(browser, path: str):
    browser.sign_in("bob", "pw-bob")
    browser.page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto(path)


def _edit(page):
    page.click("[data-edit-description]")
    page.wait_for_selector("#description-text")
    page.focus("#description-text")


def test_ctrl_enter_saves_and_esc_cancels(browser, member, run):
    _open(browser, f"/runs/{run.run_id}/")
    page = browser.page
    _edit(page)
    page.keyboard.type("Saved with **the keyboard**")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#description-text", state="detached")
    assert page.inner_text('[data-section="description"] .markdown strong') == "the keyboard"
    run.refresh_from_db()
    assert run.description == "Saved with **the keyboard**"
    _edit(page)
    page.keyboard.press("Escape")  # nothing changed: closes without asking
    page.wait_for_selector("#description-text", state="detached")
    assert browser.dialogs == [] and browser.csp_violations() == []


def test_unsaved_text_is_guarded_on_cancel_and_on_leaving(browser, member, run):
    _open(browser, f"/runs/{run.run_id}/")
    page = browser.page
    _edit(page)
    page.keyboard.type("half a thought")
    page.click("[data-cancel-edit]")  # the fixture answers the question "no"
    assert browser.dialogs == ["confirm: Discard your changes to the description?"]
    assert page.input_value("#description-text") == "half a thought"
    page.focus("#description-text")
    page.keyboard.press("Escape")  # asks again, still "no"
    assert len(browser.dialogs) == 2 and page.is_visible("#description-text")
    page.close(run_before_unload=True)
    page.wait_for_timeout(300)
    assert [d for d in browser.dialogs if d.startswith("beforeunload")], browser.dialogs
    run.refresh_from_db()
    assert run.description == ""


def test_a_pasted_image_is_attached_and_a_pasted_svg_is_refused(browser, member, run):
    run = services.run_complete(run=run)  # a finished run takes description images too
    _open(browser, f"/runs/{run.run_id}/")
    page = browser.page
    _edit(page)
    page.evaluate(PASTE, [list(real_png()), "loss plot.png", "image/png"])
    until(
        page,
        "() => /^!\\[loss plot\\]\\(description\\/[0-9a-f]{16}\\.png\\)$/.test(document.querySelector('#description-text').value)",
    )
    until(
        page,
        "() => [...document.querySelectorAll('[data-preview] img')].some((i) => i.naturalWidth === 4)",
    )
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
    )
    page.evaluate(PASTE, [list(svg), "evil.svg", "image/svg+xml"])
    page.wait_for_selector("[data-attach-status].error")
    assert "PNG, JPEG, GIF or WebP" in page.inner_text("[data-attach-status]")
    assert "evil" not in page.input_value("#description-text")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#description-text", state="detached")
    until(
        page,
        "() => [...document.querySelectorAll('.markdown img')].some((i) => i.naturalWidth === 4)",
    )
    assert [f.name.endswith(".png") for f in RunFile.objects.filter(run=run)] == [True]
    assert browser.dialogs == [] and browser.csp_violations() == []


def test_a_chart_block_draws_the_runs_it_names(browser, member, experiment):
    parent = RunFactory(experiment=experiment, display_name="sweep")
    kids = [
        RunFactory(experiment=experiment, parent=parent, display_name=f"lr {i}") for i in range(2)
    ]
    for i, kid in enumerate(kids):
        log_series(kid, "val_loss", [1.0 / (s + 1 + i) for s in range(50)])
    services.run_update(
        run=kids[0],
        description="Both seeds:\n\n```chart metric=val_loss runs=parent.children smoothing=0.6\n```",
    )
    _open(browser, f"/runs/{kids[0].run_id}/")
    page = browser.page
    page.wait_for_selector(".md-chart.drawn [data-panel='val_loss'][data-drawn='2']")
    assert page.locator(".md-chart .legend-item").count() == 2
    assert page.locator(".md-chart .js-plotly-plot .scatterlayer .trace").count() >= 2
    assert browser.console_errors == [] and browser.csp_violations() == []
