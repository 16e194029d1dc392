"""Multi-source reputation: what every source in the case says about a value.

A value matches an indicator ``exact``-ly, as a ``parent-domain`` (a subdomain of an indicator
domain, never reaching a public suffix: those indicators are rejected at import), as a ``url-host``
(the host of a URL is an indicator), an ``email-domain``, or by ``cidr`` (an IP inside an indicator
network). The verdict, per value:

- ``malicious``: some match is an active indicator (no benign reason) whose best source confidence
  is at least :data:`MALICIOUS_CONFIDENCE` (a source that states none counts as sure) and that is
  still valid (no ``valid_until`` in the past);
- ``suspicious``: active matches exist, but all are low-confidence or expired;
- ``benign``: the only matches are indicators known to be benign (empty-file hash, private IPs);
  unmatched values that hygiene itself calls benign are reported the same way;
- ``unknown``: nothing matched. Unknown is not clean: it means no source in this case knows it.

All matching is one SQL statement (:mod:`seawall.intel.lookup_sql`), so a million values are one
join. Only rare forms SQL cannot canonicalise (IPv6, non-ASCII names) are normalised in Python
first, and IPv6 networks are checked there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from seawall.case.store import CaseStore, utcnow
from seawall.intel import hygiene, normalize
from seawall.intel.lookup_sql import DETAILS_SQL, VERDICT_SQL

MALICIOUS_CONFIDENCE = 50


class Verdict(StrEnum):
    MALICIOUS = "malicious"
    SUSPICIOUS = "suspicious"
    BENIGN = "benign"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class SourceMatch:
    """One source's sighting of an indicator that the looked-up value matched."""

    source: str
    source_id: str
    source_file: str | None
    indicator_type: str
    indicator: str
    how: str
    confidence: int | None
    first_seen: datetime | None
    last_seen: datetime | None
    valid_until: datetime | None
    title: str | None
    external_id: str | None
    benign_reason: str | None
    techniques: tuple[str, ...]
    tags: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "source_id": self.source_id,
            "source_file": self.source_file,
            "indicator": {"type": self.indicator_type, "value": self.indicator},
            "match": self.how,
            "confidence": self.confidence,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "valid_until": self.valid_until,
            "title": self.title,
            "external_id": self.external_id,
            "benign_reason": self.benign_reason,
            "techniques": list(self.techniques),
            "tags": list(self.tags),
        }


@dataclass(slots=True)
class LookupResult:
    query: str
    verdict: Verdict
    reason: str
    matches: list[SourceMatch] = field(default_factory=list)

    @property
    def techniques(self) -> list[str]:
        return sorted({t for m in self.matches for t in m.techniques})

    def as_dict(self) -> dict[str, Any]:
        seen_first = [m.first_seen for m in self.matches if m.first_seen]
        seen_last = [m.last_seen for m in self.matches if m.last_seen]
        return {
            "query": self.query,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "sources": sorted({m.source for m in self.matches}),
            "first_seen": min(seen_first) if seen_first else None,
            "last_seen": max(seen_last) if seen_last else None,
            "techniques": self.techniques,
            "matches": [m.as_dict() for m in self.matches],
        }


def _python_canonical(value: str) -> str:
    """Canonical form of a value SQL cannot canonicalise (IPv6, IDN); itself when it fails."""
    refanged = normalize.refang(value)
    kind = normalize.detect_type(refanged)
    if kind is None:
        return value
    try:
        return normalize.normalise(kind, refanged)
    except ValueError:
        return value


_TRIMMED = " \t\r\n\f\v."
_EXTRA_SCHEMA = pa.schema(
    [("qid", pa.int64()), ("type", pa.string()), ("value", pa.string()), ("how", pa.string())]
)


def _query_table(values: pa.Array) -> tuple[pa.Table, dict[int, str]]:
    """The table SQL matches on, and the values that Python had to canonicalise (by qid).

    Lower-casing and trimming happen here, vectorised, because Arrow's ASCII kernels are far
    cheaper than SQL string functions; values that are not ASCII or look like IPv6 go through
    the full Python normaliser instead (they are rare in bulk input).
    """
    values = values.cast(pa.string())
    ascii_only = pc.fill_null(pc.string_is_ascii(values), True)
    match_values = pc.utf8_trim(pc.ascii_lower(values), characters=_TRIMMED)
    # IPv6 candidates: a colon but no scheme; '://' is only checked on the rows with a colon.
    with_colon = pc.indices_nonzero(pc.fill_null(pc.match_substring(values, ":"), False))
    schemeless = pc.invert(pc.match_substring(pc.take(values, with_colon), "://"))
    ipv6_like = pc.filter(with_colon, schemeless).to_pylist()
    not_ascii = pc.indices_nonzero(pc.invert(ascii_only)).to_pylist()
    indices = sorted(set(ipv6_like) | set(not_ascii))
    # lower-cased like every other match value (URL paths match without case, see lookup_sql)
    canonical = {i: _python_canonical(str(values[i].as_py())).lower() for i in indices}
    if canonical:
        replaced = match_values.to_pylist()
        for index, value in canonical.items():
            replaced[index] = value
        match_values = pa.array(replaced, pa.string())
    # 0..n-1 without a Python range (which costs more than the whole Arrow pass above)
    everything = pc.or_(pc.is_valid(values), pc.is_null(values))
    qids = pc.indices_nonzero(everything).cast(pa.int64())
    return pa.table({"qid": qids, "query": values, "match_value": match_values}), canonical


