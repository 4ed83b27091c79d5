"""The list state's grouping: read from a URL or a stored view, written back, checked."""

import pytest
from django.http import QueryDict

from studio.errors import ValidationError
from studio.tracking.runlist.state import ListState, clean_state
from studio.tracking.services.workspaces import workspace_create


@pytest.mark.parametrize("key", ["prop:seed", "tag:candidate", "experiment"])
def test_a_group_key_round_trips_through_the_url_and_a_stored_view(key):
    state = ListState.from_query(QueryDict(f"group={key}"))
    assert state.group.key == key and not state.problems
    assert ("group", key) in state.to_query()
    assert ListState.from_stored(state.to_stored()).group == state.group


@pytest.mark.parametrize("key", ["status", "metric:last:loss", "nope:x"])
def test_a_group_a_list_cannot_take_is_dropped_with_a_note(key):
    state = ListState.from_query(QueryDict(f"group={key}"))
    assert state.group is None and state.problems
    assert "group" not in state.to_stored()


@pytest.mark.django_db
def test_a_stored_group_is_checked_when_saved():
    workspace = workspace_create(name="groups")
    assert clean_state({"group": "prop:lr"}, workspace=workspace)["group"] == "prop:lr"
    assert "group" not in clean_state({}, workspace=workspace)
    with pytest.raises(ValidationError) as info:
        clean_state({"group": "metric:last:loss"}, workspace=workspace)
    assert info.value.field == "group"
