"""Every piece of evidence the demo writes is read by seawall's reader of its format, whole and
without a warning (a reader this seawall does not have yet is a skip that names it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.case.store import CaseStore
from seawall.demo.evidence import EvidenceFile
from seawall.demo.generate import Generated, generate
from seawall.demo.run import missing_capability, run_seawall

pytestmark = pytest.mark.slow

KINDS = ("intel", "files", "events", "zeek", "squid", "w3c", "entra", "disk-csv")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return generate(tmp_path_factory.mktemp("readers") / "demo", seed=11, scale=1)


def _entries(generated: Generated, kind: str) -> list[EvidenceFile]:
    return [e for e in generated.manifest.files if kind in (e.plane, e.format)]


@pytest.mark.parametrize("kind", KINDS)
def test_read_whole_without_warnings(demo: Generated, kind: str) -> None:
    entries = _entries(demo, kind)
    assert entries, f"the demo writes no {kind} evidence"
    for entry in entries:
        reason = missing_capability(entry.needs)
        if reason is not None:
            pytest.skip(f"{entry.path}: {reason} (reader not on this branch yet)")
        case = f"case-{kind}-{entry.host or 'all'}"
        code, report, stderr = run_seawall(demo.out, entry.command, case=case)
        assert code == 0, (entry.command, report, stderr)
        assert "warning" not in stderr.lower(), stderr
        assert isinstance(report, dict)
        if kind == "intel":
            assert report["indicators"] == 7
            assert report["rejected"] == [] and report["warnings"] == []
            continue
        if kind == "files":
            assert report["warnings"] == []
            assert report["files"] == entry.records == report["hashed"]
            continue
        assert report.get("warning_count", len(report.get("warnings", []))) == 0
        rows = report["rows"] if isinstance(report.get("rows"), dict) else None
        read = sum(rows.values()) if rows is not None else report["imported_rows"]
        assert read == entry.records, (entry.path, rows)
        if entry.needs.startswith("log format "):
            with CaseStore.open(Path(demo.out / case), create=False) as store:
                formats = {
                    f for (f,) in store.con.sql("SELECT format FROM evidence_sources").fetchall()
                }
            assert formats == {entry.format}  # told from content, as the format it is
