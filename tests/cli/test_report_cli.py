"""`seawall report [RUN]`: a stored hunt as json, jsonl or csv, without hunting again, written
anywhere but into the evidence."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.errors import ExitCode
from seawall.model.finding import FORMAT
from tests.cli.conftest import JsonRun
from tests.detect.helpers import PUTTY_MD5, import_list, place, putty, sweep

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / f"result-document.v{FORMAT}.json"


@pytest.fixture
def hunted(tmp_path: Path, case_dir: Path, run_json: JsonRun) -> tuple[list[str], dict[str, str]]:
    """Two hunts of PuTTY on ws1 (in a standard folder: suppressed; in Public: reported)."""
    root = tmp_path / "evidence"
    place(root, "Users/Public/Music/putty.exe", putty())
    place(root, "Program Files/PuTTY/putty.exe", putty())
    sweep(case_dir, root)
    import_list(case_dir, tmp_path / "iocs.txt", [PUTTY_MD5])
    case = ["--case", str(case_dir)]
    first = run_json([*case, "hunt", "--detection", "ioc.file-hash"], ExitCode.FINDINGS)
    second = run_json([*case, "hunt"], ExitCode.FINDINGS)
    return case, {"first": first["run_id"], "second": second["run_id"], "root": str(root)}


def _stdout(capsys: pytest.CaptureFixture[str], argv: list[str], code: ExitCode) -> str:
    capsys.readouterr()
    assert run(argv) == code
    return capsys.readouterr().out


def test_json_is_the_stored_document_and_valid(
    hunted: tuple[list[str], dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    case, runs = hunted
    latest = json.loads(_stdout(capsys, [*case, "report"], ExitCode.OK))
    assert latest["run_id"] == runs["second"] and latest["format"] == 2
    assert all(not f["suppressed"] for f in latest["findings"])
    full = json.loads(_stdout(capsys, [*case, "report", "--include-suppressed"], ExitCode.OK))
    assert len(full["findings"]) == len(latest["findings"]) + 1
    (standard,) = [f for f in full["findings"] if f["suppressed"]]
    assert standard["suppression"]["kind"] == "judgement" and standard["verdict"] == "benign"
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(full)
    older = json.loads(_stdout(capsys, [*case, "report", runs["first"][:10]], ExitCode.OK))
    assert older["run_id"] == runs["first"]
    assert {f["detection_id"] for f in older["findings"]} == {"ioc.file-hash"}
    schema = _stdout(capsys, [*case, "report", "--schema"], ExitCode.OK)
    assert schema == SCHEMA.read_text(encoding="utf-8")


def test_jsonl_and_csv_to_a_file(
    hunted: tuple[list[str], dict[str, str]],
    tmp_path: Path,
    run_json: JsonRun,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case, runs = hunted
    lines = _stdout(capsys, [*case, "report", "--format", "jsonl"], ExitCode.OK).splitlines()
    records = [json.loads(line) for line in lines]
    # ws1's two findings of two detections are its host story (correlate.host-story)
    assert [r["kind"] for r in records] == ["finding", "finding", "incident"]
    assert {r["detection_id"] for r in records} == {
        "ioc.file-hash",
        "host.legit-tool-location",
        "correlate.host-story",
    }
    out = tmp_path / "out" / "findings.csv"
    written = run_json(
        [*case, "report", "--format", "csv", "--out", str(out), "--include-suppressed"],
        ExitCode.OK,
    )
    assert written == {
        "run_id": runs["second"],
        "format": "csv",
        "out": str(out),
        "replaced": False,
        "findings": 3,
        "incidents": 1,
        "suppressed_left_out": 0,
    }
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["kind"] for r in rows].count("incident") == 1
    rows = [r for r in rows if r["kind"] == "finding"]
    assert len(rows) == 3 and {r["host"] for r in rows} == {"ws1"}
    hashed = [r for r in rows if r["detection"] == "ioc.file-hash"]
    assert {r["verdict"] for r in hashed} == {"malicious", "benign"}
    assert all(r["indicators"] == f"md5:{PUTTY_MD5}" for r in hashed)
    again = run_json([*case, "report", "--format", "csv", "--out", str(out)], ExitCode.OK)
    assert again["replaced"] is True and again["findings"] == 2
    assert again["suppressed_left_out"] == 1
    capsys.readouterr()
    assert run([*case, "report", "--format", "csv", "--out", str(out)]) == ExitCode.OK
    captured = capsys.readouterr()
    assert f"replaced the existing file {out}" in captured.err
    assert (
        "2 findings, 1 incident as csv to" in captured.out
        and "1 suppressed finding left out" in captured.out
    )


def test_never_into_the_evidence_and_other_refusals(
    hunted: tuple[list[str], dict[str, str]], tmp_path: Path, run_json: JsonRun
) -> None:
    case, runs = hunted
    inside = Path(runs["root"]) / "Users" / "report.json"
    refused = run_json([*case, "report", "--out", str(inside)], ExitCode.USAGE)
    assert "which this case collected evidence from" in refused["error"]["message"]
    assert not inside.exists()
    folder = run_json([*case, "report", "--out", str(tmp_path)], ExitCode.USAGE)
    assert "is a directory" in folder["error"]["message"]
    one_document = run_json([*case, "report", "--format", "csv"], ExitCode.USAGE)
    assert "give --out FILE" in one_document["error"]["message"]
    unknown = run_json([*case, "report", "--format", "pdf"], ExitCode.USAGE)
    assert "json, jsonl, csv" in unknown["error"]["message"]
    missing = run_json([*case, "report", "ffffffff"], ExitCode.USAGE)
    assert "no hunt with run id" in missing["error"]["message"]


def test_a_case_without_a_stored_hunt_says_so(case_dir: Path, run_json: JsonRun) -> None:
    CaseStore.open(case_dir).close()
    refused = run_json(["--case", str(case_dir), "report"], ExitCode.USAGE)
    assert "no hunt in this case has stored a result document" in refused["error"]["message"]
