"""``studio folder attach``: tie the current folder to a workspace, as ``az ml folder
attach`` does, so the SDK's ``Workspace.from_config()`` and every ``studio`` command
run in it or below it use that workspace."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from studio.rules import validation
from studio.sdk import Workspace
from studio.sdk.workspace import CONFIG_DIR, CONFIG_FILE

from .common import output_options
from .output import Result

_ABOUT = [
    "A run configuration for `studio run submit-script -c {name} SCRIPT [ARGS...]` (JSON).",
    "script: the entry script, relative to source_directory; a SCRIPT on the command line wins.",
    "arguments: a list of strings passed to the script; ARGS on the command line win.",
    "compute_target: 'local' runs a process on this machine; a pool name (e.g. 'gpu-cluster')",
    "  queues the run for the workers serving that pool (`studio worker --target NAME`).",
    "source_directory: the folder the script runs in, relative to the folder holding .studio/.",
    "Keys starting with '_' are comments.",
]

SAMPLES: dict[str, dict[str, Any]] = {
    "local": {
        "script": "train.py",
        "arguments": [],
        "compute_target": "local",
        "source_directory": ".",
    },
    "sklearn": {
        "script": "train.py",
        "arguments": ["--regularization", "0.5"],
        "compute_target": "local",
        "source_directory": ".",
    },
}


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)


def folder_attach(args: argparse.Namespace) -> Result:
    name = validation.workspace_name(args.workspace_name)
    experiment = args.experiment_name
    if experiment is not None:
        validation.experiment_name(experiment)
    uri = args.tracking_uri or os.environ.get("STUDIO_TRACKING_URI") or "local"
    # Reach the store now: a wrong URI fails here, not at the first run.
    Workspace(name, tracking_uri=uri)
    folder = Path.cwd() / CONFIG_DIR
    folder.mkdir(exist_ok=True)
    config = {"workspace_name": name, "experiment_name": experiment, "tracking_uri": uri}
    _write(folder / CONFIG_FILE, config)
    for sample, settings in SAMPLES.items():
        path = folder / f"{sample}.runconfig"
        if not path.exists():  # the user may have edited it
            _write(path, {"_about": [line.format(name=sample) for line in _ABOUT], **settings})
    return Result(config)


def register(groups: argparse._SubParsersAction) -> None:
    folder = groups.add_parser("folder", help="attach the current folder to a workspace")
    commands = folder.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = commands.add_parser(
        "attach",
        parents=[output_options()],
        help="write .studio/config.json and sample run configs in the current folder",
        description="Write .studio/config.json (workspace, default experiment, tracking URI) "
        "and sample run configs in the current folder. Commands and Workspace.from_config() "
        "run in this folder or below it use that workspace.",
    )
    p.add_argument("-w", "--workspace-name", required=True, metavar="WORKSPACE")
    p.add_argument(
        "-e",
        "--experiment-name",
        metavar="EXPERIMENT",
        help="default experiment for commands that start runs",
    )
    p.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="'local' (default) or the studio's URL; STUDIO_TRACKING_URI overrides it at use",
    )
    p.set_defaults(handler=folder_attach)
