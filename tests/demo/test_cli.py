"""`seawall demo` refuses what it must not touch, with the exit codes the README states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seawall.cli.app import run


def test_a_folder_with_other_files_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "thesis.docx").write_bytes(b"mine")
    assert run(["demo", "--out", str(tmp_path), "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert "did not write" in error["message"]
    assert (tmp_path / "thesis.docx").read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.docx"]


def test_scale_below_one_is_a_usage_error(tmp_path: Path) -> None:
    assert run(["demo", "--out", str(tmp_path / "d"), "--scale", "0"]) == 2
    assert not (tmp_path / "d").exists()
