"""Importing real CISA intel into a case: counts, idempotence, provenance, hostile input."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seawall.case.store import CaseStore
from seawall.errors import BadInputError
from seawall.intel.importer import import_files
from tests.conftest import shared

STIX1 = "advisories/cisa-stix/AA26-204A.stix_.xml"
STIX21 = "advisories/cisa-stix/AA26-204A.stix_.json"
AA26_097A = "advisories/cisa-stix/AA26-097A.stix_.json"


def _pairs(store: CaseStore, source_id: str) -> set[tuple[str, str]]:
    rows = store.con.execute(
        "SELECT type, value FROM sightings WHERE source_id = ? AND type <> 'cve'", [source_id]
    ).fetchall()
    return {(kind, value) for kind, value in rows}


def test_stix1_and_stix21_of_one_advisory_give_the_same_27_indicators(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        report = import_files(store, [shared(STIX1), shared(STIX21)]).as_dict()
        xml, js = report["files"]
        assert (xml["format"], js["format"]) == ("stix1", "stix2")
        assert xml["by_type"] == {"domain": 18, "ipv4": 9}
        assert {k: v for k, v in js["by_type"].items() if k != "cve"} == {"domain": 18, "ipv4": 9}
        assert _pairs(store, xml["source_id"]) == _pairs(store, js["source_id"])
        counts = store.con.execute(
            "SELECT type, count(*) FROM indicators WHERE type <> 'cve' GROUP BY type"
        ).fetchall()
        assert dict(counts) == {"domain": 18, "ipv4": 9}
        # one indicator, two sightings: each value is seen by both files
        per_value = store.con.execute(
            "SELECT min(n), max(n) FROM (SELECT count(*) n FROM sightings"
            " WHERE type <> 'cve' GROUP BY type, value)"
        ).fetchone()
        assert per_value == (2, 2)


def test_stix21_vulnerability_is_kept_as_a_cve_indicator(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        import_files(store, [shared(STIX21)])
        cves = store.con.execute("SELECT value FROM indicators WHERE type = 'cve'").fetchall()
    assert cves == [("CVE-2025-66376",)]


def test_aa26_097a_gives_21_ipv4(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        report = import_files(store, [shared(AA26_097A)]).as_dict()
    assert report["by_type"] == {"ipv4": 21}


def test_importing_twice_adds_nothing(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        import_files(store, [shared(STIX1)])
        before = store.table_counts()
        again = import_files(store, [shared(STIX1)]).as_dict()
        assert again["files"][0]["already_imported"] is True
        assert again["new_indicators"] == 0
        after = store.table_counts()
    assert {k: v for k, v in after.items() if k != "runs"} == {
        k: v for k, v in before.items() if k != "runs"
    }


def test_sources_keep_the_sha256_of_each_file(case_dir: Path) -> None:
    path = shared(STIX21)
    sums = (path.parent / "SHA256SUMS").read_text().split()
    expected = sums[sums.index(path.name) - 1] if path.name in sums else None
    with CaseStore.open(case_dir) as store:
        import_files(store, [path], source_name="CISA")
        row = store.con.execute("SELECT name, sha256, format FROM sources").fetchone()
    assert row is not None
    assert row[0] == "CISA" and row[2] == "stix2"
    if expected:
        assert row[1] == expected


def test_hygiene_marks_but_keeps_benign_and_rejected_values(case_dir: Path, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(
        "d41d8cd98f00b204e9800998ecf8427e\n192.168.1.10\nco.uk\nevil-apt.net\n", encoding="utf-8"
    )
    with CaseStore.open(case_dir) as store:
        report = import_files(store, [listing]).as_dict()
        stored = store.table_counts()["indicators"]
    assert stored == 4
    assert {r["value"] for r in report["rejected"]} == {"co.uk"}
    assert {b["value"] for b in report["benign"]} == {
        "d41d8cd98f00b204e9800998ecf8427e",
        "192.168.1.10",
    }


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1">&lol9;</stix:STIX_Package>
"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1"><x>&xxe;</x></stix:STIX_Package>
"""


def _hostile_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "billion-laughs.xml": BILLION_LAUGHS,
        "xxe.xml": XXE,
        "truncated.json": json.dumps(
            {"type": "bundle", "id": "bundle--1", "objects": [{"type": "indicator"}]}
        ).encode()[:-9],
        "invalid-utf8.txt": b"evil.example.net\n\xff\xfe\xfa broken\nother.example.org\n",
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    giant = tmp_path / "giant-line.txt"
    with giant.open("wb") as handle:
        chunk = b"A" * (1 << 20)
        for _ in range(200):
            handle.write(chunk)
    paths["giant-line.txt"] = giant
    return paths


def test_hostile_inputs_are_rejected_quickly_and_leave_the_case_unchanged(
    case_dir: Path, tmp_path: Path
) -> None:
    with CaseStore.open(case_dir) as store:
        import_files(store, [shared(STIX1)])
        before = store.table_counts()
        for name, path in _hostile_files(tmp_path).items():
            started = time.perf_counter()
            with pytest.raises(BadInputError) as caught:
                import_files(store, [path])
            elapsed = time.perf_counter() - started
            assert elapsed < 10, f"{name} took {elapsed:.1f} s"
            assert str(caught.value), name
            assert store.table_counts() == before, name


_CRASH_MID_IMPORT = """
import os, sys
from pathlib import Path
from seawall.case.store import CaseStore
from seawall.intel import sightings
from seawall.intel.importer import import_files

original = sightings.SightingRows.write

def write_then_die(self, store, now):
    original(self, store, now)  # rows are in, the transaction is not committed
    os._exit(9)

sightings.SightingRows.write = write_then_die
with CaseStore.open(Path(sys.argv[1])) as store:
    import_files(store, [Path(sys.argv[2])])
"""


def test_a_process_killed_mid_import_leaves_the_case_as_it_was(
    case_dir: Path, tmp_path: Path
) -> None:
    """A real crash (no exception handling, no rollback call) between write and commit."""
    first = tmp_path / "first.txt"
    first.write_text("evil-apt.net\n", encoding="utf-8")
    second = tmp_path / "second.txt"
    second.write_text("other-apt.org\n45.77.1.2\n", encoding="utf-8")
    with CaseStore.open(case_dir) as store:
        import_files(store, [first])
        before = store.table_counts()
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASH_MID_IMPORT, str(case_dir), str(second)],
        capture_output=True,
        check=False,
    )
    assert crashed.returncode == 9, crashed.stderr.decode()
    with CaseStore.open(case_dir) as store:
        assert store.table_counts() == before
        import_files(store, [second])  # and the same import then goes through
        assert store.table_counts()["indicators"] == before["indicators"] + 2
