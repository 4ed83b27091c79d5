"""What a job run by a worker can reach (issue 9, items 1 and 9a): the studio over
its API with a token for its own run and that run's children, revoked when the run
ends; not the database, the server's STUDIO_HOME, its secret key or the worker's
environment; nothing outside its outputs/ through the output collector; with
``--run-as``, none of the worker's files either. Every attack runs for real: a
worker process, a supervisor, a job."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from studio.execution.supervisor import ENV_ALLOW
from tests.conftest import PYTHON, ROOT
from tests.figures import report
from tests.jobs import wait_terminal

pytestmark = pytest.mark.slow

TARGET = "reach"
WORKER_SECRETS = {
    "STUDIO_SECRET_KEY": "django-secret-canary",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-canary",
    "WORKER_ONLY_SETTING": "worker-canary",
    "PGPASSWORD": "pg-canary",
}

DUMP = """
    import json, os, sys
    from pathlib import Path
    Path("outputs/seen.json").write_text(json.dumps({"env": dict(os.environ), "cwd": os.getcwd()}))
"""


def outputs_of(run, tmp_path: Path, name: str) -> dict:
    run.download_file(f"outputs/{name}", tmp_path / name)
    return json.loads((tmp_path / name).read_text())


def test_a_job_run_by_a_worker_sees_no_database_url_studio_home_secret_key_or_worker_environment(
    submit, source, start_worker, live_server, tmp_path
):
    start_worker(TARGET, env=WORKER_SECRETS)
    run = submit(source.write("dump.py", DUMP), target=TARGET)
    assert wait_terminal(run) == "Completed"
    seen = outputs_of(run, tmp_path, "seen.json")

    env, home = seen["env"], os.environ["STUDIO_HOME"]
    key = (Path(home) / "secret_key").read_text().strip()
    dump = json.dumps(seen)
    assert "DATABASE_URL" not in env
    assert home not in dump  # neither STUDIO_HOME nor a path below it, cwd included
    assert key not in dump
    for name, value in WORKER_SECRETS.items():
        assert name not in env
        assert value not in dump
    assert env["STUDIO_TRACKING_URI"] == live_server.url
    assert env["STUDIO_TOKEN"].startswith("stu_")
    assert env["STUDIO_HOME"].startswith(seen["cwd"])  # its spool is its own
    given = {"STUDIO_RUN_ID", "STUDIO_WORKSPACE", "STUDIO_EXPERIMENT", "STUDIO_TRACKING_URI"}
    given |= {"STUDIO_TOKEN"}
    # What azureml-core's Run.get_context() reads (studio.compat.azureml.jobenv): the
    # studio's endpoint and a JWT of the job's own token, never the expiry variable.
    azureml = {k for k in env if k.startswith("AZUREML_")}
    assert azureml == {
        "AZUREML_RUN_ID",
        "AZUREML_RUN_TOKEN",
        "AZUREML_SERVICE_ENDPOINT",
        "AZUREML_DISCOVERY_SERVICE_ENDPOINT",
        "AZUREML_ARM_SUBSCRIPTION",
        "AZUREML_ARM_RESOURCEGROUP",
        "AZUREML_ARM_WORKSPACE_NAME",
        "AZUREML_ARM_PROJECT_NAME",
        "AZUREML_EXPERIMENT_ID",
    }
    assert env["AZUREML_SERVICE_ENDPOINT"] == f"{live_server.url}/azureml"
    assert env["AZUREML_RUN_ID"] == run.id
    given |= azureml
    assert {k for k in env if k not in ENV_ALLOW | given and not k.startswith("LC_")} == set()
    from studio.tracking.models import Run

    record = Run.objects.get(run_id=run.id)
    to_running = (record.started_at - record.created_at).total_seconds()
    report(
        f"job by a worker | submit->Running {to_running:.2f} s (token minted, worker poll 1 s)"
        f" | {len(env)} variables: {' '.join(sorted(env))}"
    )


# Reads its own run, a child it makes, another run and another workspace with the
# token it was given; keeps the token for the test to try once the run has ended.
PROBE = """
    import json, os, sys
    import httpx
    from studio.sdk import Run

    api = os.environ["STUDIO_TRACKING_URI"] + "/api/v1"
    headers = {"Authorization": "Bearer " + os.environ["STUDIO_TOKEN"]}
    run = Run.get_context()
    with run.child_run() as child:
        child.log("depth", 1)

    def status(method, path, **kw):
        return httpx.request(method, api + path, headers=headers, **kw).status_code

    seen = {
        "token": os.environ["STUDIO_TOKEN"],
        "own run": status("GET", "/runs/" + run.id),
        "own child": status("GET", "/runs/" + child.id),
        "another run": status("GET", "/runs/" + sys.argv[1]),
        "another workspace": status("GET", "/workspaces/other-team"),
        "a run of its own choosing": status(
            "POST", "/workspaces/default/runs", json={"experiment": "x", "type": "interactive"}
        ),
    }
    open("outputs/probe.json", "w").write(json.dumps(seen))
