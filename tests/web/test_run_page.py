"""The run page (/runs/<run_id>/): who sees it, what each tab shows, in-place edits of
the name, description and tags, Cancel, and what a page costs in queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from studio.rules.runquery import RunQuery
from studio.tracking import selectors, services
from studio.tracking.models import Run, RunStatus, RunTag
from studio.tracking.runlist import query as runlist
from tests.web.run_page_helpers import PNG, Elements, log_series, upload

TABS = {
    "overview": "Overview",
    "metrics": "Metrics",
    "children": "Child runs",
    "outputs": "Outputs + logs",
    "snapshot": "Snapshot",
}
FRAGMENT = {"HTTP_X_STUDIO_FRAGMENT": "1"}


def page(client, run, **query):
    return client.get(f"/runs/{run.run_id}/", query)


# --- who sees it ---------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, run):
    response = page(client, run)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("tab", TABS)
def test_a_member_sees_every_tab(client, member, run, tab):
    client.force_login(member)
    response = page(client, run, tab=tab)
    assert response.status_code == 200
    assert f'aria-current="page">{TABS[tab]}' in response.content.decode()


def test_an_unknown_tab_shows_the_overview(client, member, run):
    client.force_login(member)
    assert b'aria-current="page">Overview' in page(client, run, tab="nope").content


def test_an_outsider_and_a_missing_run_both_get_404(client, outsider, run):
    client.force_login(outsider)
    assert page(client, run).status_code == 404
    assert client.get("/runs/explore-runs_1_deadbeef/").status_code == 404
    for path in ("chart/?name=loss", "children/", "log/?name=logs/std_log.txt", "files/outputs/x"):
        assert client.get(f"/runs/{run.run_id}/{path}").status_code == 404, path
    for path in ("name/", "description/", "tags/", "cancel/"):
        assert client.post(f"/runs/{run.run_id}/{path}", {"key": "x"}).status_code == 404, path


def test_a_reader_sees_the_page_without_edit_controls_and_cannot_write(client, reader, run):
    client.force_login(reader)
    body = page(client, run).content.decode()
    assert "Rename" not in body and "Set tag" not in body and "Cancel run" not in body
    assert 'href="?edit=description' not in body
    for path, data in (
        ("name/", {"display_name": "mine"}),
        ("description/", {"description": "mine", "base": ""}),
        ("tags/", {"key": "k", "value": "v"}),
        ("cancel/", {}),
    ):
        assert client.post(f"/runs/{run.run_id}/{path}", data).status_code == 403, path
    run.refresh_from_db()
    assert (run.display_name, run.description, run.status) == ("", "", RunStatus.RUNNING)
    assert not RunTag.objects.filter(run=run).exists()


# --- the header and the overview -------------------------------------------------------------


def test_the_header_shows_status_with_its_time_the_id_and_cancel(client, member, run):
    client.force_login(member)
    body = page(client, run).content.decode()
    assert 'class="status status-running">Running' in body
    assert re.search(r"for (&lt; 0\.1|\d\.\d) s", body)
    assert f'data-copy="{run.run_id}"' in body
    assert "Cancel run" in body


def timing(client, run) -> str:
    """The header's words for how long the run ran (or has been in its status)."""
    body = page(client, run, section="status").content.decode()
    found = re.search(r"<span class=\"muted\" data-run-timing[^>]*>(.*?)</span>", body, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


@pytest.mark.parametrize(
    ("lasted", "status", "shown"),
    [
        (timedelta(milliseconds=400), RunStatus.FAILED, "after 0.4 s · ended 3 min ago"),
        (
            timedelta(minutes=3, seconds=50),
            RunStatus.COMPLETED,
            "after 3 min 50 s · ended 3 min ago",
        ),
        (
            timedelta(hours=2, minutes=5, seconds=7),
            RunStatus.CANCELED,
            "after 2 h 5 min · ended 3 min ago",
        ),
    ],
)
def test_an_ended_run_says_how_long_it_lasted_and_when_it_ended(
    client, member, run, lasted, status, shown
):
    ended = timezone.now() - timedelta(minutes=3)
    Run.objects.filter(pk=run.pk).update(
        status=status, started_at=ended - lasted, ended_at=ended, status_changed_at=ended
    )
    client.force_login(member)
    assert timing(client, run) == shown


def test_an_ended_run_that_never_started_says_so(client, member, run):
    ended = timezone.now() - timedelta(hours=5)
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.CANCELED, started_at=None, ended_at=ended, status_changed_at=ended
    )
    client.force_login(member)
    assert timing(client, run) == "never started · ended 5 h ago"


