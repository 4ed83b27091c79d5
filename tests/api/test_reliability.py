"""Bad input, tokens and content types through the JSON API (docs/requirements.md C5, D2,
D3, E1-E8). Every refusal is a 4xx JSON error with a code and a field, and changes
nothing."""

import json

import pytest
from django.test import Client

from studio.accounts.models import ApiToken
from studio.accounts.services import token_create, token_revoke
from studio.tracking import selectors, services
from studio.tracking.models import MetricBatch, MetricChunk, Run, RunChange, RunProperty, RunTag
from tests.api.conftest import post
from tests.factories import client_for

T0 = 1_790_000_000.0


def batch(values, steps=None, times=None, name="loss", batch_id="b1"):
    n = len(values)
    return {
        "batch_id": batch_id,
        "series": [
            {
                "name": name,
                "steps": steps if steps is not None else list(range(n)),
                "values": values,
                "times": times if times is not None else [T0] * n,
            }
        ],
    }


def assert_error(response, status, code=None, field=None):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["message"]
    if code:
        assert error["code"] == code
    if field:
        assert error["field"] == field
    return error


def metrics_url(run):
    return f"/api/v1/runs/{run.run_id}/metrics"


def nothing_logged(run):
    return (
        not MetricChunk.objects.filter(run=run).exists()
        and not MetricBatch.objects.filter(run=run).exists()
        and not RunChange.objects.filter(run=run).exclude(batch_id=None).exists()
    )


# --- E1: NaN and infinity -----------------------------------------------------------


def test_E1_bare_nan_literals_are_refused(owner, run):
    body = '{"batch_id": "b", "series": [{"name": "x", "steps": [0], "values": [NaN], "times": [1790000000]}]}'
    assert_error(post(owner.api, metrics_url(run), body), 400, "invalid")
    assert nothing_logged(run)


def test_E1_non_finite_values_round_trip_with_the_explicit_encoding(owner, run):
    values = [{"$float": "NaN"}, {"$float": "Infinity"}, {"$float": "-Infinity"}, 1.5]
    assert post(owner.api, metrics_url(run), batch(values)).status_code == 200
    response = owner.api.get(metrics_url(run))
    assert b"NaN" in response.content and b": NaN" not in response.content
    assert response.json()["metrics"]["loss"] == values
    _, stored, _ = selectors.metric_series(run=run, name="loss")
    assert str(stored.tolist()) == "[nan, inf, -inf, 1.5]"


def test_E1_a_nan_string_among_numbers_is_refused(owner, run):
    assert_error(post(owner.api, metrics_url(run), batch([1.0, "NaN"])), 400, field="values[1]")
    assert nothing_logged(run)


# --- E2: types and ranges -----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"values": [1.0, True]}, "values[1]"),  # booleans are kept, not mixed with numbers
        ({"values": [2, None]}, "values[1]"),
        ({"values": [[]]}, "values[0]"),
        ({"values": [1.0, "0.5"]}, "values[1]"),
        ({"values": [1.0], "steps": [-1]}, "steps"),
        ({"values": [1.0], "steps": [2**63]}, "steps"),
        ({"values": [1.0], "steps": [True]}, "steps[0]"),
        ({"values": [1.0], "times": [0]}, "times"),
        ({"values": [1.0], "times": [-5]}, "times"),
        ({"values": [1.0], "times": [253402300799]}, "times"),  # year 9999
        ({"values": [1.0], "times": [T0 * 1000]}, "times"),  # milliseconds
    ],
)
def test_E2_wrong_types_and_ranges_are_400_with_the_field(owner, run, kwargs, field):
    assert_error(post(owner.api, metrics_url(run), batch(**kwargs)), 400, "invalid", field)
    assert nothing_logged(run)


def test_E2_overflowing_numbers_are_refused(owner, run):
    body = '{"batch_id": "b", "series": [{"name": "x", "steps": [0], "values": [1e309], "times": [1790000000]}]}'
    assert_error(post(owner.api, metrics_url(run), body), 400)
    huge = (
        '{"batch_id": "b", "series": [{"name": "x", "steps": [0], "values": ['
        + "9" * 5000
        + '], "times": [1790000000]}]}'
    )
    assert_error(post(owner.api, metrics_url(run), huge), 400)
    assert nothing_logged(run)


