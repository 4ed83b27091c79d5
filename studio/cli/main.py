"""The ``studio`` command, modelled on ``az ml``; it reaches runs through the SDK only.

Every command prints JSON to stdout (``-o table`` for people), after an optional
``--query`` JMESPath expression. Failures are one line on stderr: exit status 2 for
usage errors, 1 for everything else, never a traceback (``STUDIO_DEBUG=1`` shows it).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from studio.errors import StudioError

from . import compute, experiments, folder, runs, server, worker, workspaces
from . import models as model_commands
from .common import Parser
from .output import UsageError, emit

DEBUG_ENV = "STUDIO_DEBUG"


def build_parser() -> Parser:
    from studio.sdk import VERSION

    parser = Parser(
        prog="studio",
        description="Start, watch, tag, find and cancel training runs.",
        epilog="JSON goes to stdout; -o table prints aligned columns; --query takes JMESPath.",
    )
    parser.add_argument("--version", action="version", version=f"studio {VERSION}")
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    folder.register(groups)
    runs.register(groups)
    experiments.register(groups)
    compute.register(groups)
    model_commands.register(groups)
    server.register(groups)
    worker.register(groups)
    workspaces.register(groups)
    return parser


def _fail(message: str, code: int) -> int:
    lines = str(message).strip().splitlines() or [""]
    print(f"studio: error: {lines[0]}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        result = args.handler(args)
        emit(result, output=args.output, query=args.query, out=sys.stdout)
        sys.stdout.flush()
        return result.exit_code
    except UsageError as exc:
        return _fail(str(exc), 2)
    except StudioError as exc:
        # The filter language adds a caret under the expression: the first line
        # already names the column.
        return _fail(f"{exc.message.strip().splitlines()[0]} [{exc.code}]", 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader (head, less) went away: nothing more to say to it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        what = str(exc).strip().splitlines()
        detail = f": {what[0]}" if what else ""
        return _fail(
            f"unexpected {type(exc).__name__}{detail} (set {DEBUG_ENV}=1 for the traceback)", 1
        )


if __name__ == "__main__":
    sys.exit(main())
