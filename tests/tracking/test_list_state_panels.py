"""The list state's chart panels and chart options: read from a URL or a stored view,
written back, checked; an old ``chart=`` link opens as panels."""

import pytest
from django.http import QueryDict

from studio.errors import ValidationError
from studio.tracking.runlist.state import DEFAULT_CHART_OPTIONS, ListState, clean_state
from studio.tracking.services.workspaces import workspace_create

QUERY = "panel=loss&panel=val_acc&cx=metric:epoch&smooth=ema:0.9&log=1&band=std&top=50"


def test_panels_and_options_round_trip_through_the_url_and_a_stored_view():
    state = ListState.from_query(QueryDict(QUERY))
    assert not state.problems
    assert state.panels == ["loss", "val_acc"]
    assert state.chart_options == {
        "x": "metric:epoch", "smooth": "ema:0.9", "log": True, "band": "std", "top": 50
    }  # fmt: skip
    assert sorted(state.to_query()) == sorted(tuple(p.split("=")) for p in QUERY.split("&"))
    again = ListState.from_stored(state.to_stored())
    assert again.panels == state.panels and again.chart_options == state.chart_options


def test_defaults_leave_the_url_and_the_stored_view_alone():
    state = ListState.from_query(QueryDict(""))
    assert state.chart_options == DEFAULT_CHART_OPTIONS and state.panels == []
    assert state.to_query() == [] and "chart_options" not in state.to_stored()


def test_an_old_chart_link_opens_as_panels():
    state = ListState.from_query(QueryDict("chart=metric:max:acc&chart=metric:last:loss"))
    assert state.panel_names == ["acc", "loss"]
    assert ListState.from_query(QueryDict("chart=metric:max:acc&panel=f1")).panel_names == ["f1"]


@pytest.mark.parametrize(
    "query",
    ["cx=sideways", "smooth=ema:1.5", "smooth=avg:1", "smooth=gauss:3", "band=iqr", "top=0",
     "top=201", "top=many", "log=maybe"],
)  # fmt: skip
def test_a_bad_option_is_dropped_with_a_note(query):
    state = ListState.from_query(QueryDict(query))
    assert state.problems and state.chart_options == DEFAULT_CHART_OPTIONS


def test_more_than_ten_panels_are_refused_with_a_note():
    state = ListState.from_query(QueryDict("&".join(f"panel=m{i}" for i in range(11))))
    assert state.problems and state.panels == []


@pytest.mark.django_db
def test_stored_panels_and_options_are_checked_when_saved():
    workspace = workspace_create(name="panels")
    clean = clean_state(
        {"panels": ["loss"], "chart_options": {"smooth": "avg:10", "top": 5}}, workspace=workspace
    )
    assert clean["panels"] == ["loss"]
    assert clean["chart_options"] == {"smooth": "avg:10", "top": 5}
    for bad, field in (
        ({"panels": "loss"}, "panels"),
        ({"panels": [f"m{i}" for i in range(11)]}, "panels"),
        ({"chart_options": {"colour": "red"}}, "chart_options"),
        ({"chart_options": {"top": 1000}}, "top"),
    ):
        with pytest.raises(ValidationError) as info:
            clean_state(bad, workspace=workspace)
        assert info.value.field == field
