"""Run the real CLI entry point in-process and parse its one JSON document."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from seawall.cli.app import run
from seawall.errors import ExitCode

JsonRun = Callable[[list[str], ExitCode], Any]


@pytest.fixture
def run_json(capsys: pytest.CaptureFixture[str]) -> JsonRun:
    """Run with --json, check the exit code; stdout must hold exactly one JSON document."""

    def invoke(argv: list[str], code: ExitCode) -> Any:
        capsys.readouterr()
        assert run([*argv, "--json"]) == code
        return json.loads(capsys.readouterr().out)  # json.loads refuses a second document

    return invoke
