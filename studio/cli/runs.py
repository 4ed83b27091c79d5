"""``studio run ...``: submit scripts, follow their logs, and list, show, update,
cancel, archive, delete (to the trash), restore and download the logs of runs."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from studio.errors import NotFound, ValidationError
from studio.rules import validation
from studio.rules.filenames import LIVE_LOG, LOGS, check_file_name
from studio.rules.runquery import RunQuery
from studio.rules.transitions import COMPLETED, TERMINAL
from studio.sdk import Experiment, Run, ScriptRunConfig
from studio.sdk.workspace import CONFIG_DIR, find_config

from .common import bind_run, output_options, scope_options, warn, workspace
from .output import Column, Result, UsageError, jmespath_type, tags_cell, time_cell

RUNCONFIG_SUFFIX = ".runconfig"
RUNCONFIG_KEYS = {"script", "arguments", "compute_target", "source_directory"}
FOLLOW_EVERY = 0.5  # seconds between two looks at a followed run

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
    if args.view is not None:
        if args.filter is not None or args.include_children or args.sort is not None:
            raise UsageError("--view holds the filters: give --view without --filter")
        rows = ws._store.list_view_runs(ws.name, args.view, experiment, limit=args.last)
    else:
        query = RunQuery.of(
            experiment=experiment,
            include_children=args.include_children,
            filter=args.filter,
            sort=args.sort,
        )
        rows = ws._store.list_runs(ws.name, query, limit=args.last)
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


def run_archive(args: argparse.Namespace) -> Result:
    run = bind_run(args)
    if args.undo:
        run.unarchive()
    else:
        run.archive()
    return Result(_data(run), RUN_COLUMNS)


def run_delete(args: argparse.Namespace) -> Result:
    run = bind_run(args)
    run.delete()
    return Result({**_data(run), "deleted": True}, RUN_COLUMNS)


def run_restore(args: argparse.Namespace) -> Result:
    # A trashed run cannot be bound (it is gone from every read): the store restores it.
    ws = workspace(args)
    return Result(ws._store.restore_run(args.run_id), RUN_COLUMNS)


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


def _runconfig_path(name: str) -> Path:
    """``-c NAME``: a file path, else ``NAME.runconfig`` in the attached folder's
    ``.studio/`` (as ``studio folder attach`` writes them)."""
    given = Path(name)
    if given.is_file():
        return given
    config = find_config()
    if config is not None and "/" not in name:
        file_name = name if name.endswith(RUNCONFIG_SUFFIX) else name + RUNCONFIG_SUFFIX
        candidate = config.parent / file_name
        if candidate.is_file():
            return candidate
    where = f"in {config.parent}" if config is not None else "(no attached folder found)"
    raise UsageError(f"no run configuration {name!r}: not a file, and no {name}.runconfig {where}")


def _read_runconfig(path: Path) -> tuple[dict[str, Any], Path]:
    """The settings of a run configuration file, and the folder its
    ``source_directory`` is relative to: the one holding ``.studio/`` for a file in
    there, else the file's own folder."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the run configuration {str(path)!r}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"the run configuration {str(path)!r} must be a JSON object")
    settings = {k: v for k, v in data.items() if not k.startswith("_")}
    unknown = sorted(set(settings) - RUNCONFIG_KEYS)
    if unknown:
        raise UsageError(
            f"unknown key {unknown[0]!r} in {str(path)!r} "
            f"(known: {', '.join(sorted(RUNCONFIG_KEYS))})"
        )
    for key in ("script", "compute_target", "source_directory"):
        if key in settings and not isinstance(settings[key], str):
            raise UsageError(f"{key!r} in {str(path)!r} must be a string")
    if "arguments" in settings and not isinstance(settings["arguments"], list):
        raise UsageError(f"'arguments' in {str(path)!r} must be a list")
    folder = path.resolve().parent
    base = folder.parent if folder.name == CONFIG_DIR else folder
    return settings, base


def run_submit_script(args: argparse.Namespace) -> Result:
    command = list(args.script_command)
    if command[:1] == ["--"]:  # ends studio's options; any later "--" is the script's
        command = command[1:]
    settings: dict[str, Any] = {}
    source = Path.cwd()
    if args.runconfig:
        settings, base = _read_runconfig(_runconfig_path(args.runconfig))
        source = base / settings.get("source_directory", ".")
    script = command[0] if command else settings.get("script")
    if not script:
        raise UsageError("give the SCRIPT to run (or a run configuration that names one)")
    # ARGS on the command line replace the run configuration's, and reach the
    # script exactly as typed: a list, never a shell line.
    arguments = command[1:] if len(command) > 1 else settings.get("arguments", [])
    target = args.target or settings.get("compute_target") or "local"

    ws = workspace(args)
    experiment = args.experiment_name or ws.experiment_name
    if not experiment:
        raise UsageError("give the experiment: -e EXPERIMENT (or attach the folder with -e)")
    config = ScriptRunConfig(
        source_directory=str(source), script=script, arguments=arguments, compute_target=target
    )
    run = Experiment(ws, experiment).submit(config)
    return Result(_data(run), RUN_COLUMNS)


