"""``studio workspace create|list|show|rename|archive|delete``."""

from __future__ import annotations

import argparse
import sys

from studio.errors import ValidationError
from studio.sdk.workspace import configured_store

from .common import output_options
from .output import Column, Result, time_cell

WORKSPACE_COLUMNS = (
    Column("Name", lambda w: w["name"]),
    Column("Role", lambda w: w["role"]),
    Column("Archived", lambda w: "yes" if w["archived"] else ""),
    Column("Created", lambda w: time_cell(w["created"])),
)


def _result(data) -> Result:
    return Result(data, WORKSPACE_COLUMNS)


def workspace_list(args: argparse.Namespace) -> Result:
    found = configured_store().list_workspaces()
    return _result([w for w in found if args.all or not w["archived"]])


def workspace_show(args: argparse.Namespace) -> Result:
    return _result(configured_store().get_workspace(args.name))


def workspace_create(args: argparse.Namespace) -> Result:
    return _result(configured_store().create_workspace(args.name))


def workspace_rename(args: argparse.Namespace) -> Result:
    return _result(configured_store().update_workspace(args.name, new_name=args.new_name))


def workspace_archive(args: argparse.Namespace) -> Result:
    return _result(configured_store().update_workspace(args.name, archived=not args.undo))


def workspace_delete(args: argparse.Namespace) -> Result:
    confirm = args.confirm
    if confirm is None:
        if not sys.stdin.isatty():
            raise ValidationError(
                f"Pass --confirm {args.name} to delete the workspace and all its runs.",
                field="confirm",
            )
        confirm = input(f"Type {args.name!r} to delete it with all its runs: ").strip()
    configured_store().delete_workspace(args.name, confirm=confirm)
    return Result({"name": args.name, "deleted": True})


def register(groups: argparse._SubParsersAction) -> None:
    workspace = groups.add_parser("workspace", help="create, rename, archive, delete workspaces")
    commands = workspace.add_subparsers(dest="command", metavar="COMMAND", required=True)
    out = output_options()
    p = commands.add_parser("list", parents=[out], help="your workspaces, by name")
    p.add_argument("--all", action="store_true", help="archived ones too")
    p.set_defaults(handler=workspace_list)
    p = commands.add_parser("show", parents=[out], help="one workspace")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=workspace_show)
    p = commands.add_parser("create", parents=[out], help="a new workspace; you own it")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=workspace_create)
    p = commands.add_parser("rename", parents=[out], help="give a workspace a new name")
    p.add_argument("name", metavar="NAME")
    p.add_argument("new_name", metavar="NEW_NAME")
    p.set_defaults(handler=workspace_rename)
    p = commands.add_parser(
        "archive", parents=[out], help="make a workspace read-only (its runs are kept)"
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--undo", action="store_true", help="unarchive: writable again")
    p.set_defaults(handler=workspace_archive)
    p = commands.add_parser(
        "delete", parents=[out], help="delete a workspace and its runs (owners only)"
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--confirm", metavar="NAME", help="the workspace's name, typed again")
    p.set_defaults(handler=workspace_delete)
