"""Collect judged indicators of one source as columns, then write them through Arrow.

One value may occur several times in one file (a STIX 1 observable reused by two indicators):
those merge into one sighting whose techniques and tags are the union, so that a source counts
once per value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.intel.hygiene import Hygiene
from seawall.model.indicator import IndicatorType, RawIndicator

_TEXT_LIST = pa.list_(pa.string())


@dataclass(slots=True)
class _Sighting:
    raw: RawIndicator
    hygiene: Hygiene
    techniques: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a and b else a or b


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a and b else a or b


class SightingRows:
    """Sightings of one import, keyed by (type, value, source)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[IndicatorType, str, str], _Sighting] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def add(
        self, kind: IndicatorType, value: str, source_id: str, raw: RawIndicator, verdict: Hygiene
    ) -> None:
        key = (kind, value, source_id)
        existing = self._rows.get(key)
        if existing is None:
            self._rows[key] = _Sighting(raw, verdict, set(raw.techniques), set(raw.tags))
            return
        existing.techniques.update(raw.techniques)
        existing.tags.update(raw.tags)
        first = existing.raw
        confidences = [c for c in (first.confidence, raw.confidence) if c is not None]
        existing.raw = replace(
            first,
            confidence=max(confidences) if confidences else None,
            first_seen=_earliest(first.first_seen, raw.first_seen),
            last_seen=_latest(first.last_seen, raw.last_seen),
        )

    def write(self, store: CaseStore, now: datetime) -> None:
        """Insert new indicators and this source's sightings (inside the caller's transaction)."""
        if not self._rows:
            return
        keys = list(self._rows)
        sightings = list(self._rows.values())
        types = [k[0].value for k in keys]
        values = [k[1] for k in keys]
        indicators = pa.table(
            {
                "type": types,
                "value": values,
                "benign_reason": [s.hygiene.benign_reason for s in sightings],
                "rejected_reason": [s.hygiene.rejected_reason for s in sightings],
                "first_added": pa.array([now] * len(keys), pa.timestamp("us")),
            }
        )
        store.insert_arrow("indicators", indicators, ignore_existing=True)
        raws = [s.raw for s in sightings]
        table = pa.table(
            {
                "type": types,
                "value": values,
                "source_id": [k[2] for k in keys],
                "original": [r.value for r in raws],
                "location": [r.location for r in raws],
                "external_id": [r.external_id for r in raws],
                "title": [r.title for r in raws],
                "description": [r.description for r in raws],
                "confidence": pa.array([r.confidence for r in raws], pa.int32()),
                "valid_from": pa.array([r.valid_from for r in raws], pa.timestamp("us")),
                "valid_until": pa.array([r.valid_until for r in raws], pa.timestamp("us")),
                "first_seen": pa.array([r.first_seen for r in raws], pa.timestamp("us")),
                "last_seen": pa.array([r.last_seen for r in raws], pa.timestamp("us")),
                "techniques": pa.array([sorted(s.techniques) for s in sightings], _TEXT_LIST),
                "tags": pa.array([sorted(s.tags) for s in sightings], _TEXT_LIST),
                "context": [json.dumps(r.context) if r.context else None for r in raws],
            }
        )
        store.insert_arrow("sightings", table, ignore_existing=True)
        _refresh_summaries(store, keys[0][2])


def _refresh_summaries(store: CaseStore, source_id: str) -> None:
    """Recompute the reputation summary of every indicator this source has just sighted."""
    refresh_summaries(store, "SELECT type, value FROM sightings WHERE source_id = ?", [source_id])


def refresh_summaries(store: CaseStore, keys_sql: str, params: list[object]) -> None:
    """Recompute the summaries (best confidence, latest validity, source count) of the
    indicators whose ``(type, value)`` the query ``keys_sql`` returns, from their sightings."""
    store.con.execute(
        f"""
        UPDATE indicators SET confidence = agg.confidence, valid_until = agg.valid_until,
            source_count = agg.source_count
        FROM (
            SELECT type, value,
                max(coalesce(confidence, 100)) AS confidence,
                CASE WHEN bool_or(valid_until IS NULL) THEN NULL ELSE max(valid_until) END
                    AS valid_until,
                count(*) AS source_count
            FROM sightings
            WHERE (type, value) IN ({keys_sql})
            GROUP BY type, value
        ) agg
        WHERE indicators.type = agg.type AND indicators.value = agg.value
        """,
        params,
    ).complete()
