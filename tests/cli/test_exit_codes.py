"""Exit codes as the README states them: each bad input → its exit code → a message that says what.

One table, run through the real entry point. Inputs that must be *unreadable* are run in a child
process without the capabilities that let root read anything (``setpriv``), since the tests run
as root in CI; everything else runs in-process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import seawall
from seawall.cli.app import run
from seawall.errors import ExitCode

_SRC = str(Path(seawall.__file__).resolve().parents[1])
_NO_OVERRIDE = "-dac_override,-dac_read_search"


@dataclass(frozen=True)
class Case:
    """A bad input: how to make it (in ``tmp``), the command, the exit code, the message."""

    name: str
    make: Callable[[Path], list[str]]
    code: ExitCode
    fragment: str
    unreadable: bool = False  # run without root's power to read anything


def _swept(tmp: Path) -> list[str]:
    """A case with one swept file, so that file detections have rows to run on."""
    evidence = tmp / "evidence"
    evidence.mkdir()
    (evidence / "a.txt").write_text("hello\n", encoding="utf-8")
    case = ["--case", str(tmp / "case")]
    assert run([*case, "collect", "files", str(evidence), "--json"]) == ExitCode.OK
    return case


def _bad_yara_rule(tmp: Path) -> list[str]:
    case = _swept(tmp)
    rules = tmp / "rules"
    rules.mkdir()
    (rules / "x.yar").write_text("rule x { condition: bogus }\n", encoding="utf-8")
    return [*case, "hunt", "--detection", "ioc.yara", "--yara", str(rules)]


def _file(tmp: Path, name: str, text: str = "evil.example.net\n", mode: int = 0o644) -> str:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return str(path)


def _locked_dir(tmp: Path) -> str:
    path = tmp / "locked"
    path.mkdir()
    (path / "a.txt").write_text("x", encoding="utf-8")
    path.chmod(0)
    return str(path)


CASES = [
    Case(
        "collect files: missing root",
        lambda t: ["--case", str(t / "c"), "collect", "files", str(t / "nonexistent")],
        ExitCode.BAD_INPUT,
        "nonexistent: cannot sweep: No such file or directory",
    ),
    Case(
        "collect files: unreadable root",
        lambda t: ["--case", str(t / "c"), "collect", "files", _locked_dir(t)],
        ExitCode.BAD_INPUT,
        "locked: cannot sweep: permission denied",
        unreadable=True,
    ),
    Case(
        "hunt: --yara directory missing",
        lambda t: [*_swept(t), "hunt", "--detection", "ioc.yara", "--yara", str(t / "none")],
        ExitCode.INCOMPLETE,
        "INCOMPLETE: 1 detection failed",
    ),
    Case(
        "hunt: a YARA rule that does not compile",
        _bad_yara_rule,
        ExitCode.INCOMPLETE,
        "YARA rule does not compile",
    ),
    Case(
        "--case is a regular file",
        lambda t: ["--case", _file(t, "afile"), "intel", "import", _file(t, "i.txt")],
        ExitCode.USAGE,
        "afile is a file, not a case directory",
    ),
    Case(
        "--case is a regular file (read-only command)",
        lambda t: ["--case", _file(t, "afile"), "case", "info"],
        ExitCode.USAGE,
        "afile is a file, not a case directory",
    ),
    Case(
        "intel import: unreadable file",
        lambda t: ["--case", str(t / "c"), "intel", "import", _file(t, "s.txt", mode=0)],
        ExitCode.BAD_INPUT,
        "s.txt: cannot read: Permission denied",
        unreadable=True,
    ),
    Case(
        "intel import: missing file",
        lambda t: ["--case", str(t / "c"), "intel", "import", str(t / "gone.txt")],
        ExitCode.BAD_INPUT,
        "gone.txt: cannot read: No such file or directory",
    ),
    Case(
        "intel lookup --from-file: unreadable file",
        lambda t: [
            *["--case", str(t / "c"), "intel", "import", _file(t, "i.txt"), "&&"],
            *["--case", str(t / "c"), "intel", "lookup", "--from-file", _file(t, "q", mode=0)],
        ],
        ExitCode.BAD_INPUT,
        "q: cannot read: Permission denied",
        unreadable=True,
    ),
    Case(
        "hunt --locations: unreadable file",
        lambda t: [*_swept(t), "hunt", "--locations", _file(t, "l.yml", "tools: []\n", 0)],
        ExitCode.BAD_INPUT,
        "l.yml: cannot read",
        unreadable=True,
    ),
    Case(
        "hunt --detections: unreadable directory",
        lambda t: [*_swept(t), "hunt", "--detections", _locked_dir(t)],
        ExitCode.BAD_INPUT,
        "locked: cannot read: Permission denied",
        unreadable=True,
    ),
    Case(
        "collect disk --import: unreadable file",
        lambda t: ["--case", str(t / "c"), "collect", "disk", "--import", _file(t, "d.csv", "", 0)],
        ExitCode.BAD_INPUT,
        "d.csv: cannot read: Permission denied",
        unreadable=True,
    ),
    Case(
        "pack validate: missing file",
        lambda t: ["pack", "validate", str(t / "nope.yml")],
        ExitCode.USAGE,
        "nope.yml",
    ),
    Case(
        "an unknown option",
        lambda t: ["--case", str(t / "c"), "intel", "import", "--bogus"],
        ExitCode.USAGE,
        "No such option: --bogus",
    ),
    Case(
        "a read-only command on a case that does not exist",
        lambda t: ["--case", str(t / "none"), "intel", "lookup", "x.example"],
        ExitCode.USAGE,
        "no case at",
    ),
]


def _flat(text: str) -> str:
    """Output as one line: rich wraps long messages at the console's width."""
    return " ".join(text.split())


def _run_in_process(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = run(argv)
    captured = capsys.readouterr()
    return code, _flat(captured.out + captured.err)


def _run_unprivileged(argv: list[str]) -> tuple[int, str]:
    """Run the CLI as root without DAC override (or as is, when not root); ``&&`` chains."""
    setpriv = shutil.which("setpriv")
    prefix: list[str] = []
    if os.geteuid() == 0:
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to drop root's read-anything power")
        prefix = [setpriv, f"--bounding-set={_NO_OVERRIDE}", f"--inh-caps={_NO_OVERRIDE}"]
    env = {**os.environ, "PYTHONPATH": _SRC, "COLUMNS": "200"}
    commands: list[list[str]] = [[]]
    for word in argv:
        if word == "&&":
            commands.append([])
        else:
            commands[-1].append(word)
    code, output = 0, ""
    for command in commands:
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "seawall", *command],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=120,
        )
        code, output = done.returncode, _flat(done.stdout + done.stderr)
    return code, output


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_exit_code_and_message(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = case.make(tmp_path)
    if case.unreadable:
        code, output = _run_unprivileged(argv)
    else:
        code, output = _run_in_process(argv, capsys)
    assert (code, case.fragment in output) == (int(case.code), True), output


def test_a_failed_detection_is_said_first_and_in_json_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _bad_yara_rule(tmp_path)
    code, output = _run_in_process(argv, capsys)
    assert code == ExitCode.INCOMPLETE
    assert "No findings" not in output.split("INCOMPLETE")[0]  # nothing reads clean before it
    assert output.index("INCOMPLETE") < output.index("Coverage")
    capsys.readouterr()
    assert run([*argv, "--json"]) == ExitCode.INCOMPLETE
    assert '"status": "error"' in capsys.readouterr().out
