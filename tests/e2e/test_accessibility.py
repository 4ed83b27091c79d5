"""axe-core (bundled by axe-playwright-python, offline) on every page and its main
states, at desktop (1440 px) and phone (390 px) width, in the light and the dark
theme: any serious or critical violation fails, naming its rule and elements. At
the phone's width no page scrolls sideways either.

One browser and one set of data serve every page. To cover a new page, add a
``Page`` to PAGES: a path (formatted with the ids of ``_build``'s data) and, if the
state needs it, a step that clicks or opens something once the page has loaded.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

WIDTHS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")
BLOCKING = {"serious", "critical"}
# STUDIO_E2E_SHOTS=<folder>: keep a screenshot of each case there (to look at them).
SHOTS = os.environ.get("STUDIO_E2E_SHOTS")
# STUDIO_A11Y_PAGES=runs,compare: check only these pages (while fixing one).
ONLY = set(filter(None, os.environ.get("STUDIO_A11Y_PAGES", "").split(",")))


@dataclass(frozen=True)
class Page:
    name: str
    path: str  # formatted with the ids of Data (run, parent, pipeline, view, ...)
    then: Callable | None = None  # a step on the loaded page (open a menu, a tab ...)
    signed_in: bool = True
    wait_for: str | None = None  # a selector that shows the state is drawn


def _click(selector: str) -> Callable:
    def step(page):
        page.click(selector)

    return step


def _open_menu(summary_text: str) -> Callable:
    def step(page):
        page.locator("details.dropdown > summary", has_text=summary_text).first.click()

    return step


def _press(key: str) -> Callable:
    def step(page):
        page.locator("body").press(key)

    return step


def _confirm_bulk_cancel(page):
    page.locator("table.runs.list tbody input[type=checkbox]").first.check()
    page.click("button[value=cancel]")


PAGES = [
    Page("sign-in", "/accounts/login/", signed_in=False),
    Page("runs", "/runs/", wait_for="table.runs.list"),
    Page("runs-columns-menu", "/runs/", _open_menu("Columns")),
    Page("runs-grouped", "/runs/?group=tag:lr"),
    # A metric filter sorted by that metric: the rows read from the counted ids.
    Page(
        "runs-filtered-sorted",
        "/runs/?q=metrics.loss+%3C+10&sort=metric:last:loss&col=name&col=metric:last:loss",
        wait_for="table.runs.list",
    ),
    Page("runs-shortcuts", "/runs/", _press("?"), wait_for="dialog#shortcuts[open]"),
    Page("runs-account-menu", "/runs/", _click("details.user-menu > summary")),
    Page("run-overview", "/runs/{run}/"),
    Page("run-description-edit", "/runs/{run}/?edit=description#description"),
    Page("run-metrics", "/runs/{run}/?tab=metrics", wait_for=".js-plotly-plot"),
    Page("run-children", "/runs/{parent}/?tab=children"),
    Page("run-outputs", "/runs/{run}/?tab=outputs"),
    Page("run-log", "/runs/{run}/?tab=outputs&file=logs/std_log.txt"),
    Page("run-snapshot", "/runs/{run}/?tab=snapshot"),
    Page("run-cancel-dialog", "/runs/{running}/?confirm=cancel"),
    Page("pipeline", "/runs/{pipeline}/"),
    Page("compare", "/compare/?runs={run},{other}", wait_for=".js-plotly-plot"),
    Page("experiments", "/experiments/"),
    Page("experiment", "/experiments/{experiment}/"),
    Page("models", "/models/"),
    Page("model", "/models/mnist/"),
    Page("model-version", "/models/mnist/1/"),
    Page("compute", "/compute/"),
    Page("environments", "/environments/"),
    Page("views", "/views/"),
    Page("view", "/views/{view}/"),
    Page("members", "/settings/members/"),
    Page("tokens", "/settings/tokens/"),
    Page("audit", "/settings/audit/"),
    Page("workspace", "/settings/workspace/"),
    Page("users", "/settings/users/"),
    Page("profile", "/accounts/profile/"),
    Page("password", "/accounts/password/"),
    Page("error-404", "/runs/no-such-run/"),
    Page("runs-archived", "/runs/?q=archived"),
    Page("runs-confirm-cancel", "/runs/", _confirm_bulk_cancel, wait_for="dialog[open]"),
    Page("run-description-embeds", "/runs/{other}/", wait_for=".md-chart.drawn"),
    Page("run-description-history", "/runs/{run}/description/history/"),
    Page("run-log-viewer", "/runs/{run}/?tab=outputs&log=logs/std_log.txt"),
    Page("run-log-search", "/runs/{run}/?tab=outputs&log=logs/std_log.txt&q=ERROR"),
    Page("trash", "/trash/"),
]


@dataclass
class Data:
    run: str
    other: str
    parent: str
    running: str
    pipeline: str
    experiment: str
    view: int


def _build() -> Data:
    """A workspace with what every page shows: runs with metrics, tags, a
    description, outputs and a log; a parent with children; a running script; a
    pipeline with steps; a model, an environment, a compute target, a saved view, a
    token, audit entries."""
    from studio.accounts.models import Role
    from studio.accounts.services import token_create
    from studio.execution import services as execution
    from studio.registry import services as registry
    from studio.sdk.environment import CondaDependencies, Environment
    from studio.tracking import saved_views, services
    from tests.factories import ExperimentFactory, MembershipFactory, WorkspaceFactory
    from tests.web.run_page_helpers import log_series

    workspace = WorkspaceFactory(name="default")
    alice = MembershipFactory(user__username="alice", workspace=workspace, role=Role.OWNER).user
    alice.is_superuser = True
    alice.save(update_fields=["is_superuser"])
    MembershipFactory(user__username="bob", workspace=workspace, role=Role.READER)
    token_create(user=alice, name="laptop")
    experiment = ExperimentFactory(workspace=workspace, name="explore-runs")

    runs = []
    for i, lr in enumerate(("0.1", "0.01", "0.001")):
        run = services.run_create(
            experiment=experiment,
            submitted_by="alice",
            display_name=f"train lr={lr}",
            tags={"lr": lr, "seed": str(i)},
            properties={"optimizer": "adam", "batch": "64"},
        )
        log_series(run, "loss", [1 / (s + 1 + i) for s in range(50)])
        log_series(run, "accuracy", [s / (50 + i) for s in range(50)])
        services.run_live_log_append(
            run=run, offset=0, data=b"epoch 1\nWARNING slow\n" + b"x" * 400 + b"\nERROR diverged\n"
        )
        services.run_file_upload(run=run, name="outputs/model.pkl", content=io.BytesIO(b"weights"))
        services.run_file_upload(
            run=run, name="outputs/table.csv", content=io.BytesIO(b"a,b\n1,2\n" * 20)
        )
        runs.append(run)
    services.run_update(
        run=runs[0],
        description="## Result\n\n| lr | loss |\n|---|---|\n| 0.1 | 0.02 |\n\n```\n"
        + "a long line of code " * 20
        + "\n```\n",
    )
    for run in runs[:2]:
        services.run_complete(run=run)
    registry.model_register(
        workspace=workspace, name="mnist", created_by="alice", run=runs[0], path="outputs/model.pkl"
    )

    parent = services.run_create(experiment=experiment, submitted_by="alice", display_name="sweep")
    for i in range(3):
        child = services.run_create(
            experiment=experiment, submitted_by="alice", parent=parent, display_name=f"trial {i}"
        )
        log_series(child, "loss", [1 / (s + 2) for s in range(10)])
    running = execution.run_submit(
        experiment=experiment, submitted_by="alice", script="train.py", display_name="submitted"
    )
    pipeline = execution.run_submit(
        experiment=experiment, submitted_by="alice", script="", type="pipeline"
    )
    for name, after in (("prepare", []), ("train", ["prepare"])):
        execution.run_submit(
            experiment=experiment, submitted_by="alice", script="s.py", parent=pipeline,
            type="step", display_name=name, step_name=name, after=after,
        )  # fmt: skip
    env = Environment("train-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["numpy==2.0"])
    execution.environment_register(
        workspace=workspace, definition=env._serialize_to_dict(), created_by="alice"
    )
    execution.compute_target_get_or_create(
        workspace=workspace,
        name="hpc",
        kind="slurm",
        slurm_settings={"partition": "debug", "time_limit": "02:00:00"},
    )
    services.run_update(run=runs[0], description=runs[0].description + "\nSecond thoughts.\n")
    services.run_update(
        run=runs[1],
        description=f"Beats run:{runs[2].run_id}.\n\n- [x] baseline\n- [ ] ~~more data~~\n\n"
        "```python\ndef f(x):\n    return x + 1\n```\n\n```chart metric=loss runs=this\n```\n",
    )
    trashed = services.run_create(experiment=experiment, submitted_by="alice", display_name="old")
    services.run_complete(run=trashed)
    services.run_delete(runs=[trashed])
    archived = services.run_create(
        experiment=experiment, submitted_by="alice", display_name="shelved"
    )
    services.run_complete(run=archived)
    services.run_archive(runs=[archived])
    view = saved_views.view_create(
        workspace=workspace, owner=alice, name="best runs", state={"sort": "-created"}, shared=True
    )
    return Data(
        run=runs[0].run_id,
        other=runs[1].run_id,
        parent=parent.run_id,
        running=running.run_id,
        pipeline=pipeline.run_id,
        experiment=experiment.name,
        view=view.pk,
    )


def _violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        why = violation["nodes"][0].get("failureSummary", "").splitlines()[-1:]  # the first
        found.append(f"{violation['id']} ({violation['impact']}): {targets[:8]} {why}")
    return found


# The boxes studio.js makes focusable when they scroll (markScrollables).
_UNMARKED = """() => ![...document.querySelectorAll(
    "main pre, main table, .table-scroll, .compare-scroll, .tree-wrap")].some((box) =>
    !box.hasAttribute("tabindex") &&
    (box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1))"""


def _scrollables_marked(page) -> None:
    """Wait (up to 5 s) for studio.js to mark the boxes a new width made scroll: it
    does so 30 ms after the resize, later on a busy machine than the 100 ms above.
    A box still unmarked then is left for axe to name (scrollable-region-focusable)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(_UNMARKED, timeout=5000)
    except PlaywrightTimeout:
        pass


