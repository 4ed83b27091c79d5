"""The runs page (/runs/): who sees what, what it shows, and what it costs."""

import re
import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.accounts.models import Membership, Role
from studio.tracking import services
from studio.tracking.models import Run, RunStatus, SavedView
from tests.conftest import PYTHON, ROOT
from tests.factories import UserFactory

XSS = '"><img src=x onerror=alert(1)>'


def make_runs(experiment, count: int, **kwargs) -> list[Run]:
    return [
        services.run_create(
            experiment=experiment,
            submitted_by="bob",
            display_name=f"run-{i}",
            tags={"lr": str(i), "worth another look": None},
            properties={"author": "bob"},
            **kwargs,
        )
        for i in range(count)
    ]


def test_anonymous_is_redirected_to_login(client):
    response = client.get("/runs/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/runs/"


def test_root_redirects_to_runs(client, member):
    client.force_login(member)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/runs/"


def test_anonymous_at_root_ends_on_the_login_page(client):
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert b"Sign in to Studio" in response.content


def test_member_sees_runs_of_their_workspace_and_not_of_another(
    client, member, experiment, other_workspace
):
    services.run_create(experiment=experiment, submitted_by="bob", display_name="ours")
    theirs = services.experiment_get_or_create(workspace=other_workspace, name="secret-exp")
    services.run_create(experiment=theirs, submitted_by="charlie", display_name="theirs")
    client.force_login(member)
    body = client.get("/runs/").content.decode()
    assert "ours" in body
    assert "theirs" not in body and "secret-exp" not in body


def test_member_cannot_switch_to_a_workspace_they_do_not_belong_to(client, member, other_workspace):
    client.force_login(member)
    assert client.get("/runs/?ws=other-team").status_code == 404


def test_outsider_sees_none_of_workspace_a_runs(client, outsider, experiment):
    run = services.run_create(experiment=experiment, submitted_by="alice", display_name="a-run")
    client.force_login(outsider)
    body = client.get("/runs/").content.decode()
    assert run.run_id not in body and "a-run" not in body
    assert "No runs in other-team yet" in body
    assert client.get("/runs/?ws=default").status_code == 404


def test_user_without_workspace_is_told_to_ask_an_owner(client, db):
    user = UserFactory(username="eve")
    client.force_login(user)
    body = client.get("/runs/").content.decode()
    assert "not a member of any workspace" in body


def test_empty_workspace_shows_the_sdk_snippet(client, member):
    client.force_login(member)
    body = client.get("/runs/").content.decode()
    assert "from studio.sdk import Workspace, Experiment" in body
    assert "exp.start_logging()" in body


def test_status_is_shown_as_a_badge_with_its_word(client, member, experiment):
    done, failed = make_runs(experiment, 2)
    services.run_complete(run=done)
    services.run_fail(run=failed)
    client.force_login(member)
    body = client.get("/runs/").content.decode()
    assert '<span class="status status-completed">Completed</span>' in body
    assert '<span class="status status-failed">Failed</span>' in body


def test_child_runs_stay_under_their_parent_with_a_count(client, member, experiment):
    parent = services.run_create(experiment=experiment, submitted_by="bob", display_name="sweep")
    children = services.run_create_children(
        parent=parent, submitted_by="bob", tag_key="lr", tag_values=["0.1", "0.3"]
    )
    client.force_login(member)
    body = client.get("/runs/").content.decode()
    assert "2 children" in body
    assert parent.run_id in body
    assert all(child.run_id not in body for child in children)


def test_created_time_is_relative_with_the_absolute_time_on_hover(client, member, run):
    client.force_login(member)
    body = client.get("/runs/").content.decode()
    absolute = run.created_at.strftime("%Y-%m-%d %H:%M:%S")
    assert re.search(rf'<time datetime="[^"]+" title="{absolute} UTC">just now</time>', body)


def test_tag_values_and_names_are_escaped(client, member, experiment):
    run = services.run_create(
        experiment=experiment, submitted_by="bob", display_name="<script>alert(1)</script>"
    )
    services.run_set_tags(run=run, tags={"note": XSS})
    client.force_login(member)
    body = client.get("/runs/").content.decode()
    assert "<img src=x" not in body and "<script>alert" not in body
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def _count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/runs/").status_code == 200
    return len(queries)


def test_query_count_does_not_grow_from_3_runs_to_30(
    client, member, experiment, django_assert_num_queries
):
    parents = make_runs(experiment, 3)
    services.run_create_children(parent=parents[0], submitted_by="bob", count=2)
    client.force_login(member)
    _count_queries(client)  # the first request may set up the session
    baseline = _count_queries(client)
    make_runs(experiment, 27)
    with django_assert_num_queries(baseline):
        response = client.get("/runs/")
    assert response.content.decode().count("<tr data-run-id=") == 30


def test_pages_hold_50_runs_and_link_to_older_ones(client, member, experiment):
    make_runs(experiment, 51)
    client.force_login(member)
    first = client.get("/runs/").content.decode()
    assert first.count("<tr data-run-id=") == 50
    next_url = re.search(r'<a href="([^"]+)" rel="next">', first).group(1)
    second = client.get(next_url.replace("&amp;", "&")).content.decode()
    assert second.count("<tr data-run-id=") == 1
    assert "51–51 of 51" in second


def test_runs_page_loads_styles_and_script_from_our_own_static_files(client, member):
    client.force_login(member)
    response = client.get("/runs/")
    body = response.content.decode()
    assert 'href="/static/studio/css/studio.css"' in body
    assert 'src="/static/studio/js/studio.js"' in body
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    # Served without DEBUG: WhiteNoise reads the static finders.
    css = client.get("/static/studio/css/studio.css")
    assert css.status_code == 200 and css["Content-Type"].startswith("text/css")


# --- manage.py demo ------------------------------------------------------------------


def _demo(env, *options: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", "demo", "--url", "http://127.0.0.1:8000/", *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_demo_creates_an_admin_with_a_random_password_and_runs_the_examples(subprocess_env):
    # half a minute: the live script and the pipeline are still going when it returns
    out = _demo(subprocess_env, "--live-minutes", "0.5")

    password = re.search(r"sign in as admin / (\S+)$", out, re.M).group(1)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert len(password) >= 16
    membership = Membership.objects.get(user=admin, workspace__name="default")
    assert membership.role == Role.OWNER
    # The sign-in line comes last, right above the server log.
    assert out.strip().splitlines()[-1].endswith(f"sign in as admin / {password}")

    runs = Run.objects.filter(workspace__name="default")
    statuses = set(runs.filter(parent=None).values_list("status", flat=True))
    _check_the_demo_jobs(runs)  # first: its live parts end half a minute after the demo
    assert statuses == {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.RUNNING}
    sweep = runs.get(experiment__name="lr-sweep", parent=None)
    assert sweep.child_count == 6
    assert set(runs.filter(parent=sweep).values_list("status", flat=True)) == {"Completed"}
    # the v1 notebook example: its cluster, environment, outputs and registered model
    from studio.execution.models import ComputeTarget, Environment
    from studio.registry.models import ModelVersion

    v1 = runs.get(experiment__name="v1-notebook")
    assert v1.status == RunStatus.COMPLETED and v1.files.filter(name="outputs/weights.npy")
    assert ComputeTarget.objects.get(name="cpu-cluster").provisioning["vm_size"]
    assert Environment.objects.filter(name="sklearn-env").exists()
    assert ModelVersion.objects.get(model__name="logreg-model").version == 1
    _check_the_demo_sweep(runs)
    reader_password = _check_the_demo_views_and_reader(out, admin)
    count = runs.count()

    again = _demo(subprocess_env)
    assert password not in again and reader_password not in again
    assert "changepassword admin" in again
    assert runs.count() == count
    assert SavedView.objects.count() == 2
    _wait_until_every_run_ended(runs, out)  # the live parts, before the database goes

    get_user_model().objects.filter(username="admin").delete()
    fresh = re.search(r"sign in as admin / (\S+)$", _demo(subprocess_env), re.M).group(1)
    assert fresh != password


def _check_the_demo_sweep(runs):
    """60 children (lr x l2 x batch size x 2 seeds) over 2,000 steps, some diverged."""
    from studio.tracking import selectors

    sweep = runs.get(experiment__name="grid-search", parent=None)
    children = runs.filter(parent=sweep)
    assert sweep.status == RunStatus.COMPLETED and children.count() == 60
    statuses = list(children.values_list("status", flat=True))
    assert 0 < statuses.count(RunStatus.FAILED) < statuses.count(RunStatus.COMPLETED)
    configs = {}
    for child in children.prefetch_related("properties", "tags"):
        props = {p.key: p.value for p in child.properties.all()}
        assert set(props) == {"lr", "l2", "batch_size", "seed"}
        config = {t.key: t.value for t in child.tags.all()}["config"]
        assert config == f"lr={props['lr']} l2={props['l2']} bs={props['batch_size']}"
        configs.setdefault(config, set()).add(props["seed"])
    assert len(configs) == 30 and all(seeds == {"1", "2"} for seeds in configs.values())
    done = children.filter(status=RunStatus.COMPLETED).first()
    summaries = {m.name: m for m in selectors.metric_summaries(run=done)}
    assert {"loss", "lr", "val_loss", "val_accuracy"} <= set(summaries)
    assert (summaries["loss"].count, summaries["loss"].last_step) == (2000, 1999)
    assert summaries["val_loss"].count == 40


def _read(run, name: str) -> bytes:
    from studio.tracking import selectors

    return selectors.file_read(run_file=selectors.file_get(run=run, name=name))[0]


def _check_the_demo_jobs(runs):
    """Scripts submitted to the local target: one with outputs and a description, one
    failed with its stderr, one still running; a pipeline of 4 steps still running."""
    jobs = runs.filter(experiment__name="submitted-scripts", parent=None)
    scripts = jobs.filter(type="script")
    trained = scripts.get(status=RunStatus.COMPLETED)
    files = set(trained.files.values_list("name", flat=True))
    assert {"outputs/model.npz", "outputs/plot.png", "outputs/metrics.csv"} <= files
    assert _read(trained, "outputs/plot.png").startswith(b"\x89PNG\r\n\x1a\n")
    assert _read(trained, "outputs/metrics.csv").startswith(b"epoch,loss")
    assert b"epoch   59" in _read(trained, "logs/std_log.txt")
    assert "| setting | value |" in trained.description
    assert "![The loss curve the script drew](outputs/plot.png)" in trained.description
    assert "```chart metric=loss runs=this" in trained.description
    failed = scripts.get(status=RunStatus.FAILED)
    assert failed.error["exit_code"] == 1 and "KeyError: 'tenure'" in failed.error["stderr"]
    assert scripts.get(status=RunStatus.RUNNING).script == "train.py"

    pipeline = jobs.get(type="pipeline")
    assert pipeline.status == RunStatus.RUNNING
    steps = {s.execution.step_name: s for s in runs.filter(parent=pipeline, type="step")}
    assert {n: s.execution.after for n, s in steps.items()} == {
        "prepare-data": [],
        "train-small": ["prepare-data"],
        "train-large": ["prepare-data"],
        "evaluate": ["train-small", "train-large"],
    }
    assert steps["prepare-data"].status == RunStatus.COMPLETED
    assert steps["train-small"].status == steps["train-large"].status == RunStatus.RUNNING
    assert steps["evaluate"].status == RunStatus.NOT_STARTED


def _check_the_demo_views_and_reader(out: str, admin) -> str:
    views = SavedView.objects.filter(workspace__name="default", shared=True, owner=admin)
    assert set(views.values_list("name", flat=True)) == {"Sweep by configuration", "Failed runs"}
    sweep_view = views.get(name="Sweep by configuration")
    assert sweep_view.state["group"] == "tag:config"
    password = re.search(r"reader of 'default': reader / (\S+)$", out, re.M).group(1)
    reader = get_user_model().objects.get(username="reader")
    assert reader.check_password(password) and not reader.is_superuser
    assert Membership.objects.get(user=reader, workspace__name="default").role == Role.READER
    return password


def _wait_until_every_run_ended(runs, out: str, timeout: float = 120) -> None:
    """Every run ended and every process the demo left behind (the live example, the
    jobs' supervisors and the pipeline's driver) gone: none holds the test database."""
    import time

    import psutil

    from studio.execution.models import Execution
    from studio.rules.transitions import TERMINAL

    deadline = time.monotonic() + timeout
    while runs.exclude(status__in=TERMINAL).exists():
        assert time.monotonic() < deadline, list(runs.exclude(status__in=TERMINAL))
        time.sleep(1)
    pids = {int(p) for p in re.findall(r"\(pid (\d+)\)", out)}
    pids |= set(
        Execution.objects.filter(run__in=runs, supervisor_pid__isnull=False).values_list(
            "supervisor_pid", flat=True
        )
    )

    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    while not all(gone(pid) for pid in pids):
        assert time.monotonic() < deadline, [pid for pid in pids if not gone(pid)]
        time.sleep(0.5)