@pytest.mark.parametrize(
    "number",
    ["1e309", "-2.5E+0400", "1" + "0" * 290 + "e+20", "9" * 400 + ".5", "1.5e00309"],
)
def test_E2_every_form_of_a_number_too_large_for_a_float_is_refused_with_its_text(
    owner, run, number
):
    """Every form of a number that overflows a float (long exponent, long mantissa
    with a short exponent) is caught by the body parser's float check."""
    body = (
        '{"batch_id": "b", "series": [{"name": "x", "steps": [0], "values": [0.5, '
        + number
        + '], "times": [1790000000, 1790000000]}]}'
    )
    error = assert_error(post(owner.api, metrics_url(run), body), 400, "invalid", "body")
    assert "too large for a float" in error["message"] and number[:20] in error["message"]
    assert nothing_logged(run)


def test_E2_numbers_and_ids_that_only_look_large_are_taken_exactly(owner, run):
    values = [1e308, -1.7976931348623157e308, 1e-400, 2.5e-300, 0.1]
    body = batch(values, batch_id="7e123 and 12E999 in a string")
    assert post(owner.api, metrics_url(run), body).status_code == 200
    _, stored, _ = selectors.metric_series(run=run, name="loss")
    assert stored.tolist() == [1e308, -1.7976931348623157e308, 0.0, 2.5e-300, 0.1]


# --- E3: sizes ---------------------------------------------------------------------


def test_E3_oversized_keys_values_and_bodies_are_refused(owner, run):
    assert_error(post(owner.api, metrics_url(run), batch([1.0], name="k" * 10_000)), 400)
    tags = {"tags": {"big": "v" * 10_000_000}}
    assert_error(post(owner.api, f"/api/v1/runs/{run.run_id}/tags", tags), 400, field="tags.big")
    described = {"description": "d" * 20_000_000}
    assert_error(
        owner.api.patch(
            f"/api/v1/runs/{run.run_id}", json.dumps(described), content_type="application/json"
        ),
        413,
        "too_large",
    )
    named = {"display_name": "n" * 1_000_000}
    assert_error(
        owner.api.patch(
            f"/api/v1/runs/{run.run_id}", json.dumps(named), content_type="application/json"
        ),
        400,
        field="display_name",
    )
    run.refresh_from_db()
    assert (run.description, run.display_name) == ("", "")
    assert not RunTag.objects.filter(run=run).exists()
    assert nothing_logged(run)


# --- E4: structure -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body, code",
    [
        ("[" * 100_000 + "]" * 100_000, "invalid"),
        ('{"batch_id": "a", "batch_id": "b"}', "invalid"),
        ('{"batch_id": "b", "metircs": []}', "unknown_field"),
        (b'{"batch_id": "\xff\xfe"}', "invalid"),
        ('{"batch_id": "b"} trailing', "invalid"),
    ],
)
def test_E4_malformed_bodies_are_400(owner, run, body, code):
    assert_error(post(owner.api, metrics_url(run), body), 400, code)
    assert nothing_logged(run)


def test_E4_duplicate_property_keys_are_refused(owner, run):
    body = '{"properties": {"author": "a", "author": "b"}}'
    assert_error(
        post(owner.api, f"/api/v1/runs/{run.run_id}/properties", body), 400, field="author"
    )
    assert not RunProperty.objects.filter(run=run).exists()


# --- E5: batch limits and atomicity -----------------------------------------------------


def test_E5_too_many_metrics_in_one_batch_are_refused(owner, run):
    body = {
        "batch_id": "b",
        "series": [
            {"name": f"m{i}", "steps": [0], "values": [1.0], "times": [T0]} for i in range(1001)
        ],
    }
    error = assert_error(post(owner.api, metrics_url(run), body), 400)
    assert "split" in error["message"]
    assert nothing_logged(run)


def test_E5_one_bad_item_in_a_batch_stores_nothing(owner, run):
    body = batch([1.0] * 1000)
    body["series"][0]["values"][500] = True
    assert_error(post(owner.api, metrics_url(run), body), 400, field="values[500]")
    assert nothing_logged(run)


def test_E5_lists_are_paginated_with_a_maximum_page_size(owner, experiment):
    for _ in range(5):
        services.run_create(experiment=experiment, submitted_by="alice")
    assert_error(owner.api.get("/api/v1/workspaces/default/runs?limit=100000"), 400, field="limit")
    seen, cursor = [], None
    while True:
        url = "/api/v1/workspaces/default/runs?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = owner.api.get(url).json()
        seen += [r["id"] for r in page["runs"]]
        cursor = page["next"]
        if not cursor:
            break
    assert sorted(seen) == sorted(Run.objects.values_list("run_id", flat=True))
    assert len(seen) == len(set(seen)) == 5


