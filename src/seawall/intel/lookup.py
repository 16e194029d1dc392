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
join, against the probe index the case keeps (``indicator_keys``). The plain values (names,
addresses, hashes: nearly all) have their probes made in numpy first
(:mod:`seawall.intel.lookup_probes`); only rare forms SQL cannot canonicalise (IPv6, non-ASCII
names) are normalised in Python, and IPv6 networks are checked there. The match rows are folded
into one answer per value in numpy (:mod:`seawall.intel.lookup_fold`).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawall.case.store import CaseStore, utcnow
from seawall.intel import hygiene, lookup_probes, normalize
from seawall.intel.lookup_fold import per_value
from seawall.intel.lookup_sql import (
    HOW,
    MALICIOUS_CONFIDENCE,
    PROBE_PLAN_SQL,
    ProbePlan,
    details_sql,
    match_rows_sql,
)
from seawall.model.verdict import Verdict
from seawall.triage.knowngood import DUAL_USE_TAG

__all__ = ["LookupResult", "SourceMatch", "Verdict", "lookup"]


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

    @property
    def dual_use(self) -> bool:
        """A live match is a known-good binary's hash (tagged at import): the tool is real and
        the actors used it, so a file with this hash is judged by where it sits."""
        return any(DUAL_USE_TAG in m.tags for m in self.matches if m.benign_reason is None)

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
            "dual_use": self.dual_use,
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
    [("qid", pa.int32()), ("type", pa.string()), ("value", pa.string()), ("how", pa.uint8())]
)
_CIDR = HOW.index("cidr")
_THREADS = 2  # for the Arrow and numpy work around the SQL (both release the GIL)


@dataclass(frozen=True, slots=True)
class _Query:
    """What one lookup registers for the SQL (see :mod:`seawall.intel.lookup_sql`)."""

    table: pa.Table  # _lookup_query(qid, query, match_value, plain)
    canonical: dict[int, str]  # the values Python canonicalised, by qid
    parents: pa.Table  # _lookup_parents(qid, key): the plain values' parent-domain probes
    networks: pa.Table  # _lookup_networks(qid, net): the plain values' network probes
    general: bool  # whether some values are not plain (the SQL path takes them apart)


def _query_table(values: pa.Array, plan: ProbePlan) -> _Query:
    """The tables SQL matches on, and the values that Python had to canonicalise.

    Lower-casing and trimming happen here, vectorised, because Arrow's ASCII kernels are far
    cheaper than SQL string functions; values that are not ASCII or look like IPv6 go through
    the full Python normaliser instead (they are rare in bulk input). The plain values (see
    :func:`_prepare`) get their probes here too. Two threads take half the values each (Arrow
    and numpy release the GIL), so the tables have two chunks.
    """
    values = values.cast(pa.string())
    half = len(values) // 2
    parts = (slice(0, half), slice(half, None))
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        prepared = list(
            pool.map(_prepare, [values[part] for part in parts], (0, half), (plan, plan))
        )
    indices = prepared[0].suspects + [half + i for i in prepared[1].suspects]
    # lower-cased like every other match value (URL paths match without case, see lookup_sql)
    canonical = {i: _python_canonical(str(values[i].as_py())).lower() for i in indices}
    match_values = [p.match_values for p in prepared]
    if canonical:
        # put the canonical forms in place by a mask, not through a Python list of every value
        # (they are not plain: _prepare left them out)
        marked = pc.fill_null(
            pc.scatter(
                pa.repeat(True, len(indices)),
                pa.array(indices, pa.int64()),
                max_index=len(values) - 1,
            ),
            False,
        )
        whole = pc.replace_with_mask(
            pa.concat_arrays(match_values), marked, pa.array(list(canonical.values()), pa.string())
        )
        match_values = [whole[part] for part in parts]
    qids = pa.array(np.arange(len(values), dtype=np.int32))
    table = pa.Table.from_batches(
        [
            pa.record_batch(
                {
                    "qid": qids[part],
                    "query": values[part],
                    "match_value": mv,
                    "plain": pa.array(p.probes.plain),
                }
            )
            for part, mv, p in zip(parts, match_values, prepared, strict=True)
        ]
    )
    return _Query(
        table,
        canonical,
        pa.Table.from_batches(
            [batch for p in prepared for batch in p.probes.parents], lookup_probes.PARENTS_SCHEMA
        ),
        pa.Table.from_batches([p.probes.networks for p in prepared], lookup_probes.NETWORKS_SCHEMA),
        general=not all(p.probes.plain.all() for p in prepared),
    )


