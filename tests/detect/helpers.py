"""Build small real cases for detection tests: a swept temp tree and imported intel lists."""

from __future__ import annotations

import shutil
from pathlib import Path

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.collect.files import CollectOptions, collect_files
from seawall.collect.paths import parse_root_map
from seawall.errors import ExitCode
from tests.conftest import shared

PUTTY = "putty-0.83/putty.exe"
PUTTY_MD5 = "b71745c9f6c3f461bd89bfd0589746e1"


def putty() -> Path:
    return shared(f"pe/{PUTTY}")


def place(root: Path, relative: str, source: Path) -> Path:
    """Copy ``source`` to ``root/relative`` (the temp tree stands for a mounted C: volume)."""
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def sweep(case_dir: Path, root: Path, host: str = "ws1") -> None:
    """Sweep ``root`` as the C: drive of a Windows host (``--root-map ROOT=C:\\``)."""
    options = CollectOptions(
        host=host, os_name="windows", root_maps=(parse_root_map(f"{root}=C:\\"),)
    )
    with CaseStore.open(case_dir) as store:
        collect_files(store, [str(root)], options)


def import_list(case_dir: Path, path: Path, lines: list[str]) -> None:
    """Import a plain-text indicator list through the real CLI."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run(["--case", str(case_dir), "intel", "import", str(path), "--json"]) == ExitCode.OK