"""


def test_a_job_token_reaches_its_run_and_children_only_and_dies_with_the_run(
    submit, source, start_worker, live_server, tmp_path, jobs, exp
):
    from studio.accounts.models import ApiToken
    from studio.tracking import services

    services.workspace_get_or_create(name="other-team")
    neighbour = exp.start_logging()
    neighbour.complete()
    start_worker(TARGET)
    run = submit(source.write("probe.py", PROBE), neighbour.id, target=TARGET)
    assert wait_terminal(run) == "Completed", run.get_details()
    probe = outputs_of(run, tmp_path, "probe.json")

    assert probe["own run"] == 200
    assert probe["own child"] == 200
    assert probe["another run"] == 404
    assert probe["another workspace"] == 404
    assert probe["a run of its own choosing"] == 403
    [child] = run.get_children()
    assert child.get_metrics() == {"depth": 1}
    token = ApiToken.objects.get(run__run_id=run.id)
    assert token.revoked_at is not None
    after = httpx.get(
        f"{live_server.url}/api/v1/runs/{run.id}",
        headers={"Authorization": f"Bearer {probe['token']}"},
    )
    assert after.status_code == 401


# A hard link to the server's secret key, a symlink to it, a link to STUDIO_HOME, a
# FIFO (collecting it would block) and a device, beside one honest file.
PLANT = """
    import os, stat, sys
    key, home = sys.argv[1], sys.argv[2]
    os.makedirs("outputs/deep")
    os.link(key, "outputs/key-hardlink")
    os.symlink(key, "outputs/key-symlink")
    os.symlink(home, "outputs/home")
    os.mkfifo("outputs/deep/fifo")
    os.mknod("outputs/null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    open("outputs/deep/result.txt", "w").write("honest output")
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_links_fifos_and_devices_planted_in_outputs_are_not_collected(
    submit, source, start_worker, tmp_path
):
    home = os.environ["STUDIO_HOME"]
    key = Path(home) / "secret_key"
    start_worker(TARGET)
    run = submit(source.write("plant.py", PLANT), key, home, target=TARGET)

    assert wait_terminal(run) == "Completed", run.get_details()
    outputs = [n for n in run.get_file_names() if n.startswith("outputs/")]
    assert outputs == ["outputs/deep/result.txt"]
    run.download_file("outputs/deep/result.txt", tmp_path / "result.txt")
    assert (tmp_path / "result.txt").read_text() == "honest output"
    assert key.stat().st_nlink == 1  # the job's hard link went with its working copy


def test_studio_home_is_created_0700_and_its_sqlite_files_0600_whatever_the_umask(tmp_path):
    home = tmp_path / "fresh-home"
    script = (
        "import json, os\n"
        "from studio.bootstrap import setup_django\n"
        "setup_django()\n"
        "from django.db import connection\n"
        "from studio.tracking import services\n"
        "services.workspace_get_or_create(name='perm')\n"
        "home = os.environ['STUDIO_HOME']\n"
        "names = ['', 'secret_key', 'studio.sqlite3', 'studio.sqlite3-wal', 'studio.sqlite3-shm']\n"
        "print(json.dumps({n: oct(os.stat(os.path.join(home, n)).st_mode & 0o777) for n in names}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STUDIO_SECRET_KEY")}
    done = subprocess.run(
        [PYTHON, "-c", script],
        env={**env, "STUDIO_HOME": str(home), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        umask=0,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "": "0o700",
        "secret_key": "0o600",
        "studio.sqlite3": "0o600",
        "studio.sqlite3-wal": "0o600",
        "studio.sqlite3-shm": "0o600",
    }


# Run as another OS user, the job cannot open what its supervisor and worker own.
AS_NOBODY = """
    import json, os, sys
    from studio.sdk import Run

    def readable(path):
        try:
            open(path, "rb").read(1)
            return True
        except OSError:
            return False

    home, database = sys.argv[1], sys.argv[2]
    Run.get_context().log("uid", os.getuid())
    seen = {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "secret key": readable(os.path.join(home, "secret_key")),
        "database": readable(database),
        "supervisor environment": readable(f"/proc/{os.getppid()}/environ"),
    }
    open("outputs/nobody.json", "w").write(json.dumps(seen))
"""


def _nobody_runs_python() -> bool:
    """Whether user nobody can start this interpreter (not if it lives under a home
    only root may enter, as pyenv's under /root does)."""
    if os.geteuid() != 0:
        return False
    try:
        subprocess.run([PYTHON, "-c", "pass"], user="nobody", check=True, capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError):
        return False


NOBODY_RUNS_PYTHON = _nobody_runs_python()


@pytest.mark.skipif(not NOBODY_RUNS_PYTHON, reason="needs root, and a Python nobody may run")
def test_a_job_run_as_nobody_cannot_read_the_key_the_database_or_its_supervisor_environment(
    submit, source, start_worker, tmp_path
):
    import pwd

    from django.db import connection

    nobody = pwd.getpwnam("nobody")
    database = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite":
        database = os.path.join(os.environ["STUDIO_HOME"], "studio.sqlite3")
    start_worker(TARGET, "--run-as", "nobody")
    run = submit(
        source.write("nobody.py", AS_NOBODY), os.environ["STUDIO_HOME"], database, target=TARGET
    )

    assert wait_terminal(run) == "Completed", run.get_details()["error"]
    assert outputs_of(run, tmp_path, "nobody.json") == {
        "uid": nobody.pw_uid,
        "gid": nobody.pw_gid,
        "secret key": False,
        "database": False,
        "supervisor environment": False,
    }
    assert run.get_metrics() == {"uid": nobody.pw_uid}


@pytest.mark.skipif(
    os.geteuid() != 0 or NOBODY_RUNS_PYTHON, reason="the test above shows more where it runs"
)
def test_a_job_run_as_nobody_is_started_with_nobodys_rights_not_the_workers(
    submit, source, start_worker
):
    # Root may run this interpreter; nobody may not (it lives under /root): the job
    # being refused it shows it was started as nobody, and the run says so.
    start_worker(TARGET, "--run-as", "nobody")
    run = submit(source.write("hello.py", "print('hello')"), target=TARGET)

    assert wait_terminal(run) == "Failed"
    error = run.get_details()["error"]
    assert error["code"] == "start_failed"
    assert "Permission denied" in error["message"]


def worker_command(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("STUDIO_SERVER_URL", None)
    return subprocess.run(
        [PYTHON, "-m", "studio", "worker", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_worker_without_a_workspace_is_a_usage_error_naming_the_flag():
    done = worker_command("--target", "gpu", "--server", "http://127.0.0.1:8000")
    assert done.returncode == 2
    assert "-w/--workspace-name" in done.stderr


def test_a_worker_without_a_server_url_is_a_usage_error_naming_the_flag():
    done = worker_command("--target", "gpu", "-w", "default")
    assert done.returncode == 2
    assert "--server URL (or STUDIO_SERVER_URL) is required" in done.stderr


def test_run_as_is_refused_when_the_worker_is_not_root(monkeypatch, capsys):
    from studio.cli.main import main

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    args = ["--target", "gpu", "-w", "default", "--server", "http://127.0.0.1:8000"]
    assert main(["worker", *args, "--run-as", "nobody"]) == 2
    assert "--run-as nobody needs the worker to run as root" in capsys.readouterr().err
