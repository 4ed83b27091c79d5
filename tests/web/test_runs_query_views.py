"""A saved view whose filters no longer run (attack review, item 8): saved as the
workspace's default by a contributor, it must not break /runs/ for every member.
The page opens with a note saying what is wrong; the API names the view."""

import pytest

from studio.tracking.models import SavedView
from tests.web.listing_helpers import make_run

BROKEN = [
    {"q": ["duration > 1e20"]},
    {"q": ["not " * 490 + "status = Running"]},
    {"q": ["created >= 9999-12-31"]},
    {"created_after": ["0001-01-01"]},
    {"created_before": ["9999-12-31"]},
    {"children": ["maybe"]},
]


@pytest.fixture
def default_view(owner, workspace, experiment, request):
    make_run(experiment, "kept")
    # Stored as it was before the checks tightened: clean_state would refuse it now.
    return SavedView.objects.create(
        workspace=workspace,
        owner=owner,
        name="broken",
        shared=True,
        is_default=True,
        state={"filters": request.param, "columns": ["name"], "sort": "-created"},
    )


@pytest.mark.parametrize("default_view", BROKEN, indirect=True)
def test_attack_8_a_broken_default_view_shows_a_note_not_an_error_page(
    client, member, default_view
):
    client.force_login(member)
    response = client.get("/runs/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-run-id="' not in body
    assert any(
        words in body
        for words in ("1e+11 seconds", "nests deeper", "Dates lie between", "Choose a day", "maybe")
    )
    assert client.get("/runs/?all=1").status_code == 200


@pytest.mark.parametrize("default_view", BROKEN[:2], indirect=True)
def test_attack_8_a_broken_view_over_the_api_answers_400_naming_the_view(member, default_view):
    response = member.api.get("/api/v1/workspaces/default/views/broken/runs")
    assert response.status_code == 400
    assert "broken" in response.json()["error"]["message"]
