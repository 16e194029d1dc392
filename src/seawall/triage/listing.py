"""``seawall triage list``: the reviews and suppressions a case holds, with their findings."""

from __future__ import annotations

from typing import Any

from seawall.case.store import CaseStore, utcnow
from seawall.detect.stored import all_findings


def triage_listing(store: CaseStore, *, history: bool = False) -> dict[str, Any]:
    """Reviews (the latest of each finding, or all with ``history``) and suppressions recorded
    by ``triage apply`` (``expired`` when their entry's ``until`` has passed), each with the
    finding's detection and summary when the case still stores it."""
    what = {f.finding_id: f"{f.detection_id}: {f.summary}" for f in all_findings(store)}
    store.con.complete()
    latest = "" if history else " QUALIFY row_number() OVER (PARTITION BY finding_id"
    latest += "" if history else " ORDER BY marked_at DESC, rowid DESC) = 1"
    reviews = [
        {
            "finding_id": finding_id,
            "verdict": verdict,
            "reason": reason,
            "analyst": analyst,
            "at": at,
            "what": what.get(finding_id),
        }
        for finding_id, verdict, reason, analyst, at in store.con.execute(
            "SELECT finding_id, verdict, reason, analyst, marked_at FROM verdicts"
            + latest
            + " ORDER BY marked_at, finding_id"
        ).fetchall()
    ]
    now = utcnow()
    suppressions = [
        {
            "finding_id": finding_id,
            "file": file,
            "entry": entry,
            "reason": reason,
            "applied": applied,
            "expires": expires,
            "expired": expires is not None and expires < now,
            "what": what.get(finding_id),
        }
        for finding_id, file, entry, reason, applied, expires in store.con.execute(
            "SELECT finding_id, file, entry, reason, applied_at, expires FROM suppressions"
            " ORDER BY file, entry, finding_id"
        ).fetchall()
    ]
    return {"reviews": reviews, "suppressions": suppressions}