def test_a_running_run_says_for_how_long_it_has_run(client, member, run):
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        started_at=now - timedelta(hours=2, minutes=5, seconds=20),
        status_changed_at=now - timedelta(seconds=5),
        ended_at=None,
    )
    client.force_login(member)
    assert timing(client, run) == "for 2 h 5 min"  # since it started, not since its last status


def test_a_queued_run_says_for_how_long_it_has_waited(client, member, run):
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.QUEUED,
        started_at=None,
        ended_at=None,
        status_changed_at=timezone.now() - timedelta(hours=1, minutes=12, seconds=20),
    )
    client.force_login(member)
    body = page(client, run, section="status").content.decode()
    assert 'status-queued">Queued' in body
    assert timing(client, run) == "for 1 h 12 min"


def test_a_finished_run_has_no_cancel_button(client, member, run):
    services.run_complete(run=run)
    client.force_login(member)
    assert "Cancel run" not in page(client, run).content.decode()


def test_breadcrumbs_lead_through_every_parent(client, member, run, experiment):
    services.run_update(run=run, display_name="grandparent")
    child = services.run_create(
        experiment=experiment, submitted_by="bob", parent=run, display_name="parent"
    )
    leaf = services.run_create(experiment=experiment, submitted_by="bob", parent=child)
    client.force_login(member)
    body = page(client, leaf).content.decode()
    crumbs = body.split('class="crumbs"', 1)[1].split("</nav>", 1)[0]
    assert (
        crumbs.index("grandparent") < crumbs.index(">parent<") < crumbs.index(f"Run {leaf.number}")
    )
    assert 'href="/runs/?ws=default&amp;experiment=explore-runs"' in crumbs


def test_the_overview_shows_description_tags_properties_and_details(client, member, run):
    services.run_update(run=run, description="# Findings\n\nLoss **halved**.")
    services.run_set_tags(run=run, tags={"quality": "great run", "worth another look": None})
    services.run_add_properties(run=run, properties={"author": "azureml-user"})
    client.force_login(member)
    body = page(client, run).content.decode()
    assert '<h1 id="md-findings">Findings</h1>' in body and "<strong>halved</strong>" in body
    assert '<span class="chip-key">quality</span><span class="chip-value">great run</span>' in body
    assert '<span class="chip-key">worth another look</span>\n' in body
    assert '<th scope="row">author</th><td>azureml-user</td>' in body
    assert (
        body.index("Description")
        < body.index("Tags")
        < body.index("Properties")
        < body.index("Details")
    )


def test_a_failed_run_shows_its_error_and_stderr_tail(client, member, run):
    services.run_transition(
        run=run,
        status=RunStatus.FAILED,
        reason="script_failed",
        error={"message": "The script failed (exit code 3).", "code": "script_failed",
               "exit_code": 3, "stderr": "Traceback\nValueError: <bad>"},
    )  # fmt: skip
    client.force_login(member)
    body = page(client, run).content.decode()
    assert "The script failed (exit code 3)." in body
    assert "exit code 3" in body
    assert "ValueError: &lt;bad&gt;" in body
    # The run's error is not a failed edit: no alert in the name or tags sections.
    assert 'role="alert"' not in body and '<details class="rename" open>' not in body


def test_a_lost_run_is_marked_lost(client, member, run):
    services.run_transition(
        run=run,
        status=RunStatus.FAILED,
        reason="lost",
        error={"message": "No heartbeat", "code": "lost"},
    )
    client.force_login(member)
    body = page(client, run).content.decode()
    assert "Failed · lost" in body
    assert "Lost: the process running it is gone" in body


