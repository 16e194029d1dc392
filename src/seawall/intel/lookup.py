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

import functools
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
    CODES,
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
    [("qid", pa.int32()), ("type", pa.string()), ("value", pa.string()), ("how", pa.uint8())]
)
_CIDR = HOW.index("cidr")
_THREADS = 2  # for the Arrow work around the SQL (its kernels release the GIL)
# The answer's verdict and how are dictionary-encoded, each name once (so that grouping by the
# column groups by name). A match code (see lookup_sql.CODES) becomes their indices through
# these small tables; the code past the last means "no match" (verdict unknown, how null).
_VERDICT_NAMES = pa.array([*VERDICTS, Verdict.UNKNOWN.value], pa.string())
_HOW_NAMES = pa.array(HOW, pa.string())
_NO_MATCH = len(CODES)
_VERDICT_OF_CODE = pa.array([VERDICTS.index(v) for _, v in CODES] + [len(VERDICTS)], pa.int8())
# "no match" has a how index too, which the answer masks by its slot's validity: a take from
# a table without nulls is several times faster than one from a table with a null
_HOW_OF_CODE = pa.array([HOW.index(h) for h, _ in CODES] + [0], pa.int8())


def _query_table(values: pa.Array) -> tuple[pa.Table, dict[int, str]]:
    """The table SQL matches on, and the values that Python had to canonicalise (by qid).

    Lower-casing and trimming happen here, vectorised, because Arrow's ASCII kernels are far
    cheaper than SQL string functions; values that are not ASCII or look like IPv6 go through
    the full Python normaliser instead (they are rare in bulk input). ``plain`` marks the values
    SQL can type by the cheap tests alone (see :func:`_prepare`). Two threads take half the
    values each (Arrow releases the GIL), so the table has two chunks.
    """
    values = values.cast(pa.string())
    half = len(values) // 2
    parts = (slice(0, half), slice(half, None))
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        prepared = list(pool.map(_prepare, [values[part] for part in parts]))
    indices = prepared[0].suspects + [half + i for i in prepared[1].suspects]
    # lower-cased like every other match value (URL paths match without case, see lookup_sql)
    canonical = {i: _python_canonical(str(values[i].as_py())).lower() for i in indices}
    match_values = [p.match_values for p in prepared]
    plain = [p.plain for p in prepared]
    if canonical:
        # put the canonical forms in place by a mask, not through a Python list of every value;
        # they are not plain (an e-mail address with an internationalised domain has an '@')
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
        whole_plain = pc.and_not(pa.concat_arrays(plain), marked)
        match_values = [whole[part] for part in parts]
        plain = [whole_plain[part] for part in parts]
    qids = _row_numbers(len(values))
    return pa.Table.from_batches(
        [
            pa.record_batch(
                {"qid": qids[part], "query": values[part], "match_value": mv, "plain": flags}
            )
            for part, mv, flags in zip(parts, match_values, plain, strict=True)
        ]
    ), canonical


@dataclass(frozen=True, slots=True)
class _Prepared:
    match_values: pa.Array  # lower-cased and trimmed
    suspects: list[int]  # positions Python must canonicalise
    plain: pa.Array  # see _prepare


# A match value holding none of these, and not starting with a defanged scheme, needs no
# refanging and is neither a URL nor an e-mail address: SQL types it by the cheap tests alone.
_NOT_PLAIN = ("[", "(", "{", "@", "://")
_DEFANGED_SCHEMES = ("hxxp", "hxp", "h**p", "fxp")  # as lookup_sql refangs them; see _blocks


def _prepare(values: pa.Array) -> _Prepared:
    """Match values, the positions Python must canonicalise, and which values are plain.

    ``plain`` is true for a value that holds none of ``_NOT_PLAIN`` and does not start with a
    defanged scheme. The per-value substring searches only run on the blocks whose bytes hold
    one of those characters (see :func:`_blocks`): bulk input has few such values.
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
    plain = pc.invert(pc.fill_null(_not_plain(match_values, blocks), False))
    return _Prepared(match_values, sorted(suspects), plain)


def _not_plain(match_values: pa.Array, blocks: _Blocks) -> pa.Array:
    """True for the values that are not plain: each block's own tests, false elsewhere."""
    schemes = {block.start for block in blocks.scheme}
    specials = {block.start for block in blocks.special}
    tested = {block.start: block for block in blocks.scheme + blocks.special}
    pieces, done = [], 0
    for start in sorted(tested):
        block = tested[start]
        part = match_values[block]
        hits = []
        if start in schemes:
            hits += [pc.starts_with(part, scheme) for scheme in _DEFANGED_SCHEMES]
        if start in specials:
            hits += [pc.match_substring(part, needle) for needle in _NOT_PLAIN]
        pieces += [pa.repeat(False, start - done), functools.reduce(pc.or_, hits)]
        done = block.stop
    pieces.append(pa.repeat(False, len(match_values) - done))
    return pa.concat_arrays(pieces)


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
    with _registered_queries(store, array) as plan:
        matched = _match_rows(store, plan)
    return pa.table({"query": array, **_per_value(matched, len(array))})