def _check(page, url: str, case: Page) -> list[str]:
    """What is wrong with one page in one state, at each width and in each scheme
    (the page is loaded once: widths and schemes change in place, as a user's would)."""
    page.set_viewport_size(WIDTHS["desktop"])
    page.emulate_media(color_scheme="light")
    page.goto(url)
    if case.then:
        case.then(page)
    if case.wait_for:
        page.wait_for_selector(case.wait_for, state="attached")
    problems = []
    for width in WIDTHS:
        for scheme in SCHEMES:
            page.set_viewport_size(WIDTHS[width])
            page.emulate_media(color_scheme=scheme)
            page.wait_for_timeout(100)  # layout, charts redrawn in the scheme's colours
            _scrollables_marked(page)
            if SHOTS:
                page.screenshot(path=f"{SHOTS}/{case.name}-{width}-{scheme}.png", full_page=True)
            found = _violations(page)
            if width == "phone":
                scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
                if scroll > inner:
                    found.append(f"the page is {scroll} px wide in a {inner} px window")
            problems += [f"{width} {scheme}: {p}" for p in found]
    return problems


def test_every_page_has_no_serious_accessibility_violation(browser):
    """Every page of PAGES, at both widths, light and dark. One test on one set of
    data and one browser (the suite's workers interleave modules, so data kept
    across tests would be emptied by other modules' tests); every failure is listed."""
    data = vars(_build())
    signed = browser.page
    browser.sign_in("alice", "pw-alice")
    signed.wait_for_url(re.compile(r"/runs/$"))
    anonymous = signed.context.browser.new_context().new_page()
    failures = []
    for case in [c for c in PAGES if not ONLY or c.name in ONLY]:
        path = case.path.format(**data)
        page = signed if case.signed_in else anonymous
        problems = _check(page, browser.base_url + path, case)
        failures += [f"{case.name} ({path}) {p}" for p in problems]
    if failures and SHOTS:
        Path(SHOTS, "failures.txt").write_text("\n".join(failures) + "\n")
    assert failures == [], "\n".join(failures)
    # The error page's own 404 is the one resource allowed to fail.
    errors = [e for e in browser.console_errors if "status of 404" not in e]
    assert errors == [] and browser.csp_violations() == []
