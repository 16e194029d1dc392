"""Dual-use hashes (a legitimate tool's hash in an advisory) are marked in every output.

AA21-200A's hash list names genuine PuTTY, cmd.exe and svchost.exe: import tags such hashes
``dual-use``, and a person must see it wherever the indicator shows up (import summary, lookup
verdict line, list, hunt), with the rule that decides a hit: judged by location.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from seawall.cli.app import run
from seawall.cli.hunt_view import render_hunt
from seawall.errors import ExitCode
from seawall.model.finding import (
    CoverageEntry,
    Evidence,
    Finding,
    IndicatorRef,
    ResultDocument,
)
from seawall.model.verdict import Verdict
from tests.cli.conftest import JsonRun

CMD_MD5 = "321a50053155122e6ace9691197a8e3f"  # C:\Windows\system32\cmd.exe in xcyclopedia
MARK = "dual-use: judged by location"


def _text(capsys: pytest.CaptureFixture[str], argv: list[str], code: ExitCode) -> str:
    capsys.readouterr()
    assert run(argv) == code
    return capsys.readouterr().out


@pytest.fixture
def case(case_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    listing = tmp_path / "aa21-200a-hashes.txt"
    listing.write_text(f"{CMD_MD5}\nevil-apt.net\n", encoding="utf-8")
    argv = ["--case", str(case_dir)]
    out = _text(capsys, [*argv, "intel", "import", str(listing)], ExitCode.OK)
    assert ", 1 dual-use, " in out
    assert f"{MARK}: md5 {CMD_MD5}: dual-use: the known-good Windows binary cmd.exe" in out
    return argv


def test_lookup_verdict_line_says_dual_use(
    case: list[str], capsys: pytest.CaptureFixture[str], run_json: JsonRun
) -> None:
    out = _text(capsys, [*case, "intel", "lookup", CMD_MD5, "evil-apt.net"], ExitCode.OK)
    lines = out.splitlines()
    (verdict,) = [line for line in lines if CMD_MD5 in line and "malicious" in line]
    assert f"({MARK})" in verdict
    (other,) = [line for line in lines if "evil-apt.net" in line and "malicious" in line]
    assert "dual-use" not in other
    payload = run_json([*case, "intel", "lookup", CMD_MD5, "evil-apt.net"], ExitCode.OK)
    assert [r["dual_use"] for r in payload["results"]] == [True, False]
    assert "judged by location" in payload["results"][0]["reason"]


def test_list_marks_dual_use(
    case: list[str], capsys: pytest.CaptureFixture[str], run_json: JsonRun
) -> None:
    out = _text(capsys, [*case, "intel", "list", "--type", "md5"], ExitCode.OK)
    assert "dual-use: judged" in out and "by location" in out  # the cell wraps at 80 columns
    rows = run_json([*case, "intel", "list"], ExitCode.OK)["indicators"]
    assert {row["value"]: row["dual_use"] for row in rows} == {
        CMD_MD5: True,
        "evil-apt.net": False,
    }
    assert "dual-use" in next(row["tags"] for row in rows if row["value"] == CMD_MD5)


def test_hunt_text_marks_dual_use_findings() -> None:
    indicator = IndicatorRef(type="md5", value=CMD_MD5, tags=["dual-use"])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    finding = Finding(
        finding_id="f1",
        detection_id="ioc.file-hash",
        title="File hash is an indicator",
        summary=r"c:\users\public\cmd.exe: its MD5 is an indicator",
        severity="high",
        score=75,
        host="ws01",
        verdict=Verdict.SUSPICIOUS,
        evidence=[Evidence(row={"path": r"c:\users\public\cmd.exe"}, indicator=indicator)],
    )
    document = ResultDocument(
        run_id="r" * 32,
        seawall_version="test",
        case="case",
        started=now,
        finished=now,
        findings=[finding],
        coverage=[
            CoverageEntry(
                detection_id="ioc.file-hash", status="ran", findings=1, techniques=["T1204.002"]
            )
        ],
    )
    console = Console(width=200, record=True)
    render_hunt(console, document)
    text = console.export_text()
    assert "1 finding on dual-use hashes (legitimate tools the actors used)" in text
    assert f"· {MARK}" in text
