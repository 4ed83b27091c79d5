"""What a runs list does besides showing runs: CSV export, actions on the selected
runs (compare, tag, cancel), children expanded in place, rows marked live."""

import csv
import io
import re

import pytest
from django.test import Client

from studio.tracking import services
from studio.tracking.models import Run, RunStatus, RunTag
from tests.web.listing_helpers import get, listed, make_run


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_csv_export_streams_the_filtered_sorted_list_with_the_chosen_columns(
    client, member, experiment
):
    a = make_run(experiment, "a", loss=0.3, tags={"lr": "0.1"}, props={"author": "ann"})
    b = make_run(experiment, "b", loss=0.1, tags={"lr": "0.2"}, props={"author": "ben"})
    make_run(experiment, "untagged", loss=0.05)
    client.force_login(member)

    rows = _csv(
        client.get(
            "/runs.csv?tag=lr&sort=metric:last:loss&col=name&col=status&col=prop:author"
            "&col=metric:last:loss&col=tags"
        )
    )

    assert rows[0] == ["number", "run_id", "display_name", "status", "prop:author",
                       "metric:last:loss", "tags"]  # fmt: skip
    assert [r[1] for r in rows[1:]] == [b.run_id, a.run_id]
    assert rows[1][2:] == ["b", "Running", "ben", "0.1", "lr=0.2"]


def test_csv_export_covers_more_than_a_page_and_defuses_spreadsheet_formulas(
    client, member, experiment
):
    make_run(experiment, '=HYPERLINK("http://evil")')
    parent = make_run(experiment, "sweep")
    services.run_create_children(parent=parent, submitted_by="bob", count=1200)
    client.force_login(member)

    rows = _csv(client.get("/runs.csv?col=name&children=1"))

    assert len(rows) == 1 + 2 + 1200
    assert len({r[1] for r in rows[1:]}) == 1202
    assert ['\'=HYPERLINK("http://evil")'] in [r[2:] for r in rows]


def test_csv_export_of_another_workspace_is_not_found(client, member, other_workspace):
    client.force_login(member)
    assert client.get("/runs.csv?ws=other-team").status_code == 404


def test_contributor_tags_the_selected_runs(client, member, experiment, other_workspace):
    a, b, c = (make_run(experiment, n) for n in "abc")
    theirs = make_run(services.experiment_get_or_create(workspace=other_workspace, name="x"), "t")
    client.force_login(member)

    response = client.post(
        "/actions/runs/",
        {"action": "tag", "run": [a.run_id, b.run_id, theirs.run_id], "tag_key": "review",
         "tag_value": "yes", "next": "/runs/?tag=review"},
    )  # fmt: skip

    assert response.status_code == 302 and response["Location"] == "/runs/?tag=review"
    tagged = set(RunTag.objects.filter(key="review").values_list("run__run_id", flat=True))
    assert tagged == {a.run_id, b.run_id}
    assert c.run_id not in tagged and theirs.run_id not in tagged
    assert "Tagged 2 runs with review=yes." in get(client, "/runs/")


def test_a_bad_tag_key_tags_none_of_the_runs(client, member, experiment):
    a, b = make_run(experiment, "a"), make_run(experiment, "b")
    client.force_login(member)
    client.post("/actions/runs/", {"action": "tag", "run": [a.run_id, b.run_id], "tag_key": " "})
    client.post(
        "/actions/runs/",
        {"action": "tag", "run": [a.run_id, b.run_id], "tag_key": "k", "tag_value": "\x00"},
    )
    assert not RunTag.objects.exists()


def test_contributor_cancels_the_selected_runs_and_hears_which_had_finished(
    client, member, experiment
):
    going, done = make_run(experiment, "going"), make_run(experiment, "done")
    services.run_complete(run=done)
    client.force_login(member)

    client.post("/actions/runs/", {"action": "cancel", "run": [going.run_id, done.run_id]})

    going.refresh_from_db()
    done.refresh_from_db()
    assert (going.status, done.status) == (RunStatus.CANCELED, RunStatus.COMPLETED)
    body = get(client, "/runs/")
    assert "Cancel requested for 1 run. 1 run had already finished." in body


