"""The detection engine: the shipped corpus, coverage that never hides a zero, idempotent hunts."""

from __future__ import annotations

import itertools
from importlib import resources
from pathlib import Path

import pytest

from seawall.case.store import CaseStore
from seawall.detect.analytics import registry
from seawall.detect.engine import HuntRequest, hunt
from seawall.detect.schema import parse_detection, shipped_detections
from seawall.errors import BadInputError, UsageError
from seawall.intel.attack import CURRENT_VERSION, AttackKB

VALID = """\
id: test.disk-rows
title: Disk rows
description: Every disk row above a threshold.
techniques: [T1074]
severity: low
requires: [disk]
sql: |
  SELECT host, time AS first_seen, time AS last_seen, mount, source_file, record_ref,
         'used ' || used_bytes || ' bytes' AS summary
  FROM disk WHERE used_bytes >= $min_used
parameters: {min_used: 10}
false_positives: []
triage: look at it
"""


def test_shipped_corpus_is_valid_and_unique() -> None:
    loaded = shipped_detections()
    assert loaded, "no shipped detections"
    ids = [item.detection.id for item in loaded]
    assert len(ids) == len(set(ids))
    # AA21-200A's pack is written against ATT&CK 9.0: ids must be valid then and now.
    kbs = [AttackKB.load(version) for version in ("9.0", CURRENT_VERSION)]
    analytics = registry()
    for item in loaded:
        detection = item.detection
        assert detection.triage and detection.false_positives is not None
        for technique, kb in itertools.product(detection.techniques, kbs):
            found = kb.find_technique(technique)
            assert found is not None and found.status == "active", (item.origin, technique)
        if detection.python is not None:
            assert detection.python in analytics, item.origin
        assert Path(item.origin).stem == detection.id, "file name must be the detection id"


def test_schema_errors_name_file_and_line() -> None:
    bad = VALID.replace("severity: low", "severity: urgent")
    with pytest.raises(BadInputError) as caught:
        parse_detection(bad, "x.yml")
    assert caught.value.location == "x.yml:5"
    both = VALID + "python: ioc.file-hash\n"
    with pytest.raises(BadInputError, match="exactly one"):
        parse_detection(both, "x.yml")
    no_triage = VALID.replace("triage: look at it\n", "")
    with pytest.raises(BadInputError, match="triage"):
        parse_detection(no_triage, "x.yml")


def test_empty_tables_are_not_run_with_a_reason(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        document = hunt(store, HuntRequest())
    assert document.findings == []
    by_id = {entry.detection_id: entry for entry in document.coverage}
    entry = by_id["ioc.file-hash"]
    assert entry.status == "not-run"
    assert entry.reason is not None and "table files is empty" in entry.reason
    assert "seawall collect files" in entry.reason
    technique = {t.technique: t for t in document.technique_coverage}["T1204.002"]
    assert technique.status == "not-run"


def _user_detection(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir(exist_ok=True)
    (folder / "test.disk-rows.yml").write_text(text, encoding="utf-8")
    return folder


def _add_disk_rows(store: CaseStore) -> None:
    store.con.execute(
        "INSERT INTO disk (time, mount, used_bytes, host, source_file, record_ref) VALUES"
        " ('2026-01-01', '/', 100, 'srv1', 'df.csv', 'line 2'),"
        " ('2026-01-02', '/data', 5, 'srv1', 'df.csv', 'line 3')"
    )


def test_sql_detection_runs_and_rerun_is_idempotent(case_dir: Path, tmp_path: Path) -> None:
    folder = _user_detection(tmp_path, VALID)
    request = HuntRequest(detection_ids=("test.disk-rows",), detection_dirs=(folder,))
    with CaseStore.open(case_dir) as store:
        _add_disk_rows(store)
        first = hunt(store, request)
        second = hunt(store, request)
        stored = store.con.execute("SELECT count(*) FROM findings").fetchone()
    assert [f.finding_id for f in first.findings] == [f.finding_id for f in second.findings]
    assert stored == (1,)
    finding = first.findings[0]
    assert finding.summary == "used 100 bytes" and finding.host == "srv1"
    assert finding.score == 25.0 and finding.techniques == ["T1074"]
    assert finding.evidence[0].row == {"mount": "/"}
    assert finding.evidence[0].provenance.source_file == "df.csv"
    assert first.coverage[0].status == "ran" and first.coverage[0].findings == 1


def test_missing_column_and_summary_are_errors(case_dir: Path, tmp_path: Path) -> None:
    broken = VALID.replace("mount,", "no_such_column,")
    folder = _user_detection(tmp_path, broken)
    request = HuntRequest(detection_ids=("test.disk-rows",), detection_dirs=(folder,))
    with CaseStore.open(case_dir) as store:
        _add_disk_rows(store)
        document = hunt(store, request)
        assert document.coverage[0].status == "error"
        assert "no_such_column" in (document.coverage[0].reason or "")
        assert document.warnings
        _user_detection(tmp_path, VALID.replace("AS summary", "AS what"))
        document = hunt(store, request)
    assert document.coverage[0].status == "error"
    assert "summary" in (document.coverage[0].reason or "")


def test_unknown_detection_is_a_usage_error(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store, pytest.raises(UsageError):
        hunt(store, HuntRequest(detection_ids=("no.such",)))


def test_pack_lists_missing_detections(case_dir: Path, tmp_path: Path) -> None:
    # every detection the shipped pack names is built: a copy names one that is not
    shipped = resources.files("seawall.intel.packs").joinpath("data", "aa21-200a.yml")
    text = shipped.read_text("utf-8")
    old = "which seawall does not read.\n    detections: []"
    assert text.count(old) == 1
    pack_file = tmp_path / "pack.yml"
    pack_file.write_text(text.replace(old, old[:-2] + "[mail.internal-phish]"), "utf-8")
    with CaseStore.open(case_dir) as store:
        document = hunt(store, HuntRequest(pack=str(pack_file)))
    assert document.pack == "aa21-200a"
    by_id = {entry.detection_id: entry for entry in document.coverage}
    assert by_id["mail.internal-phish"].status == "not-run"
    assert "not built yet" in (by_id["mail.internal-phish"].reason or "")
    assert by_id["patch.cve-audit"].status == "not-run"  # built; the case holds no files
    # a detection over several tables says that none of them holds rows
    assert by_id["net.dns-tunnel"].status == "not-run"
    assert "none of its sources is in the case" in (by_id["net.dns-tunnel"].reason or "")
    assert by_id["ioc.file-hash"].status == "not-run"  # the case is empty
    assert "seawall intel lookup" in (by_id["intel.reputation"].reason or "")