# --- E6: unicode -------------------------------------------------------------------


def test_E6_nfc_and_nfd_keys_are_one_key(owner, run):
    post(owner.api, metrics_url(run), batch([1.0], name="e\u0301", batch_id="a"))
    post(owner.api, metrics_url(run), batch([2.0], name="\u00e9", batch_id="b"))
    assert owner.api.get(metrics_url(run)).json()["metrics"] == {"\u00e9": [1.0, 2.0]}


@pytest.mark.parametrize(
    "key", ["bad\\ud800", "nul\\u0000", "rtl\\u202eevil", "zw\\u200bsp", "   ", ""]
)
def test_E6_surrogates_nul_bidi_and_blank_keys_are_refused(owner, run, key):
    body = '{"tags": {"' + key + '": "v"}}'
    assert_error(post(owner.api, f"/api/v1/runs/{run.run_id}/tags", body), 400)
    assert not RunTag.objects.filter(run=run).exists()


def test_E6_emoji_round_trips(owner, run):
    post(owner.api, f"/api/v1/runs/{run.run_id}/tags", {"tags": {"mood 🚀": "🎉"}})
    assert owner.api.get(f"/api/v1/runs/{run.run_id}").json()["tags"] == {"mood 🚀": "🎉"}


# --- E7: properties and tags ---------------------------------------------------------


def test_E7_a_different_property_value_is_409_naming_key_and_values(owner, run):
    url = f"/api/v1/runs/{run.run_id}/properties"
    assert post(owner.api, url, {"properties": {"author": "a"}}).status_code == 200
    assert post(owner.api, url, {"properties": {"author": "a"}}).status_code == 200
    error = assert_error(
        post(owner.api, url, {"properties": {"author": "b"}}), 409, "property_conflict"
    )
    assert (
        "'author'" in error["message"] and "'a'" in error["message"] and "'b'" in error["message"]
    )
    assert dict(RunProperty.objects.filter(run=run).values_list("key", "value")) == {"author": "a"}


def test_E7_tags_are_last_write_wins(owner, run):
    url = f"/api/v1/runs/{run.run_id}/tags"
    post(owner.api, url, {"tags": {"quality": "great run"}})
    response = post(owner.api, url, {"tags": {"quality": "fantastic run", "look": None}})
    assert response.json()["tags"] == {"look": None, "quality": "fantastic run"}


# --- E8: transitions ----------------------------------------------------------------


def test_E8_invalid_transitions_are_409_with_the_current_state(owner, run):
    complete = f"/api/v1/runs/{run.run_id}/complete"
    assert post(owner.api, complete, {}).status_code == 200
    error = assert_error(post(owner.api, complete, {}), 409, "invalid_transition")
    assert "Completed" in error["message"]
    error = assert_error(post(owner.api, f"/api/v1/runs/{run.run_id}/cancel", {}), 409)
    assert "already Completed" in error["message"]
    assert_error(post(owner.api, metrics_url(run), batch([1.0])), 409, "run_terminal")
    assert nothing_logged(run)
    assert post(owner.api, f"/api/v1/runs/{run.run_id}/fail", {}).status_code == 200
    assert_error(post(owner.api, complete, {}), 409)
    assert Run.objects.get(pk=run.pk).status == "Failed"


# --- C5: tokens ---------------------------------------------------------------------


def test_C5_missing_malformed_and_revoked_tokens_are_401(owner, run):
    url = f"/api/v1/runs/{run.run_id}"
    assert_error(Client().get(url), 401, "not_authenticated")
    assert_error(Client(HTTP_AUTHORIZATION="Bearer nope").get(url), 401)
    assert_error(Client(HTTP_AUTHORIZATION="Basic abc").get(url), 401)
    token, secret = token_create(user=owner, name="t")
    good = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert good.get(url).status_code == 200
    token_revoke(token=token)
    assert_error(good.get(url), 401)


def test_C5_a_token_in_the_query_string_is_ignored(owner, run):
    _, secret = token_create(user=owner, name="t")
    assert_error(Client().get(f"/api/v1/runs/{run.run_id}?token={secret}"), 401)


def test_C5_tokens_are_stored_hashed(owner):
    _, secret = token_create(user=owner, name="t")
    stored = ApiToken.objects.get()
    assert secret not in (stored.key_hash, stored.prefix, stored.name)
    assert len(stored.key_hash) == 64


