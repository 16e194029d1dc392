"""Learned baselines: what was normal before a time, so that detections report what is new.

AA21-200A asks for "baseline comparison" of admin-share use and remote logons. A detection that
can use a baseline carries a ``baseline`` query in its file: over the evidence up to ``$until``
it returns what it considers one normal thing — ``user_name``, ``source``, ``host``, ``item``
(e.g. account, source address, server, share), with ``first_seen``, ``last_seen`` and
``count``. ``seawall baseline learn`` runs those queries and replaces each detection's rows in
the ``baselines`` table in one transaction, adding a ``period`` row that says up to when it
learned (so an empty baseline — nothing seen before T — is a baseline too). The detection's own
query then reports only what happens after that time and is not in the baseline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from seawall.case.store import CaseStore, utcnow
from seawall.detect import sqlhelpers
from seawall.detect.schema import LoadedDetection
from seawall.errors import SeawallError, UsageError
from seawall.model.tables import BASELINES

KEY_COLUMNS = ("user_name", "source", "host", "item")
SEEN_COLUMNS = (*KEY_COLUMNS, "first_seen", "last_seen", "count")
# ``$until`` when the user gives none: everything the case holds.
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(slots=True)
class Learned:
    """What one detection's baseline holds after learning."""

    detection_id: str
    rows: int
    learned_until: datetime


@dataclass(slots=True)
class LearnReport:
    run_id: str
    until: datetime | None
    learned: list[Learned] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "until": self.until,
            "learned": [
                {"detection_id": x.detection_id, "rows": x.rows, "learned_until": x.learned_until}
                for x in self.learned
            ],
        }


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def with_baseline(
    loaded: Iterable[LoadedDetection], ids: Iterable[str] = ()
) -> list[LoadedDetection]:
    """The detections that can learn a baseline (those named by ``ids``, when given)."""
    by_id = {item.detection.id: item for item in loaded}
    wanted = list(ids)
    for ident in wanted:
        if ident not in by_id:
            raise UsageError(f"no detection {ident!r}")
        if by_id[ident].detection.baseline is None:
            capable = ", ".join(sorted(k for k, v in by_id.items() if v.detection.baseline))
            raise UsageError(
                f"detection {ident} learns no baseline (those that do: {capable or 'none'})"
            )
    chosen = [by_id[i] for i in wanted] if wanted else list(by_id.values())
    return [item for item in chosen if item.detection.baseline is not None]


def _seen_rows(store: CaseStore, item: LoadedDetection, until: datetime) -> pa.Table:
    sql = item.detection.baseline or ""
    params = {"until": until} if "$until" in sql else {}
    relation = store.con.sql(sql, params=params)
    unknown = [c for c in relation.columns if c not in SEEN_COLUMNS]
    if unknown:
        raise SeawallError(
            f"{item.origin}: its baseline query returns column(s) {', '.join(unknown)}"
            f" (allowed: {', '.join(SEEN_COLUMNS)})"
        )
    return relation.to_arrow_table()


def learn(
    store: CaseStore, detections: list[LoadedDetection], until: datetime | None = None
) -> LearnReport:
    """Learn (replace) the baselines of ``detections`` from the evidence up to ``until``
    (everything, when None); one transaction for all of them."""
    if not detections:
        raise UsageError("no detection to learn a baseline for")
    until = _utc(until)
    sqlhelpers.install(store.con)
    run_id = store.start_run(
        "baseline learn",
        {
            "until": None if until is None else until.isoformat(),
            "detections": [d.detection.id for d in detections],
        },
    )
    report = LearnReport(run_id=run_id, until=until)
    now = utcnow()
    try:
        with store.transaction() as con:
            for item in detections:
                seen = _seen_rows(store, item, until or _END_OF_TIME)
                rows = seen.to_pylist()
                latest = [r["last_seen"] for r in rows if r.get("last_seen") is not None]
                learned_until = until or _utc(max(latest, default=None)) or datetime.now(UTC)
                common = {
                    "detection_id": item.detection.id,
                    "learned_until": learned_until,
                    "learned_at": now,
                    "run_id": run_id,
                }
                period = {**common, "kind": "period", "count": len(rows)}
                records = [period] + [{**common, **r, "kind": "seen"} for r in rows]
                con.execute(
                    "DELETE FROM baselines WHERE detection_id = ?", [item.detection.id]
                ).complete()
                store.insert_arrow(
                    "baselines", pa.Table.from_pylist(records, schema=BASELINES.schema)
                )
                report.learned.append(Learned(item.detection.id, len(rows), learned_until))
            store.finish_run(run_id, "ok", report.as_dict())
    except BaseException:
        store.discard_run(run_id, "failed")
        raise
    return report


def show(store: CaseStore, detection_id: str | None = None) -> list[dict[str, Any]]:
    """Each detection's baseline: when it was learned, up to when, how many things it holds."""
    where = "WHERE detection_id = ?" if detection_id else ""
    params = [detection_id] if detection_id else []
    relation = store.con.sql(
        "SELECT detection_id, any_value(learned_until) AS learned_until,"
        " any_value(learned_at) AS learned_at, count(*) FILTER (WHERE kind = 'seen') AS rows"
        f" FROM baselines {where} GROUP BY detection_id ORDER BY detection_id",
        params=params,
    )
    rows: list[dict[str, Any]] = relation.to_arrow_table().to_pylist()
    return rows


def clear(store: CaseStore, detection_id: str | None = None) -> int:
    """Forget the baselines (of one detection, or all); returns the rows removed."""
    with store.transaction() as con:
        if detection_id:
            found = con.execute(
                "DELETE FROM baselines WHERE detection_id = ?", [detection_id]
            ).fetchall()
        else:
            found = con.execute("DELETE FROM baselines").fetchall()
        con.complete()
    return int(found[0][0]) if found else 0
