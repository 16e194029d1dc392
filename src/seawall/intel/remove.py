"""Take one intel source out of the case: its sightings, and what they alone made known.

A source imported by mistake (a README, another advisory, a feed one no longer trusts) must go
without leaving traces in what lookups and hunts read. Everything derived from sightings is
therefore brought back in line, in the same transaction as the deletion:

- an indicator that no other source sighted goes, with its rows of the lookup's probe index;
- an indicator that other sources also sighted keeps its value but gets its summaries
  (best confidence, latest validity, source count) recomputed from the sightings left, and its
  probe index rows derived again (they copy those summaries);
- the ``sources`` row goes, so that importing the same file again imports it afresh.

A crash leaves the case as it was: all of it happens in one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from seawall.case.schema import INDICATOR_KEYS_SQL
from seawall.case.store import CaseStore
from seawall.errors import UsageError
from seawall.intel.sightings import refresh_summaries


@dataclass(frozen=True, slots=True)
class Removal:
    """What removing one source took out of the case."""

    source_id: str
    name: str
    sha256: str
    path: str | None
    sightings: int
    indicators_removed: int
    indicators_kept: int
    findings_citing: int
    run_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "source": self.name,
            "sha256": self.sha256,
            "path": self.path,
            "sightings": self.sightings,
            "indicators_removed": self.indicators_removed,
            "indicators_kept": self.indicators_kept,
            "findings_citing": self.findings_citing,
            "run_id": self.run_id,
        }


def find_source(store: CaseStore, ref: str) -> tuple[str, str, str, str | None]:
    """``(source_id, name, sha256, path)`` of the one source named, or with that SHA-256 or id.

    A name given to several imported files is ambiguous: the error lists them by SHA-256, so
    that the user picks one rather than losing several sources by accident.
    """
    text = ref.strip()
    rows = store.con.execute(
        "SELECT source_id, name, sha256, path FROM sources"
        " WHERE sha256 = lower(?) OR source_id = lower(?) OR name = ? ORDER BY imported_at",
        [text, text, text],
    ).fetchall()
    exact = [row for row in rows if text.lower() in (row[2], row[0])]
    if exact:
        rows = exact
    if not rows:
        raise UsageError(
            f"no intel source named {ref!r} and none with that SHA-256 (see `seawall intel"
            " sources`)"
        )
    if len(rows) > 1:
        listed = "; ".join(f"sha256 {row[2]} ({row[3] or row[1]})" for row in rows)
        raise UsageError(f"{len(rows)} sources are named {ref!r}: give one SHA-256: {listed}")
    source_id, name, sha256, path = rows[0]
    return str(source_id), str(name), str(sha256), path


def remove_source(store: CaseStore, ref: str) -> Removal:
    """Remove the source ``ref`` (name, SHA-256 or source id) and what it alone made known."""
    source_id, name, sha256, path = find_source(store, ref)
    touched = f"_removed_{uuid.uuid4().hex}"
    keys = f"SELECT type, value FROM {touched}"
    with store.transaction() as con:
        run_id = store.start_run("intel remove", {"source": ref, "sha256": sha256})
        con.execute(
            f"CREATE TEMPORARY TABLE {touched} AS"
            " SELECT DISTINCT type, value FROM sightings WHERE source_id = ?",
            [source_id],
        )
        sightings = _count(store, f"SELECT count(*) FROM {touched}")
        findings = _count(
            store, "SELECT count(*) FROM findings WHERE contains(document, ?)", [source_id]
        )
        con.execute(
            f"DELETE FROM indicator_keys WHERE (type, coalesce(value, key)) IN ({keys})"
        ).complete()
        con.execute("DELETE FROM sightings WHERE source_id = ?", [source_id]).complete()
        removed = _count(
            store,
            f"SELECT count(*) FROM indicators WHERE (type, value) IN ({keys})"
            " AND (type, value) NOT IN (SELECT type, value FROM sightings)",
        )
        con.execute(
            f"DELETE FROM indicators WHERE (type, value) IN ({keys})"
            " AND (type, value) NOT IN (SELECT type, value FROM sightings)"
        ).complete()
        refresh_summaries(store, keys, [])
        derive = INDICATOR_KEYS_SQL.format(where=f"(type, value) IN ({keys})")
        con.execute(f"INSERT INTO indicator_keys BY NAME {derive}").complete()
        con.execute("DELETE FROM sources WHERE source_id = ?", [source_id]).complete()
        con.execute(f"DROP TABLE {touched}")
        result = Removal(
            source_id=source_id,
            name=name,
            sha256=sha256,
            path=path,
            sightings=sightings,
            indicators_removed=removed,
            indicators_kept=sightings - removed,
            findings_citing=findings,
            run_id=run_id,
        )
        store.finish_run(run_id, "ok", result.as_dict())
    return result


def _count(store: CaseStore, sql: str, params: list[object] | None = None) -> int:
    row = store.con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0
