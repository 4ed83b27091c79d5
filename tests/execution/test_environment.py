"""What a submitted job sees (docs/requirements.md C7): an allowlisted environment with its
run id and none of the parent's secrets, and its arguments exactly as given."""

from __future__ import annotations

import json

import pytest

from studio.execution.supervisor import ENV_ALLOW
from tests.jobs import wait_terminal

DUMP = """
    import json, os, sys
    from pathlib import Path
    Path("outputs").mkdir(exist_ok=True)
    Path("outputs/seen.json").write_text(json.dumps({"env": dict(os.environ), "argv": sys.argv[1:]}))
"""

SECRETS = {
    "STUDIO_SECRET_KEY": "django-secret-canary",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-canary",
    "AWS_ACCESS_KEY_ID": "AKIACANARY",
    "STUDIO_TOKEN": "stu_token-canary",
    "GITHUB_TOKEN": "ghp_canary",
    "PGPASSWORD": "pg-canary",
}
# What the job is given on top of the allowlist: its run, and its store.
JOB_KEYS = {
    "STUDIO_RUN_ID",
    "STUDIO_WORKSPACE",
    "STUDIO_EXPERIMENT",
    "STUDIO_TRACKING_URI",
    # The local store reaches the database itself (documented); a job that should
    # not, runs through a server instead.
    "DATABASE_URL",
    # What azureml-core's Run.get_context() reads inside a job (studio.compat.azureml):
    # the job's own run, an endpoint and a token for that run only.
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
NASTY = [
    "; rm -rf ~",
    "$(id)",
    "`id`",
    "&& touch pwned",
    "| cat /etc/passwd",
    "*",
    "'q'",
    '"q"',
    "",
]


@pytest.mark.slow
def test_c7_the_job_sees_its_run_id_no_secrets_and_its_arguments_literally(
    submit, source, monkeypatch, tmp_path
):
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    run = submit(source.write("dump.py", DUMP), *NASTY)
    assert wait_terminal(run) == "Completed"
    run.download_file("outputs/seen.json", tmp_path / "seen.json")
    seen = json.loads((tmp_path / "seen.json").read_text())

    env = seen["env"]
    assert env["STUDIO_RUN_ID"] == run.id
    extra = {k for k in env if k not in ENV_ALLOW and k not in JOB_KEYS and not k.startswith("LC_")}
    assert extra == set()
    dump = json.dumps(env)
    for key, value in SECRETS.items():
        assert key not in env
        assert value not in dump
    assert seen["argv"] == NASTY  # never through a shell: nothing expanded or run
