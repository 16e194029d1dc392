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
join, against the probe index the case keeps (``indicator_keys``). Only rare forms SQL cannot
canonicalise (IPv6, non-ASCII names) are normalised in Python first, and IPv6 networks are
checked there. The match rows are folded into one answer per value in Arrow (:func:`_per_value`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from seawall.case.store import CaseStore, utcnow
from seawall.intel import hygiene, normalize
from seawall.intel.lookup_sql import (
    HOW,
    PROBE_PLAN_SQL,
    VERDICTS,
    ProbePlan,
    details_sql,
    match_rows_sql,
)

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
    [("qid", pa.int64()), ("type", pa.string()), ("value", pa.string()), ("how", pa.uint8())]
)
_CIDR = HOW.index("cidr")
_THREADS = 2  # for the Arrow work around the SQL (its kernels release the GIL)
_HOW_NAMES = pa.array(HOW, pa.string())
_VERDICT_NAMES = pa.array([*VERDICTS, Verdict.UNKNOWN.value], pa.string())


def _query_table(values: pa.Array) -> tuple[pa.Table, dict[int, str]]:
    """The table SQL matches on, and the values that Python had to canonicalise (by qid).

    Lower-casing and trimming happen here, vectorised, because Arrow's ASCII kernels are far
    cheaper than SQL string functions; values that are not ASCII or look like IPv6 go through
    the full Python normaliser instead (they are rare in bulk input). Two threads take half the
    values each (Arrow releases the GIL), so the table has two chunks.
    """
    values = values.cast(pa.string())
    half = len(values) // 2
    halves = [values[:half], values[half:]]
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        prepared = list(pool.map(_prepare, halves))
    indices = prepared[0][1] + [half + i for i in prepared[1][1]]
    # lower-cased like every other match value (URL paths match without case, see lookup_sql)
    canonical = {i: _python_canonical(str(values[i].as_py())).lower() for i in indices}
    match_values = [part for part, _ in prepared]
    if canonical:
        # put the canonical forms in place by a mask, not through a Python list of every value
        marked = pc.scatter(
            pa.repeat(True, len(indices)), pa.array(indices, pa.int64()), max_index=len(values) - 1
        )
        whole = pc.replace_with_mask(
            pa.concat_arrays(match_values),
            pc.fill_null(marked, False),
            pa.array(list(canonical.values()), pa.string()),
        )
        match_values = [whole[:half], whole[half:]]
    qids = _row_numbers(len(values))
    return pa.Table.from_batches(
        [
            pa.record_batch({"qid": qids[part], "query": values[part], "match_value": mv})
            for part, mv in zip((slice(0, half), slice(half, None)), match_values, strict=True)
        ]
    ), canonical


def _prepare(values: pa.Array) -> tuple[pa.Array, list[int]]:
    """Lower-cased, trimmed match values, and the positions Python must canonicalise."""
    ascii_only = pc.fill_null(pc.string_is_ascii(values), True)
    match_values = pc.utf8_trim(pc.ascii_lower(values), characters=_TRIMMED)
    # IPv6 candidates: a colon but no scheme; '://' is only checked on the rows with a colon.
    with_colon = pc.indices_nonzero(pc.fill_null(pc.match_substring(values, ":"), False))
    schemeless = pc.invert(pc.match_substring(pc.take(values, with_colon), "://"))
    ipv6_like = pc.filter(with_colon, schemeless).to_pylist()
    not_ascii = pc.indices_nonzero(pc.invert(ascii_only)).to_pylist()
    return match_values, sorted(set(ipv6_like) | set(not_ascii))


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
                    for column, item in zip(rows, (qid, "cidr", network_text, _CIDR), strict=True):
                        rows[column].append(item)
    return pa.table(rows, schema=_EXTRA_SCHEMA)


def _verdict_params() -> dict[str, object]:
    return {"now": utcnow(), "threshold": MALICIOUS_CONFIDENCE}


def _probe_plan(store: CaseStore) -> ProbePlan:
    """Which probes this case can match at all (see :class:`ProbePlan`)."""
    row = store.con.execute(PROBE_PLAN_SQL).fetchone()
    store.con.complete()
    plens, sizes, stored_hash = row if row else (None, None, True)
    return ProbePlan(tuple(plens or ()), tuple(sizes or ()), bool(stored_hash))


@contextmanager
def _registered_queries(store: CaseStore, values: pa.Array) -> Iterator[ProbePlan]:
    """Register the query table (and its IPv6 network matches) for one lookup.

    Yields the probe plan for :func:`seawall.intel.lookup_sql.matches_sql`.
    """
    query, canonical = _query_table(values)
    extra = _ipv6_network_matches(store, canonical)
    plan = _probe_plan(store)
    with store.registered("_lookup_query", query), store.registered("_lookup_extra", extra):
        yield plan


