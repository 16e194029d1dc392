"""What hunts stored in the case, written and read back as the typed documents they produced.

Each hunt stores its whole :class:`~seawall.model.finding.ResultDocument` in the ``results``
table (one row per hunt, with the document's schema version), and replaces the findings of the
detections it ran in the ``findings`` table, which so holds the latest finding of every stable
id (each row's ``document`` the whole :class:`Finding`). Everything read back has the case's
current triage joined in (:mod:`seawall.triage.state`). Reading and writing are kept in this one
module so that the rest of seawall never touches the tables' shapes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa

from seawall.case.store import CaseStore, utcnow
from seawall.errors import UsageError
from seawall.model.finding import FORMAT, SEVERITIES, Finding, ResultDocument
from seawall.model.tables import FINDINGS, RESULTS
from seawall.model.upgrade import upgrade_finding
from seawall.triage.state import apply_state, load_state, sort_findings, with_triage


def _finding_rows(run_id: str, findings: Sequence[Finding]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "finding_id": f.finding_id,
                "run_id": run_id,
                "detection_id": f.detection_id,
                "title": f.title,
                "severity": f.severity,
                "score": f.score,
                "host": f.host,
                "user_name": f.user,
                "techniques": f.techniques,
                "first_seen": f.first_seen,
                "last_seen": f.last_seen,
                "verdict": f.verdict.value,
                "document": f.model_dump_json(),
            }
            for f in findings
        ],
        schema=FINDINGS.schema,
    )


def write_hunt(store: CaseStore, document: ResultDocument, detection_ids: Sequence[str]) -> None:
    """Store a hunt's document and findings; call inside the hunt's transaction.

    The findings of the detections it ran replace theirs of earlier hunts (ids are stable, so
    hunting twice is idempotent); the document is stored whole, as the hunt returned it.
    """
    if detection_ids:
        store.con.execute("DELETE FROM findings WHERE detection_id IN ?", [list(detection_ids)])
    store.insert_arrow("findings", _finding_rows(document.run_id, document.findings))
    row = {
        "run_id": document.run_id,
        "format": document.format,
        "seawall_version": document.seawall_version,
        "created_at": utcnow(),
        "findings": len(document.findings),
        "document": document.model_dump_json(),
    }
    store.insert_arrow("results", pa.Table.from_pylist([row], schema=RESULTS.schema))


def hunt_run(store: CaseStore, run: str) -> str:
    """The one hunt run whose id is ``run`` or starts with it."""
    rows = store.con.execute(
        "SELECT run_id FROM runs WHERE command = 'hunt' AND starts_with(run_id, lower(?))"
        " ORDER BY started_at",
        [run.strip()],
    ).fetchall()
    if not rows:
        raise UsageError(f"no hunt with run id {run!r} in this case")
    if len(rows) > 1:
        raise UsageError(f"{len(rows)} hunts have run ids starting {run!r}: give more of it")
    return str(rows[0][0])


def stored_document(store: CaseStore, run_id: str | None = None) -> ResultDocument:
    """The stored document of hunt ``run_id`` (default: the latest hunt that stored one), with
    the current triage joined in."""
    store.con.complete()
    if run_id is None:
        rows = store.con.execute(
            "SELECT r.format, r.document FROM results r JOIN runs USING (run_id)"
            " ORDER BY runs.started_at DESC LIMIT 1"
        ).fetchall()
        if not rows:
            raise UsageError("no hunt in this case has stored a result document: run seawall hunt")
    else:
        rows = store.con.execute(
            "SELECT format, document FROM results WHERE run_id = ?", [run_id]
        ).fetchall()
        if not rows:
            raise UsageError(
                f"hunt {run_id[:12]} stored no result document (it ran before seawall stored"
                " them): hunt again, or read its findings with seawall findings --run"
            )
    version, text = rows[0]
    if int(version) != FORMAT:
        raise UsageError(
            f"the stored document has format {version}; this seawall reads format {FORMAT}"
        )
    document = ResultDocument.model_validate_json(text)
    return with_triage(document, load_state(store))


def has_document(store: CaseStore, run_id: str) -> bool:
    store.con.complete()
    rows = store.con.execute("SELECT count(*) FROM results WHERE run_id = ?", [run_id]).fetchall()
    return bool(rows and rows[0][0])


def read_findings(
    store: CaseStore, run_id: str | None = None, min_severity: str | None = None
) -> tuple[list[Finding], list[str]]:
    """The latest finding of every stable id (``run_id``: those one hunt stored last), those to
    review first and the strongest first, with the current triage joined in, and the warnings
    joining it gave (expired allowlist entries). Findings stored by version-1 hunts are read as
    version 2 (:func:`seawall.model.upgrade.upgrade_finding`). ``min_severity`` keeps that
    severity and above."""
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
    store.con.complete()
    found = [
        upgrade_finding(json.loads(document))
        for (document,) in store.con.execute(sql, params).fetchall()
    ]
    joined, warnings = apply_state(found, load_state(store))
    return sort_findings(joined), warnings


def stored_findings(
    store: CaseStore, run_id: str | None = None, min_severity: str | None = None
) -> list[Finding]:
    """:func:`read_findings` without its warnings."""
    return read_findings(store, run_id, min_severity)[0]


def all_findings(store: CaseStore) -> list[Finding]:
    """Every finding the case knows, once per stable id, with the current triage: the latest of
    each id (``findings``), then those only older stored documents still hold (a finding whose
    detection stopped matching is gone from ``findings`` but still in the reports of its run)."""
    latest, _ = read_findings(store)
    seen = {finding.finding_id for finding in latest}
    older: list[Finding] = []
    store.con.complete()
    rows = store.con.execute(
        "SELECT r.document FROM results r JOIN runs USING (run_id)"
        " WHERE r.format = ? ORDER BY runs.started_at DESC",
        [FORMAT],
    ).fetchall()
    for (text,) in rows:
        for finding in ResultDocument.model_validate_json(text).findings:
            if finding.finding_id not in seen:
                seen.add(finding.finding_id)
                older.append(finding)
    joined, _ = apply_state(older, load_state(store))
    return [*latest, *joined]


def find_finding(store: CaseStore, prefix: str) -> Finding:
    """The one finding whose id is ``prefix`` or starts with it (any stored finding)."""
    wanted = prefix.strip().lower()
    if not wanted:
        raise UsageError("give a finding id (or a unique prefix of one)")
    found = [f for f in all_findings(store) if f.finding_id.startswith(wanted)]
    if not found:
        raise UsageError(f"no stored finding has an id starting {prefix!r}")
    if len(found) > 1:
        raise UsageError(f"{len(found)} findings have ids starting {prefix!r}: give more of it")
    return found[0]
