"""``studio run ...``: list, show, update, cancel and download the logs of runs."""

from __future__ import annotations

import argparse
from itertools import islice
from pathlib import Path
from typing import Any

from studio.core import validation
from studio.errors import ValidationError
from studio.sdk import Run
from studio.tracking.storage_names import check_file_name

from .common import bind_run, output_options, scope_options, warn, workspace
from .output import Column, Result, UsageError, jmespath_type, tags_cell, time_cell

LOGS = "logs/"

RUN_COLUMNS = (
    Column("Number", lambda r: r["number"]),
    Column("Experiment", lambda r: r["experiment"]),
    Column("Id", lambda r: r["id"]),
    Column("Display name", lambda r: r["display_name"]),
    Column("Status", lambda r: r["status"]),
    Column("Created", lambda r: time_cell(r["created"])),
    Column("Tags", lambda r: tags_cell(r["tags"])),
)


def _data(run: Run) -> dict[str, Any]:
    # The store's plain dict (tracking.schema.run_to_dict) the Run is bound to; the
    # SDK keeps it current after each change it sends.
    return dict(run._data)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def tag_arg(text: str) -> tuple[str, str | None]:
    """``KEY=VALUE`` (split on the first ``=``) or a bare ``KEY`` for a key-only tag."""
    key, sep, value = text.partition("=")
    return key, (value if sep else None)


# --- handlers ----------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> Result:
    if args.query is not None and args.trailing_query is not None:
        raise UsageError("give the JMESPath query once: --query or a trailing argument")
    # The seed article writes the query as a trailing argument; it means --query.
    args.query = args.query or args.trailing_query
    ws = workspace(args)
    experiment = args.experiment_name
    if experiment is not None:
        validation.experiment_name(experiment)
    rows = ws._store.list_runs(
        ws.name, experiment, include_children=args.include_children, filter=args.filter
    )
    if args.last is not None:
        rows = islice(rows, args.last)
    return Result(list(rows), RUN_COLUMNS)


def run_show(args: argparse.Namespace) -> Result:
    return Result(_data(bind_run(args)), RUN_COLUMNS)


def run_update(args: argparse.Namespace) -> Result:
    add = dict(args.add_tag)
    remove = list(dict.fromkeys(args.remove_tag))
    if not (add or remove or args.description is not None or args.display_name is not None):
        raise UsageError(
            "nothing to update: give --add-tag, --remove-tag, --description or --display-name"
        )
    both = sorted(set(add) & set(remove))
    if both:
        raise UsageError(f"tag {both[0]!r} is both added and removed")
    # Check everything before the first write, so a bad value changes nothing.
    for key, value in add.items():
        validation.key(key, "tag key")
        if value is not None:
            validation.text(value, "tag value", max_length=validation.MAX_TAG_VALUE)
    for key in remove:
        validation.key(key, "tag key")
    if args.display_name is not None:
        validation.text(args.display_name, "display_name", max_length=validation.MAX_DISPLAY_NAME)
    if args.description is not None:
        validation.text(args.description, "description", max_length=validation.MAX_DESCRIPTION)

    run = bind_run(args)
    if args.display_name is not None:
        run.display_name = args.display_name
    if args.description is not None:
        run.description = args.description
    if add:
        run.set_tags(add)
    if remove:
        run.remove_tags(remove)
    return Result(_data(run), RUN_COLUMNS)


def run_cancel(args: argparse.Namespace) -> Result:
    run = bind_run(args)
    run.cancel()
    return Result(_data(run), RUN_COLUMNS)


def _log_target(root: Path, base: Path, name: str) -> Path:
    """Where ``name`` (``logs/...``) goes under ``root``, or a ValidationError if it
    would land anywhere else. The names come from the store, which may be a server:
    they are checked, never trusted."""
    clean = check_file_name(name)
    target = root / clean.removeprefix(LOGS)
    resolved = target.resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise ValidationError(f"The file name {name!r} leads out of {str(root)!r}.", field="name")
    if target.is_dir():
        raise ValidationError(f"{str(target)!r} is a folder.", field="name")
    return target


def run_download_logs(args: argparse.Namespace) -> Result:
    run = bind_run(args)
    root = Path(args.output_dir)
    root.mkdir(parents=True, exist_ok=True)
    base = root.resolve()
    written: list[str] = []
    skipped = 0
    for name in run.get_file_names():
        if not name.startswith(LOGS):
            continue
        try:
            target = _log_target(root, base, name)
        except ValidationError as exc:
            warn(f"skipped {name!r}: {exc.message}")
            skipped += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(run.download_file(name, target))
    return Result(written, exit_code=1 if skipped else 0)


# --- parsers -----------------------------------------------------------------------


def register(groups: argparse._SubParsersAction) -> None:
    run = groups.add_parser("run", help="list, show, update, cancel runs; download their logs")
    commands = run.add_subparsers(dest="command", metavar="COMMAND", required=True)
    scope, output = scope_options(), output_options()
    run_id = argparse.ArgumentParser(add_help=False)
    run_id.add_argument("-r", "--run", "--run-id", dest="run_id", required=True, metavar="RUN_ID")

    p = commands.add_parser(
        "list",
        parents=[scope, output],
        help="runs of an experiment, or of the whole workspace without -e; newest first",
        description="Runs of an experiment (or, without -e, of the whole workspace), "
        "newest first. Top-level runs only unless --include-children.",
    )
    p.add_argument(
        "--filter",
        metavar="EXPR",
        help="filter language, evaluated by the store: \"status = Completed and tags.quality ~ 'great'\"",
    )
    p.add_argument("--include-children", action="store_true", help="child runs too")
    p.add_argument("--last", type=positive_int, metavar="N", help="only the N newest runs")
    p.add_argument(
        "trailing_query",
        nargs="?",
        type=jmespath_type,
        metavar="JMESPATH",
        help="same as --query (the form the Azure ML article uses)",
    )
    p.set_defaults(handler=run_list)

    p = commands.add_parser("show", parents=[run_id, scope, output], help="one run")
    p.set_defaults(handler=run_show)

    p = commands.add_parser(
        "update",
        parents=[run_id, scope, output],
        help="tag, untag, describe or rename a run",
    )
    p.add_argument(
        "--add-tag",
        action="append",
        type=tag_arg,
        default=[],
        metavar="KEY[=VALUE]",
        help="add or change a tag; a bare KEY makes a key-only tag (repeatable)",
    )
    p.add_argument(
        "--remove-tag", action="append", default=[], metavar="KEY", help="remove a tag (repeatable)"
    )
    p.add_argument("--description", metavar="TEXT", help="the run's description (markdown)")
    p.add_argument("--display-name", metavar="TEXT", help="the run's display name")
    p.set_defaults(handler=run_update)

    p = commands.add_parser("cancel", parents=[run_id, scope, output], help="cancel a run")
    p.set_defaults(handler=run_cancel)

    p = commands.add_parser(
        "download-logs",
        parents=[run_id, scope],
        help="download the run's logs/ into a folder",
        description="Download every file under logs/ of the run into DIR, keeping sub-paths; "
        "prints the written paths as JSON. A name that would leave DIR is skipped "
        "(exit status 1).",
    )
    p.add_argument("-o", "--output-dir", required=True, metavar="DIR", help="destination folder")
    p.add_argument("--query", type=jmespath_type, metavar="JMESPATH", help="JMESPath on the list")
    p.set_defaults(handler=run_download_logs, output="json")