def follow_log(run: Run, out: TextIO, every: float = FOLLOW_EVERY) -> str:
    """Write the run's live log to ``out`` line by line as it grows, until the run
    ends; return its final status. The status is read before the log each time: once
    it is final, the log read after it is complete (the supervisor closes the log
    before it finalises the run)."""
    store = run._store
    offset = 0
    pending = b""
    while True:
        status = run.get_status()
        while True:
            try:
                chunk, size = store.read_file(run.id, LIVE_LOG, offset)
            except NotFound:
                break  # no log yet (or not a submitted run)
            if not chunk:
                break
            offset += len(chunk)
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                out.write(line.decode("utf-8", "replace") + "\n")
            out.flush()
            if offset >= size:
                break
        if status in TERMINAL:
            break
        time.sleep(every)
    if pending:
        out.write(pending.decode("utf-8", "replace") + "\n")
        out.flush()
    return status


def run_monitor_logs(args: argparse.Namespace) -> Result:
    run = bind_run(args)
    status = follow_log(run, sys.stdout)
    error = run._data.get("error") or {}
    reason = f": {error['message']}" if error.get("message") else ""
    print(f"studio: run {run.id} ended {status}{reason}", file=sys.stderr)
    return Result(None, exit_code=0 if status == COMPLETED else 1, printed=True)


# --- parsers -----------------------------------------------------------------------


def register(groups: argparse._SubParsersAction) -> None:
    run = groups.add_parser(
        "run", help="submit, follow, list, show, update, cancel runs; download their logs"
    )
    commands = run.add_subparsers(dest="command", metavar="COMMAND", required=True)
    scope, output = scope_options(), output_options()
    run_id = argparse.ArgumentParser(add_help=False)
    run_id.add_argument("-r", "--run", "--run-id", dest="run_id", required=True, metavar="RUN_ID")

    p = commands.add_parser(
        "submit-script",
        parents=[scope, output],
        usage="studio run submit-script [-e EXPERIMENT] [-c RUNCONFIG] [--target NAME] "
        "[-w WORKSPACE] SCRIPT [ARGS...]",
        help="run a script of this folder under a supervisor (local) or on a compute target",
        description="Submit SCRIPT (a path inside the source directory: the current folder, "
        "or the run configuration's source_directory) as a run of type script and print "
        "the new run. Everything after SCRIPT goes to the script unchanged, as a list "
        "(never through a shell), so studio's options come before SCRIPT.",
    )
    p.add_argument(
        "-c",
        "--run-configuration-name",
        dest="runconfig",
        metavar="RUNCONFIG",
        help="a .runconfig file, or NAME for .studio/NAME.runconfig of the attached folder",
    )
    p.add_argument(
        "--target",
        metavar="NAME",
        help="compute target: 'local' (default) or a pool served by 'studio worker'",
    )
    p.add_argument("script_command", nargs=argparse.REMAINDER, metavar="SCRIPT [ARGS...]")
    p.set_defaults(handler=run_submit_script)

    p = commands.add_parser(
        "monitor-logs",
        parents=[run_id, scope],
        help="follow the run's log until it ends",
        description="Print the run's live log (logs/std_log.txt) as it grows, until the run "
        "ends. Exit status 0 if it Completed, 1 otherwise.",
    )
    p.set_defaults(handler=run_monitor_logs, output="json", query=None)

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
    p.add_argument(
        "--sort",
        metavar="KEY",
        help="a column key of the studio's list, '-' for descending: name, -metric:min:loss",
    )
    p.add_argument(
        "--view",
        metavar="NAME",
        help="a saved view of the studio (yours, else a shared one): its filters and sort",
    )
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
        "archive",
        parents=[run_id, scope, output],
        help="leave a run (and its children) out of lists; --undo puts it back",
    )
    p.add_argument("--undo", action="store_true", help="unarchive")
    p.set_defaults(handler=run_archive)

    p = commands.add_parser(
        "delete",
        parents=[run_id, scope, output],
        help="move a finished run (and its children) to the workspace's trash",
        description="Move the run and the runs below it to the workspace's trash: gone from "
        "every list and read, restored with `studio run restore` within 30 days, then "
        "deleted for good with their files. Refused while one of them is still going.",
    )
    p.set_defaults(handler=run_delete)

    p = commands.add_parser(
        "restore", parents=[run_id, scope, output], help="bring a run back from the trash"
    )
    p.set_defaults(handler=run_restore)

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
