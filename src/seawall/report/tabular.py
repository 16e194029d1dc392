"""CSV: one row per finding (then one per incident), with the columns an analyst filters on.

A spreadsheet is where many responders sort and share findings, so the row keeps what they
filter and sort by — severity, score, detection, host, account, time span, ATT&CK techniques and
tactics, seawall's verdict and the analyst's, what suppressed it — and what they read: the
summary and the first reasons, how much evidence there is and where it came from. The full
detail stays in the JSON document.

Cells hold attacker-controlled text (command lines, file names, user names), and a spreadsheet
runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (CSV injection:
``=HYPERLINK(...)``, DDE). Every text cell that starts with one of those, or with a tab or a
carriage return, is prefixed with ``'``, which spreadsheets show as text (OWASP's advice).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from seawall.model.finding import AttackRef, Finding, Incident, ResultDocument, Suppression

COLUMNS = (
    "kind",
    "id",
    "severity",
    "score",
    "detection",
    "title",
    "host",
    "user",
    "first_seen",
    "last_seen",
    "techniques",
    "tactics",
    "verdict",
    "analyst_verdict",
    "analyst",
    "analyst_reason",
    "suppressed_by",
    "summary",
    "top_reasons",
    "evidence_count",
    "records",
    "indicators",
    "source_files",
    "findings",
)
TOP_REASONS = 3
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_JOIN = "; "


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it, never runs it (see the module docstring)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _time(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _tactics(attack: Iterable[AttackRef]) -> str:
    return " ".join(dict.fromkeys(t for ref in attack for t in ref.tactics))


def _suppressed_by(suppression: Suppression | None) -> str:
    if suppression is None:
        return ""
    if suppression.entry is None:
        return f"{suppression.kind}: {suppression.reason}"
    return f"{suppression.kind} {suppression.entry}: {suppression.reason}"


def _finding_row(finding: Finding) -> dict[str, object]:
    records = [r for item in finding.evidence for r in item.records]
    provenances = records or [item.provenance for item in finding.evidence]
    files = dict.fromkeys(p.source_file for p in provenances if p.source_file)
    indicators = dict.fromkeys(
        f"{item.indicator.type}:{item.indicator.value}"
        for item in finding.evidence
        if item.indicator is not None
    )
    review = finding.review
    return {
        "kind": "finding",
        "id": finding.finding_id,
        "severity": finding.severity,
        "score": f"{finding.score:g}",
        "detection": finding.detection_id,
        "title": finding.title,
        "host": finding.host or "",
        "user": finding.user or "",
        "first_seen": _time(finding.first_seen),
        "last_seen": _time(finding.last_seen),
        "techniques": " ".join(finding.techniques),
        "tactics": _tactics(finding.attack),
        "verdict": finding.verdict.value,
        "analyst_verdict": "" if review is None else review.verdict.value,
        "analyst": "" if review is None else review.analyst,
        "analyst_reason": "" if review is None else review.reason,
        "suppressed_by": _suppressed_by(finding.suppression),
        "summary": finding.summary,
        "top_reasons": " | ".join(r.text for r in finding.reasons[:TOP_REASONS]),
        "evidence_count": len(finding.evidence),
        "records": sum(1 for p in provenances if p.record_ref or p.source_file),
        "indicators": _JOIN.join(indicators),
        "source_files": _JOIN.join(f for f in files if f),
        "findings": "",
    }


def _incident_row(incident: Incident) -> dict[str, object]:
    return {
        "kind": "incident",
        "id": incident.incident_id,
        "severity": incident.severity,
        "score": f"{incident.score:g}",
        "title": incident.title,
        "host": _JOIN.join(incident.hosts),
        "user": _JOIN.join(incident.users),
        "first_seen": _time(incident.first_seen),
        "last_seen": _time(incident.last_seen),
        "techniques": " ".join(incident.techniques),
        "tactics": _tactics(incident.attack),
        "verdict": incident.verdict.value,
        "summary": incident.summary,
        "top_reasons": " | ".join(r.text for r in incident.reasons[:TOP_REASONS]),
        "findings": " ".join(incident.finding_ids),
    }


def render_csv(document: ResultDocument) -> str:
    """The findings, then the incidents, as CSV (RFC 4180, a header line, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="")
    writer.writeheader()
    rows = [_finding_row(f) for f in document.findings]
    rows += [_incident_row(i) for i in document.incidents]
    for row in rows:
        writer.writerow({k: neutralise(v) if isinstance(v, str) else v for k, v in row.items()})
    return out.getvalue()
