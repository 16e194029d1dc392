"""The result document, version 2: what a SQL detection's special columns make of a finding, the
whole document stored by every hunt and read back, the published JSON Schema, and findings that
version 1 stored."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from seawall.case.store import CaseStore
from seawall.detect.engine import HuntRequest, hunt
from seawall.detect.stored import read_findings, stored_document
from seawall.errors import UsageError
from seawall.model.finding import (
    FORMAT,
    AnalystReview,
    Evidence,
    Finding,
    Incident,
    Provenance,
    ResultDocument,
    Suppression,
    result_schema_text,
)
from seawall.model.reason import Reason
from seawall.model.upgrade import upgrade_finding
from seawall.model.verdict import Review, Verdict

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / f"result-document.v{FORMAT}.json"

AGGREGATE = """\
id: test.disk-hosts
title: Disk snapshots per host
description: One finding per host with every snapshot it was made from.
techniques: [T1074]
severity: low
requires: [disk]
sql: |
  SELECT host, min(time) AS first_seen, max(time) AS last_seen, count(*) AS snapshots,
    format('{} snapshots of {}', count(*), host) AS summary,
    $verdict AS verdict,
    [struct_pack(code := 'disk.snapshots', text := format('{} snapshots', count(*)),
                 mounts := count(DISTINCT mount))] AS reasons,
    count(*) AS reason_snapshots,
    host AS finding_key,
    (list(struct_pack(mount := mount, source_file := source_file, record_ref := record_ref)
          ORDER BY time))[1:1] AS evidence,
    list(struct_pack(source_file := source_file, source_sha256 := source_sha256,
                     record_ref := record_ref) ORDER BY time) AS records
  FROM disk GROUP BY host
