"""``studio server``: bring the database schema up to date, then serve the web studio
and the API. For a team, run it under gunicorn with PostgreSQL (see the README)."""

from __future__ import annotations

import argparse
import os

from .output import Result


def server(args: argparse.Namespace) -> Result:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"Studio is serving at http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    call_command("runserver", f"{args.host}:{args.port}", use_reloader=False)
    return Result({"stopped": True}, exit_code=0)


def register(groups: argparse._SubParsersAction) -> None:
    p = groups.add_parser("server", help="serve the web studio and the API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(handler=server, output="json", query=None)
