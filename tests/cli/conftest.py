"""Run the ``studio`` command in-process: ``cli("run", "list", ...)`` returns the exit
status, stdout and stderr, with the SDK's local store on the test database."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from studio.cli.main import main


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def json(self):
        assert self.code == 0, self.err
        return json.loads(self.out)


@pytest.fixture
def cli(sdk, capsys):
    def run(*argv: str) -> Outcome:
        capsys.readouterr()  # drop what the test printed before
        code = main(list(argv))
        out, err = capsys.readouterr()
        return Outcome(code, out, err)

    return run


@pytest.fixture
def exp(sdk):
    return sdk.Experiment(workspace=sdk.Workspace.from_config(), name="experiment")