def test_a_pipeline_shows_its_steps_in_order_with_what_they_wait_for(client, member, experiment):
    from studio.execution import services as execution

    pipeline = execution.run_submit(
        experiment=experiment, submitted_by="bob", script="", type="pipeline"
    )
    for name, after in (("prepare", []), ("train", ["prepare"]), ("evaluate", ["train"])):
        execution.run_submit(
            experiment=experiment, submitted_by="bob", script="s.py", parent=pipeline,
            type="step", display_name=name, step_name=name, after=after,
        )  # fmt: skip
    client.force_login(member)
    body = page(client, pipeline).content.decode()
    steps = body.split('data-section="steps"', 1)[1].split("</section>", 1)[0]
    assert steps.index("prepare") < steps.index("train") < steps.index("evaluate")
    assert '<span class="chip">prepare</span>' in steps
    table = steps.split("<table", 1)[1]  # below the graph (tests/web/test_step_graph.py)
    assert table.count("status-notstarted") == 3


def test_the_overview_costs_a_bounded_number_of_queries(
    client, member, run, django_assert_max_num_queries
):
    services.run_set_tags(run=run, tags={f"t{i}": str(i) for i in range(50)})
    services.run_add_properties(run=run, properties={f"p{i}": str(i) for i in range(50)})
    client.force_login(member)
    page(client, run)  # session, caches
    with django_assert_max_num_queries(14):
        assert page(client, run).status_code == 200


# --- editing in place ------------------------------------------------------------------------


def test_renaming_changes_the_display_name(client, member, run):
    client.force_login(member)
    response = client.post(f"/runs/{run.run_id}/name/", {"display_name": "  baseline  "})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.display_name == "baseline"


def test_renaming_from_the_script_returns_the_name_section(client, member, run):
    client.force_login(member)
    response = client.post(f"/runs/{run.run_id}/name/", {"display_name": "fresh"}, **FRAGMENT)
    assert response.status_code == 200
    assert response.content.decode().startswith('<div class="run-name" data-section="name">')
    assert "<h1" in response.content.decode() and "fresh" in response.content.decode()


def test_a_too_long_name_is_refused_with_a_message_and_nothing_changes(client, member, run):
    client.force_login(member)
    response = client.post(f"/runs/{run.run_id}/name/", {"display_name": "x" * 300}, **FRAGMENT)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    run.refresh_from_db()
    assert run.display_name == ""


def _base(run) -> str:
    from studio.web.run_tabs import digest

    return digest(run.description)


