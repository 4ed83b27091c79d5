"""How many tags and properties a run holds: at most 1,000 keys of each, on every
path (the SDK on both stores, the API, the studio's bulk tag), refused with an error
that names the cap and changing nothing."""

import pytest

from studio.errors import ValidationError
from studio.rules import validation
from studio.tracking import services
from studio.tracking.models import RunTag
from tests.web.listing_helpers import make_run


@pytest.fixture(params=["local", "rest"])
def ws(request, sdk):
    if request.param == "local":
        return sdk.Workspace.from_config()
    return request.getfixturevalue("rest_workspace")


def test_the_1001st_tag_is_refused_and_changes_nothing(ws, sdk):
    run = sdk.Experiment(ws, "limits").start_logging()
    full = {f"tag-{i}": "v" for i in range(validation.MAX_TAGS)}
    run.set_tags(full)

    with pytest.raises(ValidationError) as err:
        run.tag("one-more", "v")

    assert "at most 1000 tags" in str(err.value) and err.value.field == "tags"
    assert run.get_tags() == full
    run.tag("tag-7", "changed")  # changing a tag it holds is still fine
    assert run.get_tags()["tag-7"] == "changed"


def test_more_than_1000_tags_in_one_call_are_refused(ws, sdk):
    run = sdk.Experiment(ws, "limits").start_logging()

    with pytest.raises(ValidationError, match="at most 1000 tags"):
        run.set_tags({f"tag-{i}": None for i in range(validation.MAX_TAGS + 1)})

    assert run.get_tags() == {}


def test_the_1001st_property_is_refused_and_changes_nothing(ws, sdk):
    run = sdk.Experiment(ws, "limits").start_logging()
    full = {f"p-{i}": "v" for i in range(validation.MAX_PROPERTIES)}
    run.add_properties(full)

    with pytest.raises(ValidationError, match="at most 1000 properties") as err:
        run.add_properties({"p-1": "v", "one-more": "v"})

    assert err.value.field == "properties"
    assert run.get_properties() == full


def test_bulk_tagging_a_run_that_is_full_tags_none_of_the_selected_runs(client, member, experiment):
    a, full = make_run(experiment, "a"), make_run(experiment, "full")
    services.run_set_tags(run=full, tags={f"tag-{i}": None for i in range(validation.MAX_TAGS)})
    client.force_login(member)

    client.post(
        "/actions/runs/", {"action": "tag", "run": [a.run_id, full.run_id], "tag_key": "review"}
    )

    assert not RunTag.objects.filter(key="review").exists()
    assert RunTag.objects.filter(run=full).count() == validation.MAX_TAGS
