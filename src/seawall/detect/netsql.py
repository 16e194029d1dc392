"""SQL helpers of the network detections: registrable domains, scores and the DNS rows.

The network detections are SQL over the case's tables; what SQL alone cannot know is given to it
here, once per hunt connection (temporary tables, macros and views: never stored in the case):

- ``public_suffixes`` and ``public_suffix_parents``: the public suffix list of the
  ``publicsuffixlist`` package (ICANN and private sections, IDN rules also in punycode, as
  :func:`seawall.intel.hygiene.registrable_domain` reads it), one row per suffix with its kinds
  of rule (exact, wildcard ``*.x``, exception ``!x``);
- ``registrable_domains(relation)``: a table macro giving every row of a relation (a table,
  view or CTE *named* as a string) with a ``name`` column (lower-case, as every reader stores
  names) back with one column more, ``domain``: the name's registrable domain ("eTLD+1": the
  public suffix and one label more; NULL for a public suffix itself, a bare TLD or a malformed
  name). Unknown top-level labels are public suffixes (``example.attack`` is registrable), as
  in the intel hygiene, so that a hunt and an import agree on what a domain is. It is the
  list's algorithm (the longest matching rule wins; at one depth an exception beats a wildcard,
  which beats an exact rule) done as joins: names are grouped by their last two labels, and
  only names under a suffix the list has deeper rules for are probed label by label, so ten
  million names cost about one hash join of their last two labels;
- ``ramp(x, lo, hi)``: 0 at or below ``lo``, 1 at or above ``hi``, linear between: how every
  sub-score of a network detection turns a figure into a 0..1 score (the detections print
  both);
- ``char_entropy(text)``: Shannon entropy in bits per character;
- ``dns_rows``: every DNS row of the case, the ``dns`` table and Sysmon event 22 from
  ``events`` (:data:`seawall.collect.logs.sysmon_dns.DNS_ROWS_SQL`), so that the DNS analytics
  read both; ``dns_questions``: those of them that are a client's question, once each (a DNS
  server log writes a line per step: query, forwarded, reply…; a Zeek or Sysmon row is the
  question with its answer; a capture, the query and the response packets);
- ``is_private_ip(ip)``: whether an address lies in the private, loopback, link-local or
  carrier-grade NAT ranges (RFC 1918, 6598, 4193 and the like): a cheap SQL test for the
  default "internal" when no networks are given.
"""

from __future__ import annotations

from functools import cache

import duckdb
import pyarrow as pa

from seawall.collect.logs.sysmon_dns import DNS_ROWS_SQL
from seawall.intel.hygiene import public_suffix_list

# How rules of one suffix rank at the same depth (the list's order: exception, wildcard, exact).
_EXACT, _WILDCARD, _EXCEPTION = 1, 2, 4


@cache
def _suffix_rows() -> tuple[pa.Table, pa.Table, int]:
    """The list's rules by suffix (a bit set of their kinds), the last two labels of every
    suffix that has rules deeper than two labels, and the deepest rule's label count."""
    psl = public_suffix_list()
    kinds: dict[str, int] = {}
    depth = 0
    # The parsed rule set (exact rules, "*.x" wildcards, "!x" exceptions, punycode copies of
    # IDN rules): read from the same object the hygiene uses, never parsed a second time.
    for rule in psl._publicsuffix:
        if rule.startswith("!"):
            suffix, kind = rule[1:], _EXCEPTION
        elif rule.startswith("*."):
            suffix, kind = rule[2:], _WILDCARD
        else:
            suffix, kind = rule, _EXACT
        kinds[suffix] = kinds.get(suffix, 0) | kind
        depth = max(depth, suffix.count(".") + 1 + (kind == _WILDCARD))
    parents = sorted(
        {
            ".".join(suffix.split(".")[-2:])
            for suffix, kind in kinds.items()
            if suffix.count(".") + 1 + bool(kind & _WILDCARD) >= 3
        }
    )
    suffixes = pa.table(
        {"suffix": list(kinds), "kinds": pa.array(list(kinds.values()), pa.uint8())}
    )
    return suffixes, pa.table({"parent": parents}), depth


# The public suffix length (in labels) of a name, from the rule kinds ``k`` found at ``depth``
# (``longer``: the name has more labels than that), as the list's algorithm reads them.
def _length_at(kinds: str, depth: str, longer: str) -> str:
    return f"""CASE WHEN {kinds} & {_EXCEPTION} <> 0 THEN {depth} - 1
        WHEN {kinds} & {_WILDCARD} <> 0 THEN CASE WHEN {longer} THEN {depth} + 1 ELSE {depth} END
        ELSE {depth} END"""


