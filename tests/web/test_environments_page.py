"""The Environments page: each environment of the workspace with its versions, their
packages and the runs that used them; nothing of another workspace."""

from studio.execution import services as execution
from studio.sdk.environment import CondaDependencies, Environment
from studio.tracking import services
from tests.web.listing_helpers import get

XSS = "pkg<script>alert(1)</script>"


def _definition(name: str, *pip: str) -> dict:
    env = Environment(name)
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=list(pip))
    return env._serialize_to_dict()


def test_it_lists_versions_with_their_packages_and_runs(
    client, member, workspace, experiment, django_assert_num_queries
):
    execution.environment_register(
        workspace=workspace, definition=_definition("train-env", "numpy==2.0"), created_by="bob"
    )
    for _ in range(2):
        execution.run_submit(
            experiment=experiment,
            submitted_by="bob",
            script="train.py",
            compute_target="pool",
            environment=_definition("train-env", "numpy==2.1"),
        )
    client.force_login(member)

    body = get(client, "/environments/")

    assert "train-env" in body and "2 versions" in body
    assert "used by 2 runs" in body
    assert "prop=azureml.environment.name%3Dtrain-env" in body
    rows = body.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert "numpy==2.1" in rows[0] and '<td class="num">2</td>' in rows[0]  # newest first
    assert "numpy==2.0" in rows[1] and '<td class="num">0</td>' in rows[1]
    assert 'aria-current="page">Environments' in body
    with django_assert_num_queries(6):  # the frame's (session, user, workspaces...) and one
        client.get("/environments/")


def test_package_names_are_escaped(client, member, workspace):
    execution.environment_register(
        workspace=workspace, definition=_definition("odd", XSS), created_by="bob"
    )
    client.force_login(member)
    body = get(client, "/environments/")
    assert XSS not in body
    assert "pkg&lt;script&gt;" in body


def test_environments_of_another_workspace_are_not_listed(client, member, other_workspace):
    execution.environment_register(
        workspace=other_workspace, definition=_definition("secret-env"), created_by="charlie"
    )
    client.force_login(member)
    body = get(client, "/environments/")
    assert "secret-env" not in body
    assert "No environments in default yet" in body


def test_an_environment_used_by_no_run_says_so(client, member, workspace):
    services.experiment_get_or_create(workspace=workspace, name="x")
    execution.environment_register(
        workspace=workspace, definition=_definition("idle"), created_by="bob"
    )
    client.force_login(member)
    assert "used by no run yet" in get(client, "/environments/")
