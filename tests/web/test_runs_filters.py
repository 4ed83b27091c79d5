"""The runs list's filters: the FilterSet's panel, the search bar's filter language,
and the active filters as removable chips."""

import datetime as dt
import html

from studio.tracking import services
from studio.tracking.models import Run
from tests.web.listing_helpers import get, listed, make_run

XSS = '"><img src=x onerror=alert(1)>'


def test_status_filter_keeps_the_runs_in_those_statuses(client, member, experiment):
    done = make_run(experiment, "done")
    failed = make_run(experiment, "failed")
    going = make_run(experiment, "going")
    services.run_complete(run=done)
    services.run_fail(run=failed)
    client.force_login(member)

    body = get(client, "/runs/?status=Completed&status=Failed")

    assert set(listed(body)) == {done.run_id, failed.run_id}
    assert going.run_id not in body


def test_tag_chip_with_a_value_matches_that_value_and_a_key_chip_any_value(
    client, member, experiment
):
    a = make_run(experiment, "a", tags={"lr": "0.1", "best": None})
    b = make_run(experiment, "b", tags={"lr": "0.3"})
    make_run(experiment, "c")
    client.force_login(member)

    assert listed(get(client, "/runs/?tag=lr=0.1")) == [a.run_id]
    assert set(listed(get(client, "/runs/?tag=lr"))) == {a.run_id, b.run_id}
    assert listed(get(client, "/runs/?tag=lr&tag=best")) == [a.run_id]


def test_property_experiment_target_and_submitter_filters(client, member, workspace, experiment):
    other = services.experiment_get_or_create(workspace=workspace, name="other-exp")
    a = make_run(experiment, "a", props={"author": "ann"}, compute_target="gpu", submitted_by="ann")
    b = make_run(other, "b", props={"author": "ben"})
    client.force_login(member)

    assert listed(get(client, "/runs/?prop=author=ann")) == [a.run_id]
    assert listed(get(client, "/runs/?experiment=other-exp")) == [b.run_id]
    assert listed(get(client, "/runs/?compute_target=gpu")) == [a.run_id]
    assert listed(get(client, "/runs/?submitted_by=ann")) == [a.run_id]


def test_created_date_range_includes_both_days(client, member, experiment):
    old = make_run(experiment, "old")
    new = make_run(experiment, "new")
    Run.objects.filter(pk=old.pk).update(created_at=dt.datetime(2026, 1, 10, 23, 0, tzinfo=dt.UTC))
    Run.objects.filter(pk=new.pk).update(created_at=dt.datetime(2026, 3, 1, 0, 30, tzinfo=dt.UTC))
    client.force_login(member)

    assert listed(get(client, "/runs/?created_after=2026-01-10&created_before=2026-01-10")) == [
        old.run_id
    ]
    assert listed(get(client, "/runs/?created_after=2026-02-01")) == [new.run_id]


def test_child_runs_are_found_only_when_asked_for(client, member, experiment):
    parent = make_run(experiment, "sweep")
    (child,) = services.run_create_children(
        parent=parent, submitted_by="bob", tag_key="lr", tag_values=["0.5"]
    )
    client.force_login(member)

    hidden = get(client, "/runs/?tag=lr=0.5")
    assert listed(hidden) == []
    assert "Include child runs" in hidden and "children=1" in hidden
    assert listed(get(client, "/runs/?tag=lr=0.5&children=1")) == [child.run_id]
    assert listed(get(client, f"/runs/?parent={parent.run_id}")) == [child.run_id]


def test_search_bar_takes_the_filter_language(client, member, experiment):
    a = make_run(experiment, "alpha", loss=0.1, tags={"quality": "great run"})
    make_run(experiment, "beta", loss=0.9)
    client.force_login(member)

    body = get(client, "/runs/?q=metrics.loss < 0.5 and tags.quality ~ 'GREAT'")

    assert listed(body) == [a.run_id]


def test_a_bad_search_is_shown_inline_with_its_position_and_lists_nothing(
    client, member, experiment
):
    make_run(experiment, "alpha")
    client.force_login(member)

    body = get(client, "/runs/?q=status = Running and")

    assert listed(body) == []
    assert 'role="alert"' in body and 'aria-invalid="true"' in body
    assert "The filter ends too early" in body
    assert "(at column 21)" in body
    assert "\n  status = Running and\n  " + " " * 20 + "^" in html.unescape(body)


def test_a_bad_filter_value_is_reported_not_a_server_error(client, member, experiment):
    make_run(experiment, "alpha")
    client.force_login(member)

    body = get(client, "/runs/?status=Sleeping&created_after=yesterday")

    assert listed(body) == []
    assert "Sleeping is not one of the available choices" in body
    assert "Enter a valid date" in body


def test_active_filters_are_chips_whose_link_removes_only_that_filter(client, member, experiment):
    make_run(experiment, "alpha", tags={"lr": "0.1", "best": None})
    client.force_login(member)

    body = get(client, "/runs/?tag=lr=0.1&tag=best&status=Running")

    remove_best = html.unescape(
        body.split('aria-label="Remove the filter tag best"')[0]
        .rsplit('href="', 1)[1]
        .split('"')[0]
    )
    assert "tag=best" not in remove_best
    assert "tag=lr%3D0.1" in remove_best and "status=Running" in remove_best
    assert 'class="clear-all"' in body


def test_filters_chips_and_search_escape_what_users_typed(client, member, experiment):
    make_run(experiment, XSS, tags={"note": XSS})
    client.force_login(member)

    body = get(client, "/runs/?tag=note=" + XSS.replace("&", "%26") + "&q=name ~ '\"><b>'")

    assert "<img src=x" not in body and "<b>" not in body
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in body


def test_filters_never_reach_another_workspace(client, member, outsider, other_workspace):
    theirs = services.experiment_get_or_create(workspace=other_workspace, name="secret-exp")
    secret = make_run(theirs, "secret", tags={"lr": "0.1"})
    client.force_login(member)

    body = get(client, "/runs/?experiment=secret-exp&tag=lr=0.1&children=1")

    assert listed(body) == [] and secret.run_id not in body


def test_empty_fields_of_the_filter_form_are_dropped_from_the_link(client, member, run):
    client.force_login(member)
    response = client.get("/runs/?ws=default&q=&tag=&prop=&status=Running&created_after=")
    assert response.status_code == 302
    assert response["Location"] == "/runs/?ws=default&status=Running"
    assert listed(get(client, response["Location"])) == [run.run_id]