def _registrable_sql(max_depth: int) -> str:
    # The working columns carry a _rd_ prefix: the relation's own columns pass through.
    return f"""
WITH parts AS MATERIALIZED (
    SELECT *,
        length(name) - length(replace(name, '.', '')) + 1 AS _rd_ll,
        regexp_extract(name, '[^.]*$') AS _rd_s1,
        regexp_extract(name, '[^.]*\\.[^.]*$') AS _rd_s2,
        name = '' OR starts_with(name, '.') OR ends_with(name, '.') OR contains(name, '..')
            AS _rd_bad
    FROM query_table(relation)
),
pairs AS (
    -- Each distinct (last label, last two labels): its rules at depths 1 and 2, and whether the
    -- list has deeper rules under it (then its names are probed label by label below).
    SELECT p._rd_s1, p._rd_s2, r1.kinds AS _rd_k1, r2.kinds AS _rd_k2,
        d.parent IS NOT NULL AS _rd_deep
    FROM (SELECT DISTINCT _rd_s1, _rd_s2 FROM parts WHERE NOT _rd_bad) p
    LEFT JOIN public_suffixes r1 ON r1.suffix = p._rd_s1
    LEFT JOIN public_suffixes r2 ON r2.suffix = p._rd_s2
    LEFT JOIN public_suffix_parents d ON d.parent = p._rd_s2
),
joined AS MATERIALIZED (
    SELECT parts.* EXCLUDE (_rd_s1), pairs._rd_k1, pairs._rd_k2,
        coalesce(pairs._rd_deep, false) AS _rd_deep
    FROM parts LEFT JOIN pairs USING (_rd_s1, _rd_s2)
),
shallow AS (
    -- Without deeper rules the public suffix is one or two labels (three under a wildcard of
    -- one label), so the registrable domain is the last two or three labels.
    SELECT *,
        CASE WHEN _rd_bad THEN NULL
            WHEN _rd_ll = 1 THEN 1
            WHEN _rd_k2 IS NOT NULL THEN {_length_at("_rd_k2", "2", "_rd_ll > 2")}
            WHEN _rd_k1 IS NOT NULL THEN {_length_at("_rd_k1", "1", "_rd_ll > 1")}
            ELSE 1 END AS _rd_publen
    FROM joined WHERE NOT _rd_deep
),
probes AS (
    SELECT name, _rd_ll, _rd_depth,
        array_to_string(_rd_labels[-_rd_depth:], '.') AS _rd_suffix
    FROM (
        SELECT name, _rd_ll, string_split(name, '.') AS _rd_labels
        FROM joined WHERE _rd_deep AND _rd_ll > 1
    ), LATERAL (SELECT unnest(range(1, least(_rd_ll, {max_depth + 1}) + 1)) AS _rd_depth)
),
deepest AS (
    -- The longest matching rule wins; at one depth an exception beats a wildcard beats an
    -- exact rule (hence depth * 8 + kinds as the order).
    SELECT name,
        arg_max({_length_at("kinds", "_rd_depth", "_rd_ll > _rd_depth")},
            _rd_depth * 8 + kinds) AS _rd_publen
    FROM probes JOIN public_suffixes ON public_suffixes.suffix = probes._rd_suffix
    GROUP BY name
)
SELECT * EXCLUDE (_rd_ll, _rd_s2, _rd_bad, _rd_k1, _rd_k2, _rd_deep, _rd_publen),
    CASE WHEN _rd_publen IS NULL OR _rd_publen < 1 OR _rd_ll < _rd_publen + 1 THEN NULL
        WHEN _rd_publen = 1 THEN _rd_s2
        ELSE regexp_extract(name, '[^.]*\\.[^.]*\\.[^.]*$') END AS domain
FROM shallow
UNION ALL
SELECT * EXCLUDE (_rd_ll, _rd_s2, _rd_bad, _rd_k1, _rd_k2, _rd_deep, _rd_publen),
    CASE WHEN coalesce(_rd_publen, 1) < 1 OR _rd_ll < coalesce(_rd_publen, 1) + 1 THEN NULL
        ELSE array_to_string(string_split(name, '.')[-(coalesce(_rd_publen, 1) + 1):], '.')
    END
FROM joined LEFT JOIN deepest USING (name)
WHERE joined._rd_deep
"""


_MACROS = (
    """CREATE OR REPLACE TEMP MACRO ramp(x, lo, hi) AS
        CASE WHEN x IS NULL THEN NULL
            ELSE greatest(0.0, least(1.0, (x - lo) / (hi - lo)))::DOUBLE END""",
    """CREATE OR REPLACE TEMP MACRO char_entropy(text) AS (
        SELECT CASE WHEN length(t) = 0 THEN 0.0 ELSE
            -list_sum(list_transform(
                map_values(list_aggregate(string_split(t, ''), 'histogram')),
                lambda n: (n / length(t)) * log2(n / length(t)))) END
        FROM (SELECT text AS t))""",
    r"""CREATE OR REPLACE TEMP MACRO is_private_ip(ip) AS coalesce(regexp_matches(lower(ip),
        '^(10\.|127\.|192\.168\.|169\.254\.|172\.(1[6-9]|2[0-9]|3[01])\.'
        || '|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|f[cd][0-9a-f]{2}:|fe[89ab][0-9a-f]:'
        || '|::1$|::ffff:(10|127)\.|::ffff:192\.168\.)'), false)""",
)


_QUESTIONS = """CREATE OR REPLACE TEMP VIEW dns_questions AS
SELECT * FROM dns_rows
WHERE query IS NOT NULL AND query <> ''
  AND (message IS NULL OR message IN ('query', 'query received')
       OR starts_with(message, 'query+response'))"""


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Create the helpers on a hunt's connection (see the module docstring)."""
    con.complete()
    suffixes, parents, depth = _suffix_rows()
    for name, rows in (("public_suffixes", suffixes), ("public_suffix_parents", parents)):
        con.register("_netsql_rows", rows)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _netsql_rows")
        finally:
            con.unregister("_netsql_rows")
    con.execute(
        "CREATE OR REPLACE TEMP MACRO registrable_domains(relation) AS TABLE"
        + _registrable_sql(depth)
    )
    for statement in _MACROS:
        con.execute(statement)
    con.execute(f"CREATE OR REPLACE TEMP VIEW dns_rows AS\n{DNS_ROWS_SQL}")
    con.execute(_QUESTIONS)
