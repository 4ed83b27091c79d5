"""Pieces every command shares: the parser class, the common options, and binding the
workspace and the run a command names."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from studio.errors import NotFound
from studio.sdk import Run, Workspace

from .output import jmespath_type


class Parser(argparse.ArgumentParser):
    """Usage errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"studio: error: {message} (see '{self.prog} --help')\n")


def output_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("output")
    group.add_argument(
        "-o",
        "--output",
        choices=("json", "table"),
        default="json",
        help="json (default) or an aligned table for people",
    )
    group.add_argument(
        "--query",
        type=jmespath_type,
        metavar="JMESPATH",
        help="JMESPath expression applied to the JSON before it is printed",
    )
    return parent


def scope_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("scope")
    group.add_argument(
        "-w",
        "--workspace-name",
        metavar="WORKSPACE",
        help="workspace (default: the attached folder's, else STUDIO_WORKSPACE, else 'default')",
    )
    group.add_argument("-e", "--experiment-name", metavar="EXPERIMENT", help="experiment")
    return parent


def workspace(args: argparse.Namespace) -> Workspace:
    """The attached folder's workspace (``.studio/config.json`` upward from the cwd),
    or the one ``-w`` names on the same tracking URI."""
    ws = Workspace.from_config()
    name = getattr(args, "workspace_name", None)
    if name and name != ws.name:
        ws = Workspace(name, tracking_uri=ws.tracking_uri)
    return ws


def bind_run(args: argparse.Namespace) -> Run:
    """The run ``-r`` names, checked against ``-w`` and ``-e`` when they are given."""
    run = workspace(args).get_run(args.run_id)
    experiment = getattr(args, "experiment_name", None)
    if experiment and run.experiment.name != experiment:
        raise NotFound(
            f"Run {args.run_id!r} does not exist in experiment {experiment!r}.", field="run_id"
        )
    return run


def warn(message: str) -> None:
    print(f"studio: warning: {message}", file=sys.stderr)
