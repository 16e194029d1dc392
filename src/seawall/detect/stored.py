"""The findings a case holds, read back as the typed documents a hunt produced.

Each hunt replaces the findings of the detections it ran, so the ``findings`` table holds the
latest answer of every detection, each row's ``document`` column the whole :class:`Finding`.
Reading them is kept in this one function so that a later, richer store (whole result
documents) changes one place.
"""

from __future__ import annotations

from seawall.case.store import CaseStore
from seawall.model.finding import SEVERITIES, Finding


def stored_findings(
    store: CaseStore, run_id: str | None = None, min_severity: str | None = None
) -> list[Finding]:
    """Stored findings, those to review first and the strongest first; ``run_id`` keeps one
    hunt's, ``min_severity`` that severity and above."""
    where: list[str] = []
    params: list[object] = []
    if run_id is not None:
        where.append("run_id = ?")
        params.append(run_id)
    if min_severity is not None:
        where.append("list_contains(?, severity)")
        order: list[str] = list(SEVERITIES)
        params.append(order[order.index(min_severity) :])
    sql = "SELECT document FROM findings" + (" WHERE " + " AND ".join(where) if where else "")
    findings = [
        Finding.model_validate_json(document)
        for (document,) in store.con.execute(sql, params).fetchall()
    ]
    findings.sort(key=lambda f: (f.suppressed, -f.score, f.detection_id, f.summary))
    return findings
