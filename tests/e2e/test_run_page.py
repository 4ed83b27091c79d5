"""The run page in Debian's Chromium: the XSS corpus in a description runs nothing
(A1-A7, checked in the browser), the CSP blocks an injected script (A9), a tag
edited on the page is seen by the SDK, charts are drawn and refined on zoom, the
log viewer follows a running script, and Cancel stops a script and a pipeline with
all their processes."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from studio.tracking import services
from tests.core.test_markdown import CORPUS
from tests.web.run_page_helpers import log_series

pytestmark = pytest.mark.e2e

# Every href and src in the description, resolved by the browser's own URL parser.
DANGEROUS_URLS = """
() => {
  const bad = [];
  for (const el of document.querySelectorAll(".markdown [href], .markdown [src]")) {
    for (const name of ["href", "src"]) {
      const value = el.getAttribute(name);
      if (value === null) continue;
      const url = new URL(value, location.href);
      if (!["http:", "https:", "mailto:"].includes(url.protocol) || url.origin !== location.origin && name === "src") {
        bad.push(name + "=" + value);
      }
    }
  }
  for (const el of document.querySelectorAll(".markdown *")) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith("on") || attr.name === "style") bad.push(el.tagName + " " + attr.name);
    }
    if (["SCRIPT", "IFRAME", "OBJECT", "EMBED", "SVG", "MATH", "FORM", "STYLE", "BASE", "META"]
        .includes(el.tagName.toUpperCase())) bad.push(el.tagName);
  }
  return bad;
}
"""


def _open(browser, member, path: str):
    browser.sign_in("bob", "pw-bob")
    browser.page.wait_for_url(re.compile(r"/runs/$"))
    browser.goto(path)


def test_A1_to_A7_a_description_holding_the_xss_corpus_runs_no_script(browser, member, experiment):
    run = services.run_create(
        experiment=experiment, submitted_by="bob", display_name='"><img src=x onerror=alert(1)>'
    )
    services.run_update(run=run, description="\n\n".join(CORPUS))
    services.run_set_tags(run=run, tags={"</script><script>alert(1)</script>": "x"})
    _open(browser, member, f"/runs/{run.run_id}/")
    page = browser.page
    page.wait_for_selector(".markdown")
    page.wait_for_timeout(500)  # let any handler that survived fire
    assert browser.dialogs == []
    assert page.evaluate(DANGEROUS_URLS) == []
    assert page.evaluate("document.querySelectorAll('script:not([src]):not([type])').length") == 0
    # The same on the edit preview, rendered by the server and inserted by the script.
    page.click("[data-edit-description]")
    page.wait_for_selector("[data-preview]")
    page.fill("#description-text", "*typed*\n\n" + "\n\n".join(CORPUS[:20]))
    page.wait_for_selector("[data-preview] em")
    page.wait_for_timeout(300)
    assert browser.dialogs == []
    assert page.evaluate(DANGEROUS_URLS.replace(".markdown", "[data-preview]")) == []


def test_A9_a_script_that_bypassed_the_sanitizer_is_blocked_by_the_csp(browser, member, run):
    """Simulates a sanitizer bypass: the page's HTML is rewritten on its way to the
    browser to hold an inline script and an event handler, with the server's headers."""
    url = f"/runs/{run.run_id}/"

    def inject(route):
        response = route.fetch()
        body = response.text().replace(
            '<main id="main" tabindex="-1">',
            '<main id="main" tabindex="-1"><script>alert("csp")</script><img src=x onerror="alert(2)">',
        )
        route.fulfill(response=response, body=body)

    browser.sign_in("bob", "pw-bob")
    browser.page.wait_for_url(re.compile(r"/runs/$"))
    browser.page.route(re.compile(re.escape(url) + r"$"), inject)
    browser.goto(url)
    browser.page.wait_for_selector(".run-head")
    browser.page.wait_for_timeout(300)
    assert browser.dialogs == []
    violations = browser.csp_violations()
    assert any(v.startswith("script-src") for v in violations), violations


