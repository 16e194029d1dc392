"""Read-side queries over the intel in a case: the indicator list and the source list."""

from __future__ import annotations

from typing import Any

from seawall.case.store import CaseStore
from seawall.errors import UsageError
from seawall.model.indicator import IndicatorType
from seawall.triage.knowngood import DUAL_USE_TAG


def list_indicators(
    store: CaseStore,
    kind: str | None = None,
    source: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Indicators with their sources, filtered by type and/or source name or id."""
    if kind is not None and kind not in {t.value for t in IndicatorType}:
        known = ", ".join(t.value for t in IndicatorType)
        raise UsageError(f"unknown indicator type {kind!r}; known types: {known}")
    where, params = [], []
    if kind is not None:
        where.append("i.type = ?")
        params.append(kind)
    if source is not None:
        where.append("(src.name = ? OR src.source_id = ?)")
        params += [source, source]
    sql = f"""
        SELECT i.type, i.value, i.benign_reason, i.rejected_reason,
            list(DISTINCT src.name ORDER BY src.name) AS sources,
            max(s.confidence) AS confidence,
            min(coalesce(s.first_seen, s.valid_from)) AS first_seen,
            max(coalesce(s.last_seen, s.first_seen, s.valid_from)) AS last_seen,
            list_sort(list_distinct(flatten(list(s.techniques)))) AS techniques,
            list_sort(list_distinct(flatten(list(s.tags)))) AS tags
        FROM indicators i
        JOIN sightings s USING (type, value)
        JOIN sources src ON src.source_id = s.source_id
        {"WHERE " + " AND ".join(where) if where else ""}
        GROUP BY ALL ORDER BY i.type, i.value
        {f"LIMIT {int(limit)}" if limit else ""}
    """
    columns = [
        "type",
        "value",
        "benign_reason",
        "rejected_reason",
        "sources",
        "confidence",
        "first_seen",
        "last_seen",
        "techniques",
        "tags",
    ]
    rows = [
        dict(zip(columns, row, strict=True)) for row in store.con.execute(sql, params).fetchall()
    ]
    for row in rows:
        # a known-good binary's hash (tagged at import): live, but judged by the file's location
        row["dual_use"] = DUAL_USE_TAG in (row["tags"] or ())
    return rows


def list_sources(store: CaseStore) -> list[dict[str, Any]]:
    """Every imported file with its hash, format, title and what it contributed."""
    sql = """
        SELECT src.source_id, src.name, src.path, src.sha256, src.size, src.format, src.title,
            src.producer, src.imported_at, src.indicator_count, src.warning_count,
            src.techniques,
            (SELECT map(list(type), list(n)) FROM (
                SELECT type, count(*) AS n FROM sightings s
                WHERE s.source_id = src.source_id GROUP BY type ORDER BY type)) AS by_type
        FROM sources src ORDER BY src.imported_at, src.name
    """
    columns = [
        "source_id",
        "name",
        "path",
        "sha256",
        "size",
        "format",
        "title",
        "producer",
        "imported_at",
        "indicators",
        "warnings",
        "techniques",
        "by_type",
    ]
    return [dict(zip(columns, row, strict=True)) for row in store.con.execute(sql).fetchall()]
