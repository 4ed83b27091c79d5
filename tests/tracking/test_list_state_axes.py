"""The list state's sweep panels: the parallel coordinates' axes and the scatter's x
and y, read from a URL or a stored view, written back, checked when saved."""

import pytest
from django.http import QueryDict

from studio.errors import ValidationError
from studio.tracking.runlist.state import MAX_AXES, ListState, clean_state
from studio.tracking.services.workspaces import workspace_create

QUERY = "axis=prop:lr&axis=tag:opt&axis=metric:min:val_loss&scatter=prop:lr&scatter=metric:last:acc"


def test_axes_and_scatter_round_trip_through_the_url_and_a_stored_view():
    state = ListState.from_query(QueryDict(QUERY))
    assert [c.key for c in state.axes] == ["prop:lr", "tag:opt", "metric:min:val_loss"]
    assert [c.key for c in state.scatter] == ["prop:lr", "metric:last:acc"]
    assert not state.problems
    again = ListState.from_query(QueryDict("&".join(f"{k}={v}" for k, v in state.to_query())))
    assert again.axes == state.axes and again.scatter == state.scatter
    stored = ListState.from_stored(state.to_stored())
    assert stored.axes == state.axes and stored.scatter == state.scatter


@pytest.mark.parametrize(
    "query", ["axis=status", "axis=experiment", "scatter=prop:lr", "scatter=status&scatter=prop:a"]
)
def test_an_axis_a_panel_cannot_show_is_dropped_with_a_note(query):
    state = ListState.from_query(QueryDict(query))
    assert state.problems
    assert "axes" not in state.to_stored() and "scatter" not in state.to_stored()


def test_at_most_eight_axes_are_kept():
    state = ListState.from_query(QueryDict("&".join(f"axis=prop:p{i}" for i in range(20))))
    assert len(state.axes) == MAX_AXES


@pytest.mark.django_db
def test_stored_axes_are_checked_when_saved():
    workspace = workspace_create(name="sweeps")
    cleaned = clean_state(
        {"axes": ["prop:lr", "metric:last:loss"], "scatter": ["prop:lr", "metric:last:loss"]},
        workspace=workspace,
    )
    assert cleaned["axes"] == ["prop:lr", "metric:last:loss"]
    assert cleaned["scatter"] == ["prop:lr", "metric:last:loss"]
    assert "axes" not in clean_state({}, workspace=workspace)
    for bad in ({"axes": ["status"]}, {"axes": "prop:lr"}, {"scatter": ["prop:lr"]}):
        with pytest.raises(ValidationError) as info:
            clean_state(bad, workspace=workspace)
        assert info.value.field in ("axes", "scatter")
