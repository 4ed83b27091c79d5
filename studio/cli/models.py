"""``studio model list/show/download``: the workspace's registered models."""

from __future__ import annotations

import argparse

from studio.rules import registry as rules
from studio.sdk.model import Model

from .common import output_options, workspace
from .output import Column, Result, time_cell

MODEL_COLUMNS = (
    Column("Name", lambda m: m["name"]),
    Column("Version", lambda m: m["version"]),
    Column("Run", lambda m: m["run_id"] or "-"),
    Column("Files", lambda m: len(m["files"])),
    Column("Registered", lambda m: time_cell(m["created_time"])),
    Column("Description", lambda m: m["description"]),
)


def _filters(values: list[str] | None, what: str) -> list[list[str] | str]:
    """``key`` or ``key=value`` options as v1's filter list."""
    out: list[list[str] | str] = []
    for text in values or ():
        key, value = rules.parse_filter_param(text, what)
        out.append(key if value is None else [key, value])
    return out


def model_list(args: argparse.Namespace) -> Result:
    models = Model.list(
        workspace(args),
        name=args.name,
        tags=_filters(args.tag, "tags"),
        properties=_filters(args.property, "properties"),
        run_id=args.run_id,
        latest=args.latest,
    )
    return Result([m._data for m in models], MODEL_COLUMNS)


def model_show(args: argparse.Namespace) -> Result:
    return Result(Model(workspace(args), args.name, version=args.version)._data)


def model_download(args: argparse.Namespace) -> Result:
    model = Model(workspace(args), args.name, version=args.version)
    path = model.download(target_dir=args.target_dir, exist_ok=args.exist_ok)
    return Result({"id": model.id, "path": path})


def register(groups: argparse._SubParsersAction) -> None:
    model = groups.add_parser("model", help="registered models of a workspace")
    commands = model.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser("list", parents=[output_options()], help="model versions, newest first")
    p.add_argument("-w", "--workspace-name", metavar="WORKSPACE")
    p.add_argument("-n", "--name", help="only this model's versions")
    p.add_argument("--tag", action="append", metavar="KEY[=VALUE]", help="repeatable; all match")
    p.add_argument("--property", action="append", metavar="KEY[=VALUE]", help="repeatable")
    p.add_argument("-r", "--run-id", help="only models registered from this run")
    p.add_argument("--latest", action="store_true", help="only each model's latest version")
    p.set_defaults(handler=model_list)

    for name, handler, text in (
        ("show", model_show, "a model version (default: the latest)"),
        ("download", model_download, "write a model version's files to a folder"),
    ):
        p = commands.add_parser(name, parents=[output_options()], help=text)
        p.add_argument("name", help="the model's name")
        p.add_argument("-w", "--workspace-name", metavar="WORKSPACE")
        p.add_argument("-v", "--version", type=int, help="the version (default: the latest)")
        if name == "download":
            p.add_argument("-d", "--target-dir", default=".", help="folder (default: .)")
            p.add_argument("--exist-ok", action="store_true", help="overwrite existing files")
        p.set_defaults(handler=handler)
