"""What the benchmarks share: one child process per database backend, each on a
throwaway STUDIO_HOME (and a throwaway PostgreSQL database), and the printing of
figure lines.

Django reads its settings once, at import, so a benchmark cannot switch databases
in-process: the parent re-executes its own script with ``--child`` and the
backend's environment, the child writes its figures as JSON, and the parent prints
them. Nothing here touches the user's ~/.studio or an existing database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"
BENCH_DATABASE = "studio_bench"


# --- parent -------------------------------------------------------------------------


def parse_args(
    description: str,
    extra: Callable[[argparse.ArgumentParser], None],
    database: str = BENCH_DATABASE,
):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL server to also run on (default: BENCH_DATABASE_URL, else "
        f"{DEFAULT_POSTGRES} when reachable). The bench creates and drops its own "
        f"database ({database}) there.",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--child", metavar="RESULTS_JSON", help=argparse.SUPPRESS)
    extra(parser)
    return parser.parse_args()


def _server_urls(url: str, database: str = BENCH_DATABASE) -> tuple[str, str]:
    """(admin URL, bench URL): the admin connection uses the URL's database (or
    ``postgres``); the bench runs in its own database on the same server."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"--postgres takes a postgres:// URL, not {url!r}")
    admin = parts._replace(path=parts.path if parts.path.strip("/") else "/postgres")
    return admin.geturl(), parts._replace(path=f"/{database}").geturl()


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


def _create_database(url: str, database: str = BENCH_DATABASE) -> str:
    admin, bench = _server_urls(url, database)
    # A leftover of an interrupted run is ours to replace.
    _admin(admin, f'DROP DATABASE IF EXISTS "{database}"')
    _admin(admin, f'CREATE DATABASE "{database}"')
    return bench


def _drop_database(url: str, database: str = BENCH_DATABASE) -> None:
    admin, _ = _server_urls(url, database)
    # WITH (FORCE): a server process the bench started and lost may still be connected.
    _admin(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _run_child(script: Path, argv: list[str], database_url: str | None) -> dict | None:
    home = tempfile.mkdtemp(prefix="studio-bench-")
    try:
        # No STUDIO_* of the caller's (tracking URI, workspace, home) leaks in.
        env = {
            k: v
            for k, v in os.environ.items()
            if k != "DATABASE_URL" and not k.startswith("STUDIO_")
        }
        env["STUDIO_HOME"] = home
        env["STUDIO_USER"] = "bench"
        env["DJANGO_SETTINGS_MODULE"] = "studio.settings"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        if database_url:
            env["DATABASE_URL"] = database_url
        results = Path(home) / "results.json"
        # cwd is the empty STUDIO_HOME: no .studio/config.json above it to pick up.
        proc = subprocess.run(
            [sys.executable, str(script), *argv, "--child", str(results)], env=env, cwd=home
        )
        if proc.returncode != 0 or not results.exists():
            return None
        return json.loads(results.read_text())
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _measure(backend, script, argv, database_url, report) -> bool:
    results = _run_child(Path(script).resolve(), argv, database_url)
    if results is None:
        line(backend, "the benchmark process failed (its traceback is above)", "FAILED")
        return False
    return report(backend, results)


def run_backends(
    script: str,
    args,
    argv: list[str],
    report: Callable[[str, dict], bool],
    database: str = BENCH_DATABASE,
) -> int:
    """Run the child on SQLite, then on PostgreSQL when asked for or reachable;
    ``report`` prints one backend's figures and says whether its checks passed.
    ``database`` is the PostgreSQL database the bench creates and drops (one name
    per script, so two benches can run side by side)."""
    ok = _measure("sqlite", script, argv, None, report)
    if args.no_postgres:
        print("[postgresql] skipped (--no-postgres)")
        return 0 if ok else 1
    url = args.postgres or DEFAULT_POSTGRES
    try:
        bench_url = _create_database(url, database)
    except Exception as exc:  # any failure to reach the server or create the database
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if args.postgres:  # asked for by name: not reaching it is a failure
            line("postgresql", f"cannot use {_hide_password(url)}: {reason}", "FAILED")
            return 1
        print(f"[postgresql] skipped: {_hide_password(url)} not reachable ({reason})")
        return 0 if ok else 1
    try:
        ok = _measure("postgresql", script, argv, bench_url, report) and ok
    finally:
        _drop_database(url, database)
    return 0 if ok else 1


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


# --- child --------------------------------------------------------------------------


def setup_child() -> str:
    """Configure Django in the child (migrating the fresh database) and name the
    backend it runs on."""
    sys.path.insert(0, str(ROOT))
    from studio.bootstrap import setup_django

    setup_django()
    from django.db import connection

    return connection.vendor


def write_results(path: str, results: dict) -> None:
    Path(path).write_text(json.dumps(results))


def backend_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            return "SQLite " + cursor.fetchone()[0]
        cursor.execute("show server_version")
        return "PostgreSQL " + cursor.fetchone()[0].split()[0]


# --- printing -----------------------------------------------------------------------


def machine() -> str:
    """Cores and load, printed beside the figures: a busy machine gives lower ones."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load}"


def n(value: float) -> str:
    """1234567 -> 1,234,567."""
    return f"{value:,.0f}"


def line(backend: str, text: str, status: str = "") -> None:
    tail = f"  [{status}]" if status else ""
    print(f"[{backend}] {text}{tail}", flush=True)


def verdict(ok: bool) -> str:
    return "ok" if ok else "FAILED"


def stored_line(backend: str, what: str, r: dict, extra: str = "", ok: bool = True) -> bool:
    """The correctness line after an ingest figure: stored == sent, values intact."""
    ok = ok and r["stored"] == r["sent"] and r["intact"]
    intact = "steps and values intact" if r["intact"] else "steps or values DIFFER"
    line(
        backend,
        f"{what}: stored {n(r['stored'])} of {n(r['sent'])} points, {intact}{extra}",
        verdict(ok),
    )
    return ok