def lookup_bulk(store: CaseStore, values: pa.Array | Sequence[str]) -> pa.Table:
    """Verdicts for many values at once: one row per value, in input order.

    Columns: ``query``, ``verdict``, ``matches`` (how many indicators matched, counting each
    way it matched), and the strongest match: ``how`` (exact first, then url-host,
    email-domain, parent-domain, cidr) and its ``indicator``. :func:`lookup` gives every source.
    """
    array = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    with _registered_queries(store, array) as plan:
        matched = _match_rows(store, plan)
    return pa.table({"query": array, **_per_value(matched, len(array))})


def _match_rows(store: CaseStore, plan: ProbePlan) -> pa.Table:
    """Every match as (qid, verdict class, how, indicator), in no particular order."""
    relation = store.con.sql(match_rows_sql(plan), params=_verdict_params())
    assert relation is not None  # a SELECT always gives a relation
    return relation.to_arrow_table().combine_chunks()


def _row_numbers(count: int) -> pa.Array:
    """0..count-1 as int64, without a Python range (which costs more than the Arrow work)."""
    return pc.indices_nonzero(pa.repeat(True, count)).cast(pa.int64())


def _per_value(matched: pa.Table, size: int) -> dict[str, pa.Array]:
    """Fold match rows into one answer per value, in input order (the ``lookup_bulk`` columns).

    The answer: the best verdict class, the number of matches, and the strongest match (lowest
    ``how``; among equally strong ones the most specific, i.e. longest, indicator — the nearest
    parent domain — then the smallest, so that the answer is stable).
    Values matched once (nearly all) take their row as it is; only values with several rows are
    grouped. Each row's number is written at its value's slot: when fewer slots are filled than
    there are rows, some values matched several times, and a row that does not read its own
    number back names one of them. Everything is placed through row numbers, so the indicator
    strings are copied once, by one ``take``.
    """
    qid = matched.column("qid").combine_chunks()
    rows = _row_numbers(matched.num_rows)
    slot = pc.scatter(rows, qid, max_index=size - 1)  # a row of each matched value
    verdict = pc.take(matched.column("verdict").combine_chunks(), slot)
    matches = pc.if_else(pc.is_valid(slot), 1, 0).cast(pa.int64())
    if size - slot.null_count < matched.num_rows:
        lost = pc.not_equal(pc.take(slot, qid), rows)
        several = pc.is_in(qid, value_set=pc.unique(pc.filter(qid, lost)))
        grouped = matched.append_column("row", rows).filter(several)
        grouped = grouped.append_column("length", pc.binary_length(grouped.column("indicator")))
        order = pc.sort_indices(
            grouped,
            [
                ("qid", "ascending"),
                ("how", "ascending"),
                ("length", "descending"),
                ("indicator", "ascending"),
            ],
        )
        grouped = grouped.take(order)
        # the first row of each value's run is its strongest match, as sorted
        ids = grouped.column("qid").combine_chunks()
        previous = pa.concat_arrays([pa.nulls(1, ids.type), ids[:-1]])
        strongest = grouped.filter(pc.fill_null(pc.not_equal(ids, previous), True))
        rows_at = pc.scatter(
            strongest.column("row").combine_chunks(),
            strongest.column("qid").combine_chunks(),
            max_index=size - 1,
        )
        slot = pc.coalesce(rows_at, slot)
        totals = grouped.group_by("qid").aggregate([("verdict", "max"), ("qid", "count")])
        at = totals.column("qid").combine_chunks()

        def fix(column: str, base: pa.Array) -> pa.Array:
            values = totals.column(column).combine_chunks().cast(base.type)
            return pc.coalesce(pc.scatter(values, at, max_index=size - 1), base)

        verdict = fix("verdict_max", verdict)
        matches = fix("qid_count", matches)
    how = matched.column("how").combine_chunks()
    indicator = matched.column("indicator").combine_chunks()

    def place(part: slice) -> tuple[pa.Array, pa.Array, pa.Array]:
        rows_at = slot[part]
        # small codes become names once per value; no match at all is "unknown"
        verdicts = pc.take(_VERDICT_NAMES, pc.fill_null(verdict[part], len(VERDICTS)))
        hows = pc.take(_HOW_NAMES, pc.take(how, rows_at))
        return verdicts, hows, pc.take(indicator, rows_at)

    # The placing copies every answer's strings; Arrow releases the GIL, so two threads do
    # half each (the SQL engine that used both cores is idle by now).
    half = size // 2
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        parts = list(pool.map(place, [slice(0, half), slice(half, size)]))
    verdicts, hows, indicators = (pa.chunked_array(column) for column in zip(*parts, strict=True))
    return {"verdict": verdicts, "matches": matches, "how": hows, "indicator": indicators}


def lookup(store: CaseStore, values: Sequence[str]) -> list[LookupResult]:
    """Verdict plus every source's sighting, for each value (for people and reports)."""
    array = pa.array(list(values), pa.string())
    with _registered_queries(store, array) as plan:
        answers = _per_value(_match_rows(store, plan), len(array))
        details = store.con.execute(details_sql(plan)).fetchall()
    verdicts = answers["verdict"].to_pylist()
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
        result = LookupResult(query, Verdict(verdicts[qid]), "", found)
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
