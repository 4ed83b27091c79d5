"""``studio server``: bring the database schema up to date, collect the static files
(with gzip and brotli variants), then serve the web studio and the API with gunicorn
running uvicorn workers (ASGI: open live event streams hold no thread; see
``asgi_worker``).
``--dev`` serves with Django's development server instead (auto-reload on code changes)."""

from __future__ import annotations

import argparse
import os
import sys

from .output import Result


def _prepare(*, collect: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    if collect:
        call_command("collectstatic", interactive=False, verbosity=0)


def gunicorn_argv(args: argparse.Namespace) -> list[str]:
    """The gunicorn command ``studio server`` becomes (it replaces the process, so
    SIGHUP reloads workers with fresh code and SIGTERM stops them gracefully)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "studio.asgi:application",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        "studio.cli.asgi_worker.StudioWorker",
        "--no-control-socket",
        "--access-logfile",
        "-",
        "--timeout",
        str(args.timeout),
    ]


def server(args: argparse.Namespace) -> Result:
    url = f"http://{args.host}:{args.port}/"
    if args.dev:
        _prepare(collect=False)
        from django.core.management import call_command

        print(f"Studio (development server) is serving at {url} (Ctrl-C stops it)", flush=True)
        call_command("runserver", f"{args.host}:{args.port}", use_reloader=True)
        return Result({"stopped": True}, exit_code=0)
    # Set before Django reads its settings, here and in gunicorn's workers (inherited).
    os.environ["STUDIO_STATIC_COLLECTED"] = "1"
    # Each worker serves requests on a fixed pool of threads (studio/asgi.py), so a
    # thread keeps its database connection from one request to the next: on SQLite a
    # one-point metric POST costs 9 ms of server CPU instead of 16 (issue 16).
    os.environ.setdefault("STUDIO_CONN_MAX_AGE", "600")
    _prepare(collect=True)
    print(f"Studio is serving at {url} with gunicorn (Ctrl-C stops it)", flush=True)
    argv = gunicorn_argv(args)
    os.execv(argv[0], argv)
    raise AssertionError("unreachable")  # pragma: no cover (execv does not return)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(groups: argparse._SubParsersAction) -> None:
    p = groups.add_parser(
        "server",
        help="serve the web studio and the API (gunicorn with uvicorn workers; --dev: Django's "
        "development server)",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=_positive, default=2, help="gunicorn worker processes")
    p.add_argument(
        "--timeout", type=_positive, default=60, help="seconds before a stuck worker is restarted"
    )
    p.add_argument(
        "--dev", action="store_true", help="Django's development server, reloading on code changes"
    )
    p.set_defaults(handler=server, output="json", query=None)
