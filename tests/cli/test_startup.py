"""Start-up cost: the CLI's entry module must not load the heavy libraries.

Every command, even ``--version``, used to spend over a second importing lief, pymisp, numpy
and yara-x that most commands never touch. The command modules now import them where they are
used; this test keeps it that way (how long start-up takes is measured by hand with hyperfine,
never asserted in a timed test).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import seawall

HEAVY = ("lief", "pymisp", "numpy", "yara_x")
_SRC = str(Path(seawall.__file__).resolve().parents[1])


def _modules_loaded_by(code: str) -> list[str]:
    probe = (
        f"{code}; import sys; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r}))"
    )
    env = {**os.environ, "PYTHONPATH": _SRC}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    return [line for line in done.stdout.splitlines() if line][-1:]


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _modules_loaded_by("import seawall.cli.app") == ["[]"]


def test_help_and_version_load_no_heavy_library() -> None:
    for argv in (["--help"], ["--version"], ["intel", "--help"], ["hunt", "--help"]):
        code = f"from seawall.cli.app import run; run({argv!r})"
        assert _modules_loaded_by(code) == ["[]"], argv