def _match_rows(store: CaseStore, plan: ProbePlan) -> pa.Table:
    """Every match as (qid, verdict class, how, indicator), in no particular order."""
    relation = store.con.sql(match_rows_sql(plan), params=_verdict_params())
    assert relation is not None  # a SELECT always gives a relation
    return relation.to_arrow_table().combine_chunks()


def _row_numbers(count: int) -> pa.Array:
    """0..count-1 as int32, without a Python range (which costs more than the Arrow work).

    int32 rather than int64: scattering and taking by half-width numbers is markedly faster.
    """
    return pc.indices_nonzero(pa.repeat(True, count)).cast(pa.int32())


def _per_value(matched: pa.Table, size: int) -> dict[str, pa.Array]:
    """Fold match rows into one answer per value, in input order (the ``lookup_bulk`` columns).

    The answer: the best verdict class, the number of matches, and the strongest match (lowest
    ``how``; among equally strong ones the most specific, i.e. longest, indicator — the nearest
    parent domain — then the smallest, so that the answer is stable).
    Values matched once (nearly all) take their row as it is; only values with several rows are
    grouped. Each row's number is written at its value's slot: when fewer slots are filled than
    there are rows, some values matched several times, and a row that does not read its own
    number back names one of them.

    No string is copied per value: the columns are dictionary-encoded (see :func:`lookup_bulk`).
    """
    qid = matched.column("qid").combine_chunks()
    codes = matched.column("code").combine_chunks()
    rows = _row_numbers(matched.num_rows)
    # a row of each matched value: scattering the row numbers by qid, which is the inverse
    # permutation of qid itself (Arrow's scatter is that and a take; the take is not needed)
    slot = pc.inverse_permutation(qid, max_index=size - 1, output_type=pa.int32())
    code = pc.take(codes, slot)
    slot, matches, best = _several(matched, qid, rows, slot)
    if best is not None:
        code = pc.coalesce(best, code)
    code = pc.fill_null(code, _NO_MATCH)
    how = pc.take(_HOW_OF_CODE, code)
    # no how where there is no match: the slot's validity is exactly that
    if slot.offset == how.offset == 0:  # fresh kernel outputs, as they always are here
        validity = slot.buffers()[0]
        how = pa.Array.from_buffers(how.type, size, [validity, how.buffers()[1]], slot.null_count)
    else:
        how = pc.if_else(pc.is_valid(slot), how, pa.scalar(None, how.type))
    return {
        "verdict": pa.DictionaryArray.from_arrays(pc.take(_VERDICT_OF_CODE, code), _VERDICT_NAMES),
        "matches": matches,
        "how": pa.DictionaryArray.from_arrays(how, _HOW_NAMES),
        "indicator": pa.DictionaryArray.from_arrays(
            slot, matched.column("indicator").combine_chunks()
        ),
    }


def _several(
    matched: pa.Table, qid: pa.Array, rows: pa.Array, slot: pa.Array
) -> tuple[pa.Array, pa.Array, pa.Array | None]:
    """The slots and match counts with values matched several times folded in (see
    :func:`_per_value`), and those values' codes in their slots (null elsewhere; None: there
    are no such values)."""
    size = len(slot)
    matches = pc.is_valid(slot).cast(pa.int64())
    if size - slot.null_count == matched.num_rows:
        return slot, matches, None
    # a value's rows: those that lost their slot, and the one that holds it
    lost = pc.indices_nonzero(pc.not_equal(pc.take(slot, qid), rows)).cast(pa.int32())
    held = pc.take(slot, pc.unique(pc.take(qid, lost)))
    several = pa.concat_arrays([lost, held])
    grouped = matched.take(several).append_column("row", several)
    group_codes = grouped.column("code").combine_chunks()
    width = pa.scalar(len(VERDICTS), pa.uint8())
    how = pc.divide(group_codes, width)
    grouped = grouped.append_column("how", how).append_column(
        "verdict", pc.subtract(group_codes, pc.multiply(how, width))
    )
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
    # in qid order, like `strongest`
    totals = (
        grouped.group_by("qid").aggregate([("verdict", "max"), ("qid", "count")]).sort_by("qid")
    )
    at = totals.column("qid").combine_chunks()
    best = pc.add(
        pc.multiply(strongest.column("how").combine_chunks(), width),
        totals.column("verdict_max").combine_chunks(),
    )

    where = pc.inverse_permutation(at, max_index=size - 1)  # once for the three scatters

    def placed(values: pa.Array, base: pa.DataType) -> pa.Array:
        return pc.take(values.cast(base), where)

    slot = pc.coalesce(placed(strongest.column("row").combine_chunks(), slot.type), slot)
    matches = pc.coalesce(placed(totals.column("qid_count").combine_chunks(), pa.int64()), matches)
    return slot, matches, placed(best, group_codes.type)


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