parameters: {verdict: malicious}
false_positives: [Every host has snapshots.]
triage: Compare the snapshots.
"""


def _detections(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir(exist_ok=True)
    (folder / "test.disk-hosts.yml").write_text(AGGREGATE, encoding="utf-8")
    return folder


def _add_disk_rows(store: CaseStore) -> None:
    store.con.execute(
        "INSERT INTO disk (time, mount, used_bytes, host, source_file, source_sha256, record_ref)"
        " VALUES ('2026-01-01', '/', 100, 'srv1', 'df.csv', 'ab', 'line 2'),"
        " ('2026-01-02', '/data', 5, 'srv1', 'df.csv', 'ab', 'line 3'),"
        " ('2026-01-03', '/', 7, 'srv1', 'df2.csv', 'cd', 'line 9')"
    )


def _hunt(store: CaseStore, folder: Path, **parameters: Any) -> ResultDocument:
    request = HuntRequest(
        detection_ids=("test.disk-hosts",),
        detection_dirs=(folder,),
        parameters={"test.disk-hosts": parameters} if parameters else {},
    )
    return hunt(store, request)


def _validate(document: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)


def test_the_special_columns_of_an_aggregate(case_dir: Path, tmp_path: Path) -> None:
    with CaseStore.open(case_dir) as store:
        _add_disk_rows(store)
        document = _hunt(store, _detections(tmp_path))
    (finding,) = document.findings
    assert finding.verdict is Verdict.MALICIOUS
    assert finding.reasons == [
        Reason(code="disk.snapshots", text="3 snapshots", data={"mounts": 2, "snapshots": 3})
    ]
    assert finding.description == "One finding per host with every snapshot it was made from."
    assert finding.false_positives == ["Every host has snapshots."]
    assert finding.triage == "Compare the snapshots."
    # One row shown, every record it stands for kept with its provenance.
    row, shown = finding.evidence
    assert row.row == {"snapshots": 3}
    assert [r.record_ref for r in row.records] == ["line 2", "line 3", "line 9"]
    assert row.records[2] == Provenance(
        source_file="df2.csv", source_sha256="cd", record_ref="line 9"
    )
    assert shown.row == {"mount": "/"} and shown.provenance.record_ref == "line 2"
    (attack,) = finding.attack
    assert attack.id == "T1074" and attack.tactics == ["collection"]
    assert attack.versions == {"9.0": "active", "10.1": "active", "18.1": "active"}
    assert document.format == 2 and document.attack_version == "18.1"


def test_a_verdict_that_is_not_one_is_an_error_of_the_detection(
    case_dir: Path, tmp_path: Path
) -> None:
    with CaseStore.open(case_dir) as store:
        _add_disk_rows(store)
        document = _hunt(store, _detections(tmp_path), verdict="legit-ish")
    (entry,) = document.coverage
    assert entry.status == "error" and "verdict 'legit-ish'" in str(entry.reason)


def test_every_hunt_stores_its_whole_document(case_dir: Path, tmp_path: Path) -> None:
    folder = _detections(tmp_path)
    with CaseStore.open(case_dir) as store:
        with pytest.raises(UsageError, match="no hunt in this case has stored"):
            stored_document(store)
        _add_disk_rows(store)
        first = _hunt(store, folder)
        second = _hunt(store, folder, verdict="suspicious")
        assert stored_document(store) == second  # the latest by default
        assert stored_document(store, first.run_id) == first
        rows = store.con.execute(
            "SELECT run_id, format, findings FROM results ORDER BY created_at"
        ).fetchall()
        latest, _ = read_findings(store)
    assert rows == [(first.run_id, 2, 1), (second.run_id, 2, 1)]
    # The findings table keeps the latest finding of each stable id.
    assert [f.verdict for f in latest] == [Verdict.SUSPICIOUS]
    assert first.findings[0].finding_id == second.findings[0].finding_id
    _validate(json.loads(second.model_dump_json()))


def test_the_published_schema_is_the_models_schema() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == result_schema_text(), (
        "the result document's models changed: run"
        " `PYTHONPATH=src python tools/write_result_schema.py` (and raise FORMAT if old"
        " documents no longer validate)"
    )


def test_a_document_with_every_part_validates() -> None:
    when = datetime(2026, 3, 1, 12, 0)
    finding = Finding(
        finding_id="f" * 32,
        detection_id="x.y",
        title="X",
        summary="x",
        severity="high",
        score=80,
        verdict=Verdict.MALICIOUS,
        suppressed=True,
        suppression=Suppression(
            kind="triage", reason="backups", entry="allow.yml:3", applied=when, expires=when
        ),
        review=AnalystReview(
            verdict=Review.FALSE_POSITIVE, reason="the backup job", analyst="ana", at=when
        ),
        reasons=[Reason(code="ioc.match", text="matched", data={"sources": ["a", "b"]})],
        evidence=[Evidence(row={"a": [1, {"b": None}]}, records=[Provenance(record_ref="7")])],
    )
    incident = Incident(
        incident_id="i1",
        title="Web shell to recon",
        summary="s",
        severity="critical",
        score=95,
        finding_ids=[finding.finding_id],
        hosts=["web01"],
    )
    document = ResultDocument(
        run_id="r",
        seawall_version="t",
        case="c",
        started=when,
        finished=when,
        findings=[finding],
        incidents=[incident],
    )
    _validate(json.loads(document.model_dump_json()))
    assert ResultDocument.model_validate_json(document.model_dump_json()) == document
    with pytest.raises(ValueError, match="names its suppression"):
        Finding.model_validate({**finding.model_dump(), "suppression": None})


def test_a_version_1_finding_reads_as_version_2() -> None:
    """As a version-1 hunt stored it (reasons as sentences, the old verdict words)."""
    old = {
        "finding_id": "0" * 32,
        "detection_id": "ioc.file-hash",
        "title": "File hash is an indicator",
        "summary": "c:\\users\\public\\music\\putty.exe: its MD5 is an indicator",
        "severity": "high",
        "score": 75.0,
        "techniques": ["T1036.005"],
        "verdict": "legit-tool-nonstandard-location",
        "suppressed": False,
        "reasons": [
            "its MD5 abc is an indicator; reported by iocs.txt",
            "putty.exe normally lives in %ProgramFiles%\\putty; found in c:\\users\\public\\music",
            "SSH and telnet client",
        ],
        "evidence": [{"row": {"path": "x"}, "provenance": {}, "indicator": None}],
        "attack": [{"id": "T1036.005", "name": "Match", "versions": {"9.0": "active"}}],
    }
    finding = upgrade_finding(old)
    assert finding.verdict is Verdict.SUSPICIOUS and not finding.suppressed
    assert [r.code for r in finding.reasons] == ["match", "location.nonstandard", "match"]
    allowed = upgrade_finding(
        {
            **old,
            "verdict": "allowlisted",
            "suppressed": True,
            "reasons": ["x", "suppressed: allowlisted by /a/allow.yml:2: nightly backups"],
        }
    )
    assert allowed.suppression == Suppression(
        kind="allowlist", reason="nightly backups", entry="/a/allow.yml:2"
    )
    standard = upgrade_finding(
        {
            **old,
            "verdict": "legit-tool-standard-location",
            "suppressed": True,
            "reasons": [
                "putty.exe is in a standard location for it (%ProgramFiles%\\putty)",
                "suppressed: a legitimate tool in its standard location is a false positive",
            ],
        }
    )
    assert standard.verdict is Verdict.BENIGN and standard.suppression is not None
    assert standard.suppression.kind == "judgement"
    assert [r.code for r in standard.reasons] == ["location.standard"]
    assert upgrade_finding(json.loads(standard.model_dump_json())) == standard  # v2 as it is
    odd = upgrade_finding({**old, "verdict": "weird-word"})
    assert odd.verdict is Verdict.SUSPICIOUS and odd.reasons[0].code == "verdict.v1"
