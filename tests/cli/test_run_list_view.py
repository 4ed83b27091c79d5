"""``studio run list --view NAME``: the runs of a saved view, from the command line."""

from studio.accounts.models import Role
from studio.tracking import saved_views
from tests.factories import MembershipFactory, WorkspaceFactory


def test_run_list_with_a_view_lists_its_runs_in_its_order(cli, exp):
    runs = []
    for loss in (0.5, 0.1, 0.3):
        run = exp.start_logging()
        run.log("loss", loss)
        run.tag("sweep", "a")
        run.complete()
        runs.append(run)
    exp.start_logging().complete()  # no tag: not in the view
    workspace = WorkspaceFactory(name="default")
    owner = MembershipFactory(user__username="alice", workspace=workspace, role=Role.OWNER).user
    saved_views.view_create(
        workspace=workspace,
        owner=owner,
        name="best",
        state={"filters": {"tag": ["sweep=a"]}, "sort": "metric:last:loss"},
        shared=True,
    )

    rows = cli("run", "list", "--view", "best").json()

    assert [r["id"] for r in rows] == [runs[1].id, runs[2].id, runs[0].id]
    assert [r["id"] for r in cli("run", "list", "--view", "best", "--last", "1").json()] == [
        runs[1].id
    ]


def test_run_list_with_an_unknown_view_fails_with_a_message(cli, exp):
    outcome = cli("run", "list", "--view", "nope")
    assert outcome.code != 0
    assert "No view named 'nope'" in outcome.err


def test_a_view_and_a_filter_together_are_refused(cli, exp):
    outcome = cli("run", "list", "--view", "x", "--filter", "status = Running")
    assert outcome.code != 0 and "--view" in outcome.err