@dataclass(frozen=True, slots=True)
class _Prepared:
    match_values: pa.Array  # lower-cased and trimmed
    suspects: list[int]  # positions Python must canonicalise
    probes: lookup_probes.PlainProbes  # which values are plain, and their probes


# A match value holding none of these, and not starting with a defanged scheme, needs no
# refanging and is neither a URL nor an e-mail address: numpy takes it apart (lookup_probes).
_NOT_PLAIN = ("[", "(", "{", "@", "://")
_DEFANGED_SCHEMES = ("hxxp", "hxp", "h**p", "fxp")  # as lookup_sql refangs them; see _blocks


def _prepare(values: pa.Array, first_qid: int, plan: ProbePlan) -> _Prepared:
    """Match values, the positions Python must canonicalise, and the plain values' probes.

    A value is plain when it is not null, Python need not canonicalise it, it holds none of
    ``_NOT_PLAIN`` and does not start with a defanged scheme (and, see
    :func:`seawall.intel.lookup_probes.plain_probes`, is no zero-padded address). The
    per-value substring searches only run on the blocks whose bytes hold one of those
    characters (see :func:`_blocks`): bulk input has few such values.
    """
    match_values = pc.utf8_trim(pc.ascii_lower(values), characters=_TRIMMED)
    blocks = _blocks(values)
    suspects: set[int] = set()
    for block in blocks.colon:
        # IPv6 candidates: a colon but no scheme; '://' is only checked on the rows with a colon
        part = values[block]
        with_colon = pc.indices_nonzero(pc.fill_null(pc.match_substring(part, ":"), False))
        schemeless = pc.invert(pc.match_substring(pc.take(part, with_colon), "://"))
        suspects.update(block.start + i for i in pc.filter(with_colon, schemeless).to_pylist())
    for block in blocks.wide:
        ascii_only = pc.fill_null(pc.string_is_ascii(values[block]), True)
        suspects.update(
            block.start + i for i in pc.indices_nonzero(pc.invert(ascii_only)).to_pylist()
        )
    plain = np.logical_not(_not_plain(match_values, blocks))
    if match_values.null_count:
        plain &= pc.is_valid(match_values).to_numpy(zero_copy_only=False)
    plain[list(suspects)] = False
    probes = lookup_probes.plain_probes(
        match_values, plain, first_qid, plan.parent_sizes, plan.plens
    )
    return _Prepared(match_values, sorted(suspects), probes)


def _not_plain(match_values: pa.Array, blocks: _Blocks) -> lookup_probes.Mask:
    """True for the values that are not plain, by the tests of the blocks that need them."""
    found = np.zeros(len(match_values), np.bool_)
    tests: list[tuple[slice, tuple[str, ...], tuple[str, ...]]]
    tests = [(block, _DEFANGED_SCHEMES, ()) for block in blocks.scheme]
    tests += [(block, (), _NOT_PLAIN) for block in blocks.special]
    for block, schemes, needles in tests:
        part = match_values[block]
        hits = [pc.starts_with(part, scheme) for scheme in schemes]
        hits += [pc.match_substring(part, needle) for needle in needles]
        hit = pc.fill_null(functools.reduce(pc.or_, hits), False)
        found[block] |= hit.to_numpy(zero_copy_only=False)
    return found


_BLOCK_ROWS = 1 << 14


@dataclass(frozen=True, slots=True)
class _Blocks:
    """Row ranges of up to ``_BLOCK_ROWS`` values whose bytes hold something of interest."""

    colon: list[slice]  # a colon (IPv6 candidates)
    special: list[slice]  # a character of _NOT_PLAIN (colon included)
    wide: list[slice]  # a non-ASCII byte
    scheme: list[slice]  # an x, X or * (every defanged scheme has one)


