"""Database settings that concurrency depends on (docs/requirements.md F1)."""

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite settings")
def test_sqlite_uses_wal_immediate_transactions_and_a_busy_timeout(db):
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 20
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


def test_there_is_no_shared_secret_key_default():
    assert settings.SECRET_KEY
    assert "insecure" not in settings.SECRET_KEY


def test_mail_is_configured_from_studio_email_settings_only(tmp_path):
    """No STUDIO_EMAIL_*: no mailer (links are shown to copy); with them, Django's
    MAILERS["default"] is the SMTP server they name."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps(getattr(settings, 'MAILERS', None)))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_EMAIL_")}
    base |= {"DJANGO_SETTINGS_MODULE": "studio.settings", "STUDIO_HOME": str(tmp_path)}

    def mailers(**env):
        out = subprocess.run(
            [sys.executable, "-c", code], env=base | env, capture_output=True, text=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert mailers() is None
    configured = mailers(STUDIO_EMAIL_HOST="smtp.example.com", STUDIO_EMAIL_PORT="587")
    assert configured["default"]["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert configured["default"]["OPTIONS"]["host"] == "smtp.example.com"
    assert configured["default"]["OPTIONS"]["port"] == 587


def test_the_readmes_deployment_guide_names_only_variables_and_commands_that_exist():
    """Every STUDIO_* variable of "Serving a team" is read somewhere in studio/, and
    every ``manage.py`` command it names is one of ours."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    guide = readme.split("## Serving a team", 1)[1].split("\n## ", 1)[0]
    code = "\n".join(p.read_text() for p in (root / "studio").rglob("*.py"))
    named = set(re.findall(r"\bSTUDIO_[A-Z0-9_]+\b", guide))
    assert {"STUDIO_SECURE_COOKIES", "STUDIO_TOKEN", "STUDIO_SERVER_URL"} <= named
    assert sorted(v for v in named if f'"{v}"' not in code) == []
    commands = set(re.findall(r"manage\.py (\w+)", guide))
    ours = {p.stem for p in root.glob("studio/*/management/commands/*.py")}
    assert commands and commands <= ours | {"migrate"}


def test_connections_persist_only_when_studio_conn_max_age_says_so(tmp_path):
    """``studio server`` sets STUDIO_CONN_MAX_AGE (its threads are reused); anything
    else (the SDK, the CLI, workers, tests) opens a connection per request, on
    SQLite as on PostgreSQL, where a kept connection is checked before reuse."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "d = settings.DATABASES['default'];"
        "print(json.dumps([d['CONN_MAX_AGE'], d.get('CONN_HEALTH_CHECKS', False)]))"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("STUDIO_CONN_MAX_AGE",)}
    base |= {"DJANGO_SETTINGS_MODULE": "studio.settings", "STUDIO_HOME": str(tmp_path)}

    def setting(**env):
        out = subprocess.run(
            [sys.executable, "-c", code], env=base | env, capture_output=True, text=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    sqlite = {k: v for k, v in base.items() if k != "DATABASE_URL"}
    pg = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nowhere"}
    assert setting(**pg) == [0, True]
    assert setting(**pg, STUDIO_CONN_MAX_AGE="600") == [600, True]
    out = subprocess.run(
        [sys.executable, "-c", code], env=sqlite | {"STUDIO_CONN_MAX_AGE": "600"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert json.loads(out.stdout.strip().splitlines()[-1])[0] == 600
    out = subprocess.run([sys.executable, "-c", code], env=sqlite, capture_output=True, text=True)
    assert json.loads(out.stdout.strip().splitlines()[-1])[0] == 0


def test_prepared_statements_are_on_unless_studio_pg_prepared_says_0(tmp_path):
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "o = settings.DATABASES['default'].get('OPTIONS', {});"
        "print(json.dumps([settings.STUDIO_PG_PREPARED, o.get('server_side_binding')]))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_PG")}
    base |= {"DJANGO_SETTINGS_MODULE": "studio.settings", "STUDIO_HOME": str(tmp_path)}
    pg = base | {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nowhere"}

    def options(env):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    # Django's own cursors keep binding on the client (any number of parameters).
    assert options(pg) == [True, None]
    assert options(pg | {"STUDIO_PG_PREPARED": "0"}) == [False, None]