def test_the_description_is_saved_as_markdown_and_rendered(client, member, run):
    client.force_login(member)
    response = client.post(
        f"/runs/{run.run_id}/description/",
        {"description": "Uses **Adam**.", "base": _base(run), "action": "save"},
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.description == "Uses **Adam**."
    assert "<strong>Adam</strong>" in page(client, run).content.decode()


def test_preview_renders_the_draft_without_saving(client, member, run):
    client.force_login(member)
    response = client.post(
        f"/runs/{run.run_id}/description/",
        {"description": "*draft* <script>alert(1)</script>", "action": "preview"},
        **FRAGMENT,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<em>draft</em>" in html and "&lt;script&gt;" in html
    assert Elements(html).find("script") == []
    run.refresh_from_db()
    assert run.description == ""


def test_preview_without_javascript_shows_the_editor_and_the_preview(client, member, run):
    client.force_login(member)
    response = client.post(
        f"/runs/{run.run_id}/description/", {"description": "*draft*", "action": "preview"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<textarea" in body and "*draft*</textarea>" in body and "<em>draft</em>" in body


def test_F4_a_save_based_on_an_older_text_is_refused_and_shows_both(client, member, run):
    client.force_login(member)
    stale = _base(run)
    services.run_update(run=run, description="written meanwhile by alice")
    response = client.post(
        f"/runs/{run.run_id}/description/",
        {"description": "bob's text", "base": stale, "action": "save"},
        **FRAGMENT,
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone changed the description" in body
    assert "written meanwhile by alice" in body and "bob&#x27;s text</textarea>" in body
    run.refresh_from_db()
    assert run.description == "written meanwhile by alice"


def test_the_editor_opens_from_the_url(client, member, run):
    client.force_login(member)
    body = page(client, run, edit="description").content.decode()
    assert 'name="description"' in body and 'name="base"' in body


def test_tags_are_added_changed_made_key_only_and_removed(client, member, run):
    client.force_login(member)
    url = f"/runs/{run.run_id}/tags/"
    client.post(url, {"key": "quality", "value": "good"})
    client.post(url, {"key": "quality", "value": "great run"})
    client.post(url, {"key": "worth another look", "value": ""})
    client.post(url, {"key": "temp", "value": "x"})
    client.post(url, {"key": "temp", "action": "remove"})
    assert dict(RunTag.objects.filter(run=run).values_list("key", "value")) == {
        "quality": "great run",
        "worth another look": None,
    }


def test_a_tag_edit_from_the_script_returns_the_tags_section(client, member, run):
    client.force_login(member)
    response = client.post(f"/runs/{run.run_id}/tags/", {"key": "lr", "value": "0.1"}, **FRAGMENT)
    html = response.content.decode()
    assert html.startswith('<section class="panel" data-section="tags"')
    assert '<span class="chip-key">lr</span><span class="chip-value">0.1</span>' in html


def test_a_bad_tag_key_is_refused_and_changes_nothing(client, member, run):
    client.force_login(member)
    response = client.post(f"/runs/{run.run_id}/tags/", {"key": "", "value": "v"}, **FRAGMENT)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not RunTag.objects.filter(run=run).exists()


# --- cancel ----------------------------------------------------------------------------------


def test_cancel_ends_an_interactive_run_canceled(client, member, run):
    client.force_login(member)
    response = client.post(f"/runs/{run.run_id}/cancel/", {"tab": "metrics"})
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.run_id}/?tab=metrics"
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELED


def test_cancel_from_the_page_script_returns_the_fresh_status_and_details_follow(
    client, member, run
):
    client.force_login(member)
    response = client.post(f"/runs/{run.run_id}/cancel/", {"tab": "overview"}, **FRAGMENT)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-section="status"' in body and 'status-canceled">Canceled' in body
    assert "Cancel run" not in body
    details = page(client, run, section="details").content.decode()
    assert '<section class="panel" data-section="details"' in details
    assert 'status-canceled">Canceled' in details
    assert "Ended</th><td><time" in details


def test_cancel_from_the_page_script_of_a_finished_run_says_why_and_changes_nothing(
    client, member, run
):
    services.run_complete(run=run)
    client.force_login(member)
    response = client.post(f"/runs/{run.run_id}/cancel/", **FRAGMENT)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert "already Completed" in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_cancel_of_a_finished_run_explains_and_changes_nothing(client, member, run):
    services.run_complete(run=run)
    client.force_login(member)
    response = client.post(f"/runs/{run.run_id}/cancel/", follow=True)
    assert "already Completed" in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_cancel_of_a_started_script_asks_its_supervisor_to_stop_it(client, member, experiment):
    from studio.execution import services as execution

    script = execution.run_submit(experiment=experiment, submitted_by="bob", script="train.py")
    services.run_transition(run=script, status=RunStatus.STARTING)
    services.run_transition(run=script, status=RunStatus.RUNNING)
    client.force_login(member)
    client.post(f"/runs/{script.run_id}/cancel/")
    script.refresh_from_db()
    assert script.status == RunStatus.CANCEL_REQUESTED
    body = page(client, script).content.decode()
    assert "Stopping the processes" in body and "Cancel run" not in body


def test_D1_cancel_by_get_is_405_and_without_csrf_token_403(member, run):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert client.get(f"/runs/{run.run_id}/cancel/").status_code == 405
    assert client.post(f"/runs/{run.run_id}/cancel/").status_code == 403
    assert client.post(f"/runs/{run.run_id}/tags/", {"key": "k"}).status_code == 403
    assert client.post(f"/runs/{run.run_id}/description/", {"description": "x"}).status_code == 403
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


def test_the_confirmation_opens_from_the_url_without_javascript(client, member, run):
    client.force_login(member)
    body = page(client, run, confirm="cancel").content.decode()
    assert '<dialog id="cancel-dialog" class="confirm" aria-labelledby="cancel-title" open>' in body


def test_every_page_frames_nothing(client, member, run):
    client.force_login(member)
    response = page(client, run)
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


# --- metrics ---------------------------------------------------------------------------------


def test_the_metrics_tab_embeds_a_figure_per_scalar_and_tables_for_records(client, member, run):
    log_series(run, "loss", [3.0, 2.0, 1.0])
    services.metric_log_batch(
        run=run,
        batch_id="records",
        records=[
            {"name": "weights", "kind": "list", "data": [0.5, -0.25]},
            {"name": "per_class", "kind": "row", "data": {"cls": 0, "recall": 0.9}},
            {"name": "per_class", "kind": "row", "data": {"cls": 1, "recall": 0.8}},
            {"name": "confusion", "kind": "table", "data": {"a": [1, 2], "b": [3, 4]}},
        ],
    )
    upload(run, "images/cm.png", PNG)
    services.metric_log_batch(
        run=run,
        batch_id="img",
        records=[{"name": "cm", "kind": "image", "data": {"file": "images/cm.png"}}],
    )
    client.force_login(member)
    body = page(client, run, tab="metrics").content.decode()
    assert '<script id="figure-0" type="application/json">' in body
    assert f'src="/runs/{run.run_id}/files/images/cm.png?inline=1"' in body
    for cell in (
        '<th scope="col">recall</th>',
        '<td class="num">0.9</td>',
        '<td class="num">-0.25</td>',
    ):
        assert cell in body
    assert '<th scope="col">b</th>' in body


def test_chart_options_come_from_the_url(client, member, run):
    log_series(run, "loss", [3.0, 2.0, 1.0])
    client.force_login(member)
    body = page(client, run, tab="metrics", x="time", smooth="0.9", log="1").content.decode()
    assert '<option value="time" selected>' in body
    assert '<option value="0.9" selected>' in body
    assert '"type": "date"' in body and '"type": "log"' in body


def test_charts_past_the_first_dozen_load_lazily(client, member, run):
    for i in range(14):
        log_series(run, f"m{i:02d}", [1.0, 2.0])
    client.force_login(member)
    body = page(client, run, tab="metrics").content.decode()
    assert body.count('type="application/json"') == 12
    assert body.count("data-chart-url") == 14


def test_the_chart_endpoint_reduces_a_long_series_and_refines_a_zoom(client, member, run):
    log_series(run, "loss", [float(i % 100) for i in range(20_000)])
    client.force_login(member)
    overview = client.get(f"/runs/{run.run_id}/chart/", {"name": "loss"}).json()
    assert overview["reduced"] is True and overview["total"] == 20_000
    fills = [t for t in overview["data"] if t.get("fill") == "tonexty"]
    assert len(fills) == 1 and max(v for v in overview["data"][0]["y"] if v is not None) == 99
    zoom = client.get(f"/runs/{run.run_id}/chart/", {"name": "loss", "lo": 100, "hi": 199}).json()
    assert zoom["reduced"] is False
    assert zoom["data"][-1]["x"] == list(range(100, 200))


def test_the_chart_endpoint_never_sends_nan(client, member, run):
    log_series(run, "loss", [1.0, float("nan"), float("inf"), 2.0])
    client.force_login(member)
    response = client.get(f"/runs/{run.run_id}/chart/", {"name": "loss"})
    assert b"NaN" not in response.content and b"Infinity" not in response.content
    assert response.json()["data"][-1]["y"] == [1.0, None, None, 2.0]


def test_the_chart_endpoint_refuses_unknown_metrics_and_bad_ranges(client, member, run):
    log_series(run, "loss", [1.0])
    client.force_login(member)
    assert client.get(f"/runs/{run.run_id}/chart/", {"name": "nope"}).status_code == 404
    bad = client.get(f"/runs/{run.run_id}/chart/", {"name": "loss", "lo": "1e9"})
    assert bad.status_code == 400 and bad.json()["field"] == "lo"


# --- child runs ------------------------------------------------------------------------------


def test_the_child_tree_shows_statuses_and_the_chosen_metric(client, member, run, experiment):
    kids = [
        services.run_create(experiment=experiment, submitted_by="bob", parent=run) for _ in range(3)
    ]
    for i, kid in enumerate(kids):
        log_series(kid, "acc", [0.5 + i / 10])
        log_series(kid, "loss", [1.0 - i / 10])
    services.run_create(experiment=experiment, submitted_by="bob", parent=kids[0])
    client.force_login(member)
    body = page(client, run, tab="children", metric="loss").content.decode()
    assert '<option value="loss" selected>' in body
    assert body.count("tree-row") == 3
    assert ">0.9</span>" in body and ">0.8</span>" in body
    assert f'data-children-url="/runs/{kids[0].run_id}/children/?metric=loss"' in body


def test_a_level_of_the_tree_loads_as_a_fragment(client, member, run, experiment):
    child = services.run_create(experiment=experiment, submitted_by="bob", parent=run)
    grandchild = services.run_create(
        experiment=experiment, submitted_by="bob", parent=child, display_name="deep"
    )
    client.force_login(member)
    html = client.get(f"/runs/{child.run_id}/children/", {"metric": "loss"}).content.decode()
    assert html.startswith('<ul class="tree" data-children-list>')
    assert grandchild.run_id in html and "deep" in html


def test_the_tree_pages_many_children_with_a_constant_number_of_queries(
    client, member, run, django_assert_max_num_queries
):
    services.run_create_children(parent=run, count=250, submitted_by="bob")
    client.force_login(member)
    client.get(f"/runs/{run.run_id}/children/")
    with django_assert_max_num_queries(8):
        first = client.get(f"/runs/{run.run_id}/children/").content.decode()
    assert first.count("tree-row") == 100 and "offset=100" in first
    last = client.get(f"/runs/{run.run_id}/children/", {"offset": 200}).content.decode()
    assert last.count("tree-row") == 50 and "Show more" not in last


# --- outputs, snapshot -----------------------------------------------------------------------


def test_outputs_show_a_tree_of_files_and_the_log(client, member, run):
    upload(run, "outputs/model/weights.bin", b"\x00\x01")
    upload(run, "outputs/notes.txt", b"hello")
    upload(run, "logs/std_log.txt", b"epoch 1\n\x1b[31mred\x1b[0m\n")
    upload(run, "snapshot/train.py", b"print(1)")
    client.force_login(member)
    body = page(client, run, tab="outputs").content.decode()
    assert "model/</summary>" in body and "weights.bin" in body and "notes.txt" in body
    assert "train.py" not in body  # the snapshot has its own tab
    assert (
        '<pre class="log" data-log-text tabindex="0" aria-label="Log text" data-first-line="1" data-query="">epoch 1\nred\n</pre>'
        in body
    )
    snapshot = page(client, run, tab="snapshot").content.decode()
    assert "train.py" in snapshot and "notes.txt" not in snapshot


def test_a_text_file_is_previewed_as_text_and_an_image_as_an_image(client, member, run):
    upload(run, "outputs/notes.txt", b"<b>bold?</b>")
    upload(run, "outputs/plot.png", PNG)
    client.force_login(member)
    text = page(client, run, tab="outputs", file="outputs/notes.txt").content.decode()
    assert "&lt;b&gt;bold?&lt;/b&gt;" in text
    image = page(client, run, tab="outputs", file="outputs/plot.png").content.decode()
    assert f'src="/runs/{run.run_id}/files/outputs/plot.png?inline=1"' in image


def test_the_log_search_works_without_javascript(client, member, run):
    upload(run, "logs/std_log.txt", b"ok\nERROR: disk full\nok\n")
    client.force_login(member)
    body = page(client, run, tab="outputs", q="error").content.decode()
    assert "1 line matches" in body
    assert "<mark>ERROR</mark>: disk full</span>" in body and "at=3&amp;line=2" in body
    jumped = page(client, run, tab="outputs", log="logs/std_log.txt", at=3, line=2).content.decode()
    assert 'data-first-line="2"' in jumped and ">ERROR: disk full\nok\n</pre>" in jumped
    assert "Showing the log from line 2 (byte 3)." in jumped


def test_selectors_used_by_the_page_exist():
    # The page reads only through selectors (no model queries in studio/web).
    assert callable(selectors.file_search) and callable(selectors.run_children_page)


def test_no_model_is_queried_from_the_web_views():
    from pathlib import Path

    for name in ("views/run_page.py", "run_tabs.py", "run_files.py", "charts.py"):
        text = (Path(__file__).resolve().parents[2] / "studio/web" / name).read_text()
        assert ".objects." not in text, name
        assert ".save(" not in text, name
    assert Run  # the models stay behind services and selectors


def test_a_description_written_on_the_page_is_found_by_the_filter_language(client, member, run):
    client.force_login(member)
    client.post(
        f"/runs/{run.run_id}/description/",
        {"description": "Tried **AdamW** with warmup.", "base": _base(run), "action": "save"},
    )
    query = RunQuery(filter="description ~ 'adamw'", children=True)
    found = runlist.runs(query, workspace=run.workspace)
    assert [r.run_id for r in found] == [run.run_id]