def _blocks(values: pa.Array) -> _Blocks:
    """The blocks of values that need the per-value tests of :func:`_prepare`.

    Testing a block's bytes at once (C ``find`` and ``isascii`` over one copy of the value
    bytes) costs a fraction of a per-value substring search. Lower-casing and trimming never
    add these characters (lower-casing only turns an X into the x also searched for), so the
    original values' bytes answer for the match values too. The scheme test looks for single
    bytes: a search for a longer needle such as "xp" is far slower than ``memchr``.
    """
    found = _Blocks([], [], [], [])
    _, offsets_buffer, data_buffer = values.buffers()  # a StringArray: int32 offsets
    if data_buffer is None or len(values) == 0:
        return found
    ints = memoryview(offsets_buffer)[: offsets_buffer.size // 4 * 4].cast("i")
    offsets = ints[values.offset : values.offset + len(values) + 1]
    first = offsets[0]
    data = bytes(memoryview(data_buffer)[first : offsets[-1]])
    whole_ascii = data.isascii()
    needles = [needle[0:1].encode() for needle in _NOT_PLAIN]  # '://' has a ':'
    for start in range(0, len(values), _BLOCK_ROWS):
        block = slice(start, min(start + _BLOCK_ROWS, len(values)))
        low, high = offsets[block.start] - first, offsets[block.stop] - first
        colon = data.find(b":", low, high) >= 0
        if colon:
            found.colon.append(block)
        if colon or any(data.find(needle, low, high) >= 0 for needle in needles):
            found.special.append(block)
        if not whole_ascii and not data[low:high].isascii():
            found.wide.append(block)
        if any(data.find(needle, low, high) >= 0 for needle in (b"x", b"X", b"*")):
            found.scheme.append(block)
    return found


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


# What the match SQL depends on: the case's probe plan, and whether some values are not plain.
_Shape = tuple[ProbePlan, bool]


@contextmanager
def _registered_queries(store: CaseStore, values: pa.Array) -> Iterator[_Shape]:
    """Register the query tables (and the IPv6 network matches) for one lookup.

    Yields the arguments of :func:`seawall.intel.lookup_sql.matches_sql` for them.
    """
    plan = _probe_plan(store)
    query = _query_table(values, plan)
    with _registered(store, query, _ipv6_network_matches(store, query.canonical)):
        yield plan, query.general


@contextmanager
def _registered(store: CaseStore, query: _Query, extra: pa.Table) -> Iterator[None]:
    """The tables of :mod:`seawall.intel.lookup_sql`, registered for the block."""
    with (
        store.registered("_lookup_query", query.table),
        store.registered("_lookup_parents", query.parents),
        store.registered("_lookup_networks", query.networks),
        store.registered("_lookup_extra", extra),
    ):
        yield


def lookup_bulk(store: CaseStore, values: pa.Array | Sequence[str]) -> pa.Table:
    """Verdicts for many values at once: one row per value, in input order.

    Columns: ``query``, ``verdict``, ``matches`` (how many indicators matched, counting each
    way it matched), and the strongest match: ``how`` (exact first, then url-host,
    email-domain, parent-domain, cidr) and its ``indicator``. :func:`lookup` gives every source.

    Types: ``query`` is the input as strings; ``matches`` is int64; the three text answers are
    dictionary-encoded strings, so that no string is copied per value (``to_pylist``, DuckDB and
    casts to ``string`` read them as plain strings):

    - ``verdict``: ``dictionary<int8, string>`` over benign, suspicious, malicious and unknown,
      each once;
    - ``how``: ``dictionary<int8, string>`` over the match kinds, each once; null: no match;
    - ``indicator``: ``dictionary<int32, string>`` whose indices point into this lookup's match
      rows; null: no match. The same indicator may appear under several indices, so decode
      (``.cast(pa.string())``) before grouping or comparing by index.
    """
    array = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    with _registered_queries(store, array) as shape:
        matched = _match_rows(store, shape)
    return pa.table({"query": array, **per_value(matched, len(array))})


def _match_rows(store: CaseStore, shape: _Shape) -> pa.Table:
    """Every match as (qid, code: its how and verdict class, indicator), in no particular
    order."""
    relation = store.con.sql(match_rows_sql(*shape), params=_verdict_params())
    assert relation is not None  # a SELECT always gives a relation
    return relation.to_arrow_table()


def lookup(store: CaseStore, values: Sequence[str]) -> list[LookupResult]:
    """Verdict plus every source's sighting, for each value (for people and reports)."""
    array = pa.array(list(values), pa.string())
    with _registered_queries(store, array) as shape:
        answers = per_value(_match_rows(store, shape), len(array))
        details = store.con.execute(details_sql(*shape)).fetchall()
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
    if result.dual_use:
        text += "; dual-use: a legitimate tool's hash, so a file with it is judged by location"
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