def test_a_tag_edited_on_the_page_is_seen_by_the_sdk(browser, member, sdk, experiment):
    ws = sdk.Workspace.from_config()
    run = sdk.Experiment(ws, "explore-runs").start_logging()
    run.tag("quality", "good")
    run.tag("obsolete", "x")
    run.flush()
    _open(browser, member, f"/runs/{run.id}/")
    page = browser.page
    # Change a tag from its chip, add a key-only one, remove another.
    page.click('[data-edit-tag][data-key="quality"]')
    page.fill("#tag-value", "fantastic run")
    page.click("[data-tag-form] button[type=submit]")
    page.wait_for_selector('.chip.tag:has-text("fantastic run")')
    page.fill("#tag-key", "worth another look")
    page.click("[data-tag-form] button[type=submit]")
    page.wait_for_selector('.chip.tag:has-text("worth another look")')
    page.click('button[aria-label="Remove tag obsolete"]')
    page.wait_for_selector('.chip.tag:has-text("obsolete")', state="detached")
    assert page.url.endswith(f"/runs/{run.id}/")  # edited in place, no navigation
    again = sdk.Run(sdk.Experiment(ws, "explore-runs"), run.id)
    assert again.get_tags() == {"quality": "fantastic run", "worth another look": None}
    assert browser.console_errors == []
    assert browser.csp_violations() == []


def test_the_display_name_and_description_are_edited_in_place(browser, member, run):
    _open(browser, member, f"/runs/{run.run_id}/")
    page = browser.page
    page.click(".rename summary")
    page.fill("#display-name", "baseline v2")
    page.click(".rename-form button[type=submit]")
    page.wait_for_selector('h1:has-text("baseline v2")')
    page.click("[data-edit-description]")
    page.fill("#description-text", "Loss **halved** with [the other run](/runs/)")
    page.wait_for_selector("[data-preview] strong")
    page.click('button[value="save"]')
    page.wait_for_selector("#description-text", state="detached")  # the saved section is back
    assert page.inner_text('[data-section="description"] .markdown strong') == "halved"
    run.refresh_from_db()
    assert (run.display_name, run.description) == (
        "baseline v2",
        "Loss **halved** with [the other run](/runs/)",
    )
    assert browser.csp_violations() == []


def test_the_metric_chart_is_drawn_and_refined_on_zoom(browser, member, run):
    log_series(run, "loss", [((i * 7919) % 1000) / 1000 for i in range(20_000)])
    log_series(run, "accuracy", [0.5, 0.7, 0.9])
    _open(browser, member, f"/runs/{run.run_id}/?tab=metrics")
    page = browser.page
    page.wait_for_selector('[data-name="loss"] .main-svg .scatterlayer .trace path')
    assert page.locator(".chart .js-plotly-plot").count() == 2
    assert page.locator('[data-name="loss"] .scatterlayer .trace').count() == 3  # band + line
    # Drag across the plot: the chart asks the server for the zoomed steps.
    box = page.locator('[data-name="loss"] .nsewdrag').bounding_box()
    with page.expect_response(lambda r: "/chart/" in r.url and "lo=" in r.url) as zoomed:
        page.mouse.move(box["x"] + box["width"] * 0.40, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.42, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
    figure = zoomed.value.json()
    assert figure["reduced"] is False  # few enough points in the window to draw them all
    assert browser.console_errors == []
    assert browser.csp_violations() == []


# --- real processes -----------------------------------------------------------------------

WAIT_THEN_PRINT = """
    import sys, time
    from pathlib import Path
    print("started", flush=True)
    while not Path(sys.argv[1]).exists():
        time.sleep(0.05)
    print("a line printed after the page opened", flush=True)
    while True:
        time.sleep(0.2)
"""

SPAWNS_CHILDREN = """
    import subprocess, time
    children = [subprocess.Popen(["sleep", "1000"]) for _ in range(2)]
    print("running with", len(children), "children", flush=True)
    while True:
        time.sleep(0.2)
"""


def _source(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text))
    return folder


def _log_has(run, text: bytes) -> bool:
    try:
        data, _ = run._store.read_file(run.id, "logs/std_log.txt")
    except Exception:
        return False
    return text in data


@pytest.mark.slow
def test_a_line_printed_by_a_running_script_appears_in_the_log_viewer(
    browser, member, jobs, tmp_path
):
    from tests.jobs import wait_for_status, wait_terminal, wait_until

    flag = tmp_path / "go"
    source = _source(tmp_path, "train.py", WAIT_THEN_PRINT)
    exp = jobs.Experiment(jobs.Workspace.from_config(), "explore-runs")
    run = exp.submit(
        jobs.ScriptRunConfig(source_directory=str(source), script="train.py", arguments=[str(flag)])
    )
    wait_for_status(run, "Running")
    wait_until(lambda: _log_has(run, b"started"))
    _open(browser, member, f"/runs/{run.id}/?tab=outputs")
    page = browser.page
    page.wait_for_selector('[data-log-text]:has-text("started")')
    assert "a line printed after" not in page.inner_text("[data-log-text]")
    flag.touch()
    page.wait_for_selector(
        '[data-log-text]:has-text("a line printed after the page opened")', timeout=15_000
    )
    assert page.url.endswith("?tab=outputs")  # no reload: the viewer fetched the new bytes
    run.cancel()
    wait_terminal(run)
    assert browser.csp_violations() == []


