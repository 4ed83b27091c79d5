"""``studio experiment list``."""

from __future__ import annotations

import argparse

from .common import output_options, workspace
from .output import Column, Result, time_cell

EXPERIMENT_COLUMNS = (
    Column("Name", lambda e: e["name"]),
    Column("Runs", lambda e: e["run_count"]),
    Column("Created", lambda e: time_cell(e["created"])),
    Column("Last activity", lambda e: time_cell(e["last_activity"])),
)


def experiment_list(args: argparse.Namespace) -> Result:
    ws = workspace(args)
    return Result(ws._store.list_experiments(ws.name), EXPERIMENT_COLUMNS)


def register(groups: argparse._SubParsersAction) -> None:
    experiment = groups.add_parser("experiment", help="experiments of a workspace")
    commands = experiment.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = commands.add_parser("list", parents=[output_options()], help="experiments, by name")
    p.add_argument("-w", "--workspace-name", metavar="WORKSPACE")
    p.set_defaults(handler=experiment_list)
