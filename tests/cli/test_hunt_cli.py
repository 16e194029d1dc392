"""`seawall hunt` through the real CLI: exit 1 with unsuppressed findings, 0 without."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.cli.app import run
from seawall.errors import ExitCode
from tests.cli.conftest import JsonRun
from tests.detect.helpers import PUTTY_MD5, import_list, place, putty, sweep


def _case(tmp_path: Path, case_dir: Path, relative: str) -> None:
    root = tmp_path / "c"
    place(root, relative, putty())
    sweep(case_dir, root)
    import_list(case_dir, tmp_path / "iocs.txt", [PUTTY_MD5])


def test_findings_exit_1_and_one_json_document(
    tmp_path: Path, case_dir: Path, run_json: JsonRun
) -> None:
    _case(tmp_path, case_dir, "Users/Public/Music/putty.exe")
    document = run_json(
        ["--case", str(case_dir), "hunt", "--detection", "ioc.file-hash"], ExitCode.FINDINGS
    )
    assert document["findings"][0]["verdict"] == "malicious"
    assert document["format"] == 2
    assert document["coverage"][0]["status"] == "ran"
    assert document["technique_coverage"]


def test_suppressed_only_exits_0(tmp_path: Path, case_dir: Path, run_json: JsonRun) -> None:
    _case(tmp_path, case_dir, "Program Files/PuTTY/putty.exe")
    document = run_json(["--case", str(case_dir), "hunt", "--pack", "aa21-200a"], ExitCode.OK)
    assert document["pack"] == "aa21-200a"
    assert document["findings"][0]["suppressed"] is True
    statuses = {e["detection_id"]: e["status"] for e in document["coverage"]}
    assert statuses["ioc.file-hash"] == "ran"
    assert statuses["net.dns-tunnel"] == "not-run"


def test_text_output_has_findings_and_coverage(
    tmp_path: Path, case_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _case(tmp_path, case_dir, "Users/Public/Music/putty.exe")
    assert run(["--case", str(case_dir), "hunt"]) == ExitCode.FINDINGS
    out = capsys.readouterr().out
    assert "Findings" in out and "Coverage" in out and "ioc.file-hash" in out


def test_empty_case_exits_0_and_says_why(case_dir: Path, run_json: JsonRun) -> None:
    document = run_json(["--case", str(case_dir), "hunt"], ExitCode.OK)
    reasons = {e["detection_id"]: e["reason"] for e in document["coverage"]}
    assert "table files is empty" in reasons["ioc.file-hash"]


def test_unknown_detection_is_usage_error(case_dir: Path, run_json: JsonRun) -> None:
    payload = run_json(["--case", str(case_dir), "hunt", "--detection", "no.such"], ExitCode.USAGE)
    assert "no.such" in payload["error"]["message"]


def test_text_output_opens_with_the_summary(
    tmp_path: Path, case_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _case(tmp_path, case_dir, "Users/Public/Music/putty.exe")
    assert run(["--case", str(case_dir), "hunt"]) == ExitCode.FINDINGS
    lines = capsys.readouterr().out.splitlines()
    text = "\n".join(lines)
    summary = text[: text.index("Findings (")]
    assert "2 findings to review" in summary
    assert "by severity: 1 high, 1 medium" in summary
    assert "by detection: 1 host.legit-tool-location, 1 ioc.file-hash" in summary
    assert "1 host touched: ws1 (2)" in summary
    assert "not run: host.disk-growth: table disk is empty" in summary
    assert "not run: ioc.yara: no YARA rules given" in summary
    assert text.index("Findings (") < text.index("Coverage")
    assert lines[-1].startswith("2 findings (2 to review); ")


def test_findings_lists_what_the_hunts_stored(
    tmp_path: Path, case_dir: Path, run_json: JsonRun, capsys: pytest.CaptureFixture[str]
) -> None:
    _case(tmp_path, case_dir, "Users/Public/Music/putty.exe")
    case = ["--case", str(case_dir)]
    hunted = run_json([*case, "hunt"], ExitCode.FINDINGS)
    stored = run_json([*case, "findings"], ExitCode.OK)
    assert stored["count"] == len(hunted["findings"]) == 2
    assert stored["findings"] == hunted["findings"]  # the same documents, in the same order
    high = run_json([*case, "findings", "--severity", "high"], ExitCode.OK)
    assert [f["severity"] for f in high["findings"]] == ["high"]
    mine = run_json([*case, "findings", "--run", hunted["run_id"][:8]], ExitCode.OK)
    assert mine["run"] == hunted["run_id"] and mine["count"] == 2
    bad = run_json([*case, "findings", "--severity", "urgent"], ExitCode.USAGE)
    assert "--severity must be one of" in bad["error"]["message"]
    missing = run_json([*case, "findings", "--run", "ffff"], ExitCode.USAGE)
    assert "no hunt with run id 'ffff'" in missing["error"]["message"]
    capsys.readouterr()
    assert run([*case, "findings"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "2 findings to review" in out and "Findings (2)" in out