@pytest.mark.parametrize("action", ["tag", "cancel"])
def test_a_reader_cannot_tag_or_cancel_and_nothing_changes(client, reader, experiment, action):
    run = make_run(experiment, "a")
    client.force_login(reader)
    response = client.post(
        "/actions/runs/", {"action": action, "run": [run.run_id], "tag_key": "k"}
    )
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and not RunTag.objects.exists()


def test_a_reader_sees_compare_but_no_tag_or_cancel_controls(client, reader, run):
    client.force_login(reader)
    body = get(client, "/runs/")
    assert 'value="compare"' in body
    assert 'value="cancel"' not in body and 'value="tag"' not in body
    assert "Save view" not in body


def test_compare_goes_to_the_compare_page_with_the_selected_ids(client, reader, experiment):
    a, b = make_run(experiment, "a"), make_run(experiment, "b")
    client.force_login(reader)
    response = client.post("/actions/runs/", {"action": "compare", "run": [b.run_id, a.run_id]})
    assert response.status_code == 302
    assert response["Location"] == f"/compare/?runs={b.run_id}%2C{a.run_id}"


def test_bulk_actions_need_a_csrf_token_and_post(member, experiment):
    run = make_run(experiment, "a")
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert (
        client.post("/actions/runs/", {"action": "cancel", "run": [run.run_id]}).status_code == 403
    )
    assert client.get("/actions/runs/?action=cancel&run=" + run.run_id).status_code == 405
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


def test_an_unsafe_next_is_not_followed(client, member, experiment):
    run = make_run(experiment, "a")
    client.force_login(member)
    response = client.post(
        "/actions/runs/",
        {"action": "tag", "run": [run.run_id], "tag_key": "k", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/runs/"


def test_a_parent_expands_to_its_children_50_at_a_time(client, member, experiment):
    parent = make_run(experiment, "sweep")
    children = services.run_create_children(parent=parent, submitted_by="bob", count=60)
    client.force_login(member)

    page = get(client, "/runs/")
    url = re.search(r'data-children-url="([^"]+)"', page).group(1).replace("&amp;", "&")
    first = get(client, url)
    more = re.search(r'data-more-url="([^"]+)"', first).group(1).replace("&amp;", "&")
    rest = get(client, more)

    numbers = sorted(c.number for c in children)
    assert [Run.objects.get(run_id=i).number for i in listed(first)] == numbers[:50]
    assert "Show 10 more child runs" in first
    assert [Run.objects.get(run_id=i).number for i in listed(rest)] == numbers[50:]
    assert "data-more-url" not in rest
    assert 'data-depth="1"' in first


def test_the_children_of_another_workspace_run_are_not_found(client, member, other_workspace):
    theirs = make_run(services.experiment_get_or_create(workspace=other_workspace, name="x"), "t")
    services.run_create_children(parent=theirs, submitted_by="charlie", count=2)
    client.force_login(member)
    assert client.get(f"/fragments/runs/{theirs.run_id}/children/").status_code == 404


def test_running_rows_are_marked_live_for_the_event_stream(client, member, experiment):
    going, done = make_run(experiment, "going"), make_run(experiment, "done")
    services.run_complete(run=done)
    client.force_login(member)
    body = get(client, "/runs/")
    assert f'<tr data-run-id="{going.run_id}" data-live>' in body
    assert f'<tr data-run-id="{done.run_id}">' in body
    assert 'data-live-url="/live/runs/?ws=default&amp;since=' in body


@pytest.mark.parametrize("reason", ["", "lost"])
@pytest.mark.parametrize("status", list(RunStatus.values))
def test_list_badges_are_the_status_partial_the_run_page_uses(status, reason):
    from django.template.loader import render_to_string

    from studio.web.runlist.columns import status_badge

    run = Run(status=status, status_reason=reason)
    partial = render_to_string("includes/_status.html", {"status": status, "reason": reason})
    assert status_badge(run) == partial.strip()


def test_a_run_gone_quiet_is_shown_failed_lost_in_the_list(client, member, experiment, settings):
    import datetime as dt

    from django.utils import timezone

    quiet = make_run(experiment, "quiet")
    alive = make_run(experiment, "alive")
    client.force_login(member)

    Run.objects.filter(pk=quiet.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    page = get(client, "/runs/")
    assert page.count("Failed · lost") == 1
    assert f'<tr data-run-id="{alive.run_id}" data-live>' in page