def _ipv6_network_matches(store: CaseStore, canonical: dict[int, str]) -> pa.Table:
    """IPv6 values inside IPv6 indicator networks (rare, so checked here rather than in SQL)."""
    addresses = {}
    for qid, value in canonical.items():
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            continue
        if address.version == 6:
            addresses[qid] = address
    rows: dict[str, list[Any]] = {"qid": [], "type": [], "value": [], "how": []}
    if addresses:
        networks = store.con.execute(
            "SELECT value FROM indicators"
            " WHERE type = 'cidr' AND contains(value, ':') AND rejected_reason IS NULL"
        ).fetchall()
        for (network_text,) in networks:
            network = ipaddress.ip_network(network_text, strict=False)
            for qid, address in addresses.items():
                if address in network:
                    for column, item in zip(rows, (qid, "cidr", network_text, "cidr"), strict=True):
                        rows[column].append(item)
    return pa.table(rows, schema=_EXTRA_SCHEMA)


def _verdict_params() -> dict[str, object]:
    return {"now": utcnow(), "threshold": MALICIOUS_CONFIDENCE}


@contextmanager
def _registered_queries(store: CaseStore, values: pa.Array) -> Iterator[None]:
    """Register the query table (and its IPv6 network matches) for one lookup."""
    query, canonical = _query_table(values)
    extra = _ipv6_network_matches(store, canonical)
    with store.registered("_lookup_query", query), store.registered("_lookup_extra", extra):
        yield


def lookup_bulk(store: CaseStore, values: pa.Array | Sequence[str]) -> pa.Table:
    """Verdicts for many values at once: one row per value, in input order.

    Columns: ``query``, ``verdict``, ``matches`` (how many indicators matched, counting each
    way it matched), and the strongest match: ``how`` (exact first, then url-host,
    email-domain, parent-domain, cidr) and its ``indicator``. :func:`lookup` gives every source.
    """
    array = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    with _registered_queries(store, array):
        relation = store.con.sql(VERDICT_SQL, params=_verdict_params())
        assert relation is not None  # a SELECT always gives a relation
        matched = relation.to_arrow_table()
    # Place each matched row at its query's position; every other query is unknown.
    qids = matched.column("qid")

    def spread(column: str) -> pa.Array:
        values = matched.column(column).combine_chunks()
        return pc.scatter(values, qids, max_index=len(array) - 1) if len(array) else values

    return pa.table(
        {
            "query": array,
            "verdict": pc.fill_null(spread("verdict"), Verdict.UNKNOWN.value),
            "matches": pc.fill_null(spread("matches"), 0),
            "how": spread("how"),
            "indicator": spread("indicator"),
        }
    )


def lookup(store: CaseStore, values: Sequence[str]) -> list[LookupResult]:
    """Verdict plus every source's sighting, for each value (for people and reports)."""
    array = pa.array(list(values), pa.string())
    with _registered_queries(store, array):
        rows = store.con.execute(VERDICT_SQL, _verdict_params()).fetchall()
        verdicts: dict[int, str] = {row[0]: row[1] for row in rows}
        details = store.con.execute(DETAILS_SQL).fetchall()
    matches: dict[int, list[SourceMatch]] = {}
    for row in details:
        qid, how, kind, value, benign, source, source_id, path = row[:8]
        confidence, first, last, until, title, external_id, techniques, tags = row[8:]
        matches.setdefault(qid, []).append(
            SourceMatch(
                source=source,
                source_id=source_id,
                source_file=path,
                indicator_type=kind,
                indicator=value,
                how=how,
                confidence=confidence,
                first_seen=first,
                last_seen=last,
                valid_until=until,
                title=title,
                external_id=external_id,
                benign_reason=benign,
                techniques=tuple(techniques or ()),
                tags=tuple(tags or ()),
            )
        )
    results = []
    for qid, query in enumerate(values):
        found = matches.get(qid, [])
        result = LookupResult(query, Verdict(verdicts.get(qid, Verdict.UNKNOWN.value)), "", found)
        result.reason = _reason(result)
        results.append(result)
    return results


def _reason(result: LookupResult) -> str:
    """Say in one line why the verdict is what it is."""
    if result.verdict is Verdict.UNKNOWN:
        benign = _hygiene_benign(result.query)
        if benign:
            result.verdict = Verdict.BENIGN
            return f"no source lists it; {benign}"
        return "no source in this case lists it (unknown is not clean)"
    active = [m for m in result.matches if m.benign_reason is None]
    if result.verdict is Verdict.BENIGN:
        reasons = sorted({m.benign_reason for m in result.matches if m.benign_reason})
        return "listed, but known benign: " + "; ".join(reasons)
    sources = sorted({m.source for m in active})
    hows = sorted({f"{m.indicator_type} {m.indicator} ({m.how})" for m in active})
    confidences = [m.confidence for m in active if m.confidence is not None]
    sure = f", best confidence {max(confidences)}" if confidences else ""
    text = f"matches {', '.join(hows)} in {len(sources)} source(s): {', '.join(sources)}{sure}"
    if result.verdict is Verdict.SUSPICIOUS:
        text += f" (below confidence {MALICIOUS_CONFIDENCE} or no longer valid)"
    return text


def _hygiene_benign(value: str) -> str | None:
    refanged = normalize.refang(value)
    kind = normalize.detect_type(refanged)
    if kind is None:
        return None
    try:
        return hygiene.assess(kind, normalize.normalise(kind, refanged)).benign_reason
    except ValueError:
        return None
