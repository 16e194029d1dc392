"""Triage state: analysts' reviews and retroactive suppressions, kept apart from the findings and
joined into every document read back and every new hunt.

Finding ids are stable (a hash of the detection and its evidence keys), so triage is recorded
by finding id in tables of its own (``verdicts``, ``suppressions``) rather than written into the
stored documents: a review given before a re-hunt is shown after it, a suppression recorded by
``seawall triage apply`` holds for every stored document that has the finding, and a stored
document is never rewritten. Joining replaces whatever triage a document carried with the
current state:

- ``review``: the latest review of the finding (all are kept, as its history);
- ``suppression`` of kind ``triage``: the first live suppression recorded for the finding, unless
  the hunt itself suppressed it (a judgement or a hunt-time allowlist entry, which stay). A
  suppression whose entry's ``until`` has passed no longer holds: the finding is shown again and
  a warning names the entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from seawall.case.store import CaseStore, utcnow
from seawall.model.finding import AnalystReview, Finding, ResultDocument, Suppression
from seawall.model.tables import SUPPRESSIONS, VERDICTS
from seawall.model.verdict import Review
from seawall.triage.allowlist import Located, utc


@dataclass(slots=True)
class TriageState:
    """Every review and suppression in the case, by finding id."""

    reviews: dict[str, AnalystReview] = field(default_factory=dict)
    history: dict[str, int] = field(default_factory=dict)
    suppressions: dict[str, list[Suppression]] = field(default_factory=dict)


def load_state(store: CaseStore) -> TriageState:
    """The case's triage state (reviews by time: the last one of a finding wins)."""
    state = TriageState()
    store.con.complete()
    rows = store.con.execute(
        "SELECT finding_id, verdict, reason, analyst, marked_at FROM verdicts"
        " ORDER BY marked_at, rowid"
    ).fetchall()
    for finding_id, verdict, reason, analyst, at in rows:
        state.reviews[finding_id] = AnalystReview(
            verdict=Review(verdict), reason=reason, analyst=analyst, at=at
        )
        state.history[finding_id] = state.history.get(finding_id, 0) + 1
    rows = store.con.execute(
        "SELECT finding_id, entry, reason, applied_at, expires FROM suppressions"
        " ORDER BY applied_at, file, entry"
    ).fetchall()
    for finding_id, entry, reason, applied, expires in rows:
        state.suppressions.setdefault(finding_id, []).append(
            Suppression(kind="triage", reason=reason, entry=entry, applied=applied, expires=expires)
        )
    return state


def _live(suppression: Suppression, now: datetime) -> bool:
    return suppression.expires is None or suppression.expires >= now


def apply_state(
    findings: Sequence[Finding], state: TriageState, now: datetime | None = None
) -> tuple[list[Finding], list[str]]:
    """The findings with the current triage joined in, and a warning per suppression that no
    longer holds because its entry expired (``now``: naive UTC, default the current time)."""
    now = now or utcnow()
    expired: dict[str, int] = {}
    joined: list[Finding] = []
    for finding in findings:
        suppression = finding.suppression
        if suppression is not None and suppression.kind == "triage":
            suppression = None
        if suppression is None:
            recorded = state.suppressions.get(finding.finding_id, [])
            live = [s for s in recorded if _live(s, now)]
            suppression = live[0] if live else None
            for lapsed in recorded:
                if not _live(lapsed, now):
                    key = f"{lapsed.entry} (expired {lapsed.expires:%Y-%m-%d %H:%M:%S}Z)"
                    expired[key] = expired.get(key, 0) + 1
        joined.append(
            finding.model_copy(
                update={
                    "suppression": suppression,
                    "suppressed": suppression is not None,
                    "review": state.reviews.get(finding.finding_id),
                }
            )
        )
    warnings = [
        f"allowlist entry {entry} no longer applies: {count:,} finding(s) it suppressed are"
        " shown again"
        for entry, count in sorted(expired.items())
    ]
    return joined, warnings


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Those to review first, the strongest first (the order every view uses)."""
    return sorted(findings, key=lambda f: (f.dismissed, -f.score, f.detection_id, f.summary))


def with_triage(
    document: ResultDocument, state: TriageState, now: datetime | None = None
) -> ResultDocument:
    """The document with the current triage joined in (coverage's suppressed counts follow)."""
    findings, warnings = apply_state(document.findings, state, now)
    suppressed: dict[str, int] = {}
    for finding in findings:
        if finding.suppressed:
            suppressed[finding.detection_id] = suppressed.get(finding.detection_id, 0) + 1
    coverage = [
        entry.model_copy(update={"suppressed": suppressed.get(entry.detection_id, 0)})
        if entry.status in ("ran", "partial")
        else entry
        for entry in document.coverage
    ]
    kept = [w for w in document.warnings if not w.startswith("allowlist entry ")]
    return document.model_copy(
        update={
            "findings": sort_findings(findings),
            "coverage": coverage,
            "warnings": [*kept, *warnings],
        }
    )


def analyst_name() -> str:
    """Who is triaging: ``$SEAWALL_ANALYST``, else the operating system's user name."""
    import getpass
    import os

    name = os.environ.get("SEAWALL_ANALYST", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a container)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def record_review(
    store: CaseStore,
    finding_id: str,
    verdict: Review,
    reason: str,
    analyst: str,
    run_id: str | None = None,
) -> AnalystReview:
    """Add an analyst's review of a finding (the earlier ones stay, as its history)."""
    at = utcnow()
    row = {
        "finding_id": finding_id,
        "verdict": verdict.value,
        "reason": reason,
        "analyst": analyst,
        "marked_at": at,
        "run_id": run_id,
    }
    store.insert_arrow("verdicts", pa.Table.from_pylist([row], schema=VERDICTS.schema))
    return AnalystReview(verdict=verdict, reason=reason, analyst=analyst, at=at)


def suppression_rows(
    file: str, matched: Iterable[tuple[Finding, Located]], run_id: str | None = None
) -> pa.Table:
    """Rows of ``suppressions`` for what one allowlist file matched."""
    at = utcnow()
    rows: list[dict[str, Any]] = []
    for finding, located in matched:
        until = utc(located.entry.until)
        rows.append(
            {
                "finding_id": finding.finding_id,
                "file": file,
                "entry": located.origin,
                "reason": located.entry.reason,
                "expires": None if until is None else until.replace(tzinfo=None),
                "applied_at": at,
                "allow": json.dumps(
                    located.entry.model_dump(mode="json", by_alias=True, exclude_none=True)
                ),
                "run_id": run_id,
            }
        )
    return pa.Table.from_pylist(rows, schema=SUPPRESSIONS.schema)