def test_C5_a_workspace_token_does_not_reach_another_workspace(owner, other_workspace, run):
    services_run = services.run_create(
        experiment=services.experiment_get_or_create(workspace=other_workspace, name="x"),
        submitted_by="x",
    )
    from studio.accounts.services import membership_add

    membership_add(user=owner, workspace=other_workspace, role="owner")
    scoped = client_for(owner, workspace=run.workspace)
    assert scoped.get(f"/api/v1/runs/{run.run_id}").status_code == 200
    assert_error(scoped.get(f"/api/v1/runs/{services_run.run_id}"), 404, "not_found")
    assert_error(scoped.get("/api/v1/workspaces/other-team/runs"), 404)


def test_C5_a_run_token_reaches_only_its_run_and_descendants(owner, experiment, run):
    child = services.run_create(experiment=experiment, submitted_by="x", parent=run)
    other = services.run_create(experiment=experiment, submitted_by="x")
    scoped = client_for(owner, run=run)
    assert scoped.get(f"/api/v1/runs/{child.run_id}").status_code == 200
    assert post(scoped, metrics_url(child), batch([1.0])).status_code == 200
    assert_error(scoped.get(f"/api/v1/runs/{other.run_id}"), 404)
    assert_error(post(scoped, f"/api/v1/runs/{other.run_id}/cancel", {}), 404)


# --- D2, D3: content types and cookies ---------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
def test_D2_state_changing_requests_need_application_json(owner, run, content_type):
    body = json.dumps(batch([1.0]))
    response = owner.api.generic("POST", metrics_url(run), body, content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    response = owner.api.generic(
        "POST", f"/api/v1/runs/{run.run_id}/cancel", "", content_type=content_type
    )
    assert_error(response, 415)
    assert nothing_logged(run)
    assert Run.objects.get(pk=run.pk).status == "Running"


def test_D2_json_with_a_charset_is_accepted(owner, run):
    response = owner.api.generic(
        "POST",
        metrics_url(run),
        json.dumps(batch([1.0])),
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 200


def test_D3_a_session_cookie_alone_does_not_authenticate_the_api(owner, run):
    browser = Client()
    browser.force_login(owner)
    assert_error(browser.get(f"/api/v1/runs/{run.run_id}"), 401)
    assert_error(post(browser, f"/api/v1/runs/{run.run_id}/cancel", {}), 401)
    assert Run.objects.get(pk=run.pk).status == "Running"


# --- C1/C6: who sees and changes what -------------------------------------------------------


def test_C1_outsiders_get_404_for_runs_they_cannot_see(outsider, run):
    assert_error(outsider.api.get(f"/api/v1/runs/{run.run_id}"), 404, "not_found")
    assert_error(post(outsider.api, f"/api/v1/runs/{run.run_id}/cancel", {}), 404)
    assert_error(outsider.api.get("/api/v1/workspaces/default/runs"), 404)
    assert Run.objects.get(pk=run.pk).status == "Running"


def test_C6_readers_may_read_but_not_change(reader, run):
    assert reader.api.get(f"/api/v1/runs/{run.run_id}").status_code == 200
    assert_error(post(reader.api, f"/api/v1/runs/{run.run_id}/tags", {"tags": {"a": "b"}}), 403)
    assert_error(post(reader.api, f"/api/v1/runs/{run.run_id}/cancel", {}), 403)
    assert_error(post(reader.api, metrics_url(run), batch([1.0])), 403)
    assert_error(post(reader.api, "/api/v1/workspaces/default/runs", {"experiment": "x"}), 403)
    assert not RunTag.objects.filter(run=run).exists()
    assert Run.objects.get(pk=run.pk).status == "Running"


def test_contributors_change_runs(member, run):
    assert (
        post(member.api, f"/api/v1/runs/{run.run_id}/tags", {"tags": {"a": "b"}}).status_code == 200
    )


def test_unknown_api_paths_answer_json_404(owner):
    assert_error(owner.api.get("/api/v1/nope"), 404, "not_found")
    assert_error(owner.api.get("/api/v2/runs"), 404)


def test_the_openapi_description_lists_the_endpoints(owner):
    spec = owner.api.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/runs/{run_id}/metrics" in spec["paths"]


def test_create_token_prints_the_token_as_its_last_line(owner, capsys):
    from django.core.management import call_command

    call_command("create_token", "alice")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert (
        Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/workspaces/default").status_code
        == 200
    )
