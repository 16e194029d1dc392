"""``seawall triage apply FILE``: an allowlist matched against the stored findings, afterwards.

An analyst learns what is normal while reading findings, not before the hunt: the backup
account that maps ``ADMIN$`` every night, the admin tools folder of one server. Hunting again to
apply an allowlist would re-read everything (and, for content detections, need the evidence
again), so the entries are matched against the findings the case already stores
(:mod:`seawall.triage.matching`), and every match is recorded in ``suppressions`` with the entry
(``file:line``) and its reason. Applying the same file again replaces what it recorded before
(an entry removed from the file no longer suppresses anything). Expired entries (``until`` in
the past) are not applied, and the report names them.

Findings the hunt itself suppressed (a judgement, a hunt-time allowlist entry) are left as they
are: their suppression already says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seawall.case.store import CaseStore, utcnow
from seawall.detect.stored import all_findings
from seawall.model.finding import Finding
from seawall.triage.allowlist import Located, load_allowlist, split_expired
from seawall.triage.matching import compile_entries, matches_by_entry
from seawall.triage.state import suppression_rows


@dataclass(slots=True)
class EntryResult:
    """One entry of the file and the findings it matched."""

    origin: str
    reason: str
    findings: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class ApplyReport:
    """What applying a file did (or would do, with ``dry_run``)."""

    file: str
    run_id: str | None
    dry_run: bool
    considered: int
    entries: list[EntryResult]
    expired: list[str]
    released: int
    """Findings this file suppressed before and no longer does."""

    @property
    def suppressed(self) -> int:
        return sum(len(entry.findings) for entry in self.entries)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "findings_considered": self.considered,
            "suppressed": self.suppressed,
            "released": self.released,
            "expired": self.expired,
            "entries": [
                {
                    "entry": entry.origin,
                    "reason": entry.reason,
                    "matched": len(entry.findings),
                    "findings": [
                        {
                            "finding_id": f.finding_id,
                            "detection_id": f.detection_id,
                            "host": f.host,
                            "summary": f.summary,
                        }
                        for f in entry.findings
                    ],
                }
                for entry in self.entries
            ],
        }


def _candidates(findings: list[Finding]) -> list[Finding]:
    """Findings an entry may suppress: all but those the hunt suppressed itself."""
    return [f for f in findings if f.suppression is None or f.suppression.kind == "triage"]


def apply_allowlist(store: CaseStore, path: Path, *, dry_run: bool = False) -> ApplyReport:
    """Match the entries of ``path`` against every stored finding and record the matches."""
    entries = load_allowlist(path)
    key = str(path.resolve())
    now = utcnow()
    live, expired = split_expired(entries, now)
    findings = _candidates(all_findings(store))
    results: dict[str, EntryResult] = {
        located.origin: EntryResult(located.origin, located.entry.reason) for located in live
    }
    matched: list[tuple[Finding, Located]] = list(matches_by_entry(compile_entries(live), findings))
    for finding, located in matched:
        results[located.origin].findings.append(finding)
    store.con.complete()
    before = {
        str(row[0])
        for row in store.con.execute(
            "SELECT finding_id FROM suppressions WHERE file = ?", [key]
        ).fetchall()
    }
    released = len(before - {finding.finding_id for finding, _ in matched})
    run_id: str | None = None
    if not dry_run:
        arguments = {"file": key, "entries": len(entries)}
        with store.transaction() as con:
            run_id = store.start_run("triage apply", arguments)
            con.execute("DELETE FROM suppressions WHERE file = ?", [key])
            store.insert_arrow("suppressions", suppression_rows(key, matched, run_id))
            summary = {"suppressed": len(matched), "released": released, "expired": len(expired)}
            store.finish_run(run_id, "ok", summary)
    return ApplyReport(
        file=key,
        run_id=run_id,
        dry_run=dry_run,
        considered=len(findings),
        entries=list(results.values()),
        expired=expired,
        released=released,
    )