@pytest.mark.slow
def test_the_cancel_button_stops_a_running_script_and_its_processes(
    browser, member, jobs, tmp_path, monkeypatch
):
    from tests.jobs import execution, group_members, wait_for_status, wait_until

    monkeypatch.setenv("STUDIO_CANCEL_GRACE_SECONDS", "3")
    source = _source(tmp_path, "train.py", SPAWNS_CHILDREN)
    exp = jobs.Experiment(jobs.Workspace.from_config(), "explore-runs")
    run = exp.submit(jobs.ScriptRunConfig(source_directory=str(source), script="train.py"))
    wait_for_status(run, "Running")
    wait_until(lambda: _log_has(run, b"running with 2 children"))
    pgid = execution(run.id).pgid
    assert len(group_members(pgid)) == 3
    _open(browser, member, f"/runs/{run.id}/")
    page = browser.page
    page.click("text=Cancel run")
    page.wait_for_selector("dialog#cancel-dialog[open]")
    page.click("[data-confirm-cancel]")
    page.wait_for_selector(".run-status .status-canceled", timeout=30_000)  # the page polls
    assert run.get_status() == "Canceled"
    wait_until(lambda: group_members(pgid) == [], timeout=10)
    # The header lost its button; the closed dialog's own button is no longer shown.
    assert page.locator('[data-section="status"] >> text=Cancel run').count() == 0
    assert not page.is_visible("dialog#cancel-dialog")


PIPELINE_STEP = """
    import sys, time
    print("step", sys.argv[1], flush=True)
    if sys.argv[1] == "train":
        while True:
            time.sleep(0.2)
"""


@pytest.mark.slow
def test_the_cancel_button_stops_a_running_pipeline_and_its_unfinished_steps(
    browser, member, jobs, tmp_path, monkeypatch
):
    from tests.jobs import execution, group_members, wait_for_status, wait_terminal, wait_until

    monkeypatch.setenv("STUDIO_CANCEL_GRACE_SECONDS", "3")
    source = str(_source(tmp_path, "step.py", PIPELINE_STEP))
    ws = jobs.Workspace.from_config()
    steps = [
        jobs.ScriptStep("prepare", "step.py", source, arguments=["prepare"]),
        jobs.ScriptStep("train", "step.py", source, arguments=["train"], after=["prepare"]),
        jobs.ScriptStep("evaluate", "step.py", source, arguments=["evaluate"], after=["train"]),
    ]
    pipeline = jobs.Experiment(ws, "pipelines").submit(jobs.Pipeline(ws, steps=steps))
    by_name = {}

    def train_running():
        for child in pipeline.get_children():
            by_name[child.display_name] = child
        return "train" in by_name and by_name["train"].get_status() == "Running"

    wait_until(train_running, timeout=60)
    wait_until(lambda: _log_has(by_name["train"], b"step train"))
    train_pgid = execution(by_name["train"].id).pgid
    driver_pid = execution(pipeline.id).supervisor_pid
    _open(browser, member, f"/runs/{pipeline.id}/")
    page = browser.page
    page.wait_for_selector('[data-section="steps"] .status-running')
    page.click("text=Cancel run")
    page.wait_for_selector("dialog#cancel-dialog[open]")
    assert "every step that has not finished" in page.inner_text("dialog#cancel-dialog")
    page.click("[data-confirm-cancel]")
    page.wait_for_selector(".run-status .status-canceled", timeout=40_000)
    assert wait_terminal(pipeline) == "Canceled"
    statuses = {name: wait_terminal(child) for name, child in by_name.items()}
    assert statuses == {"prepare": "Completed", "train": "Canceled", "evaluate": "Canceled"}
    wait_until(lambda: group_members(train_pgid) == [], timeout=10)
    import psutil

    wait_until(
        lambda: (
            not psutil.pid_exists(driver_pid)
            or psutil.Process(driver_pid).status() == psutil.STATUS_ZOMBIE
        ),
        timeout=10,
    )
    page.wait_for_selector('[data-section="steps"] .status-canceled')
    assert wait_for_status(by_name["evaluate"], "Canceled")
