"""The reputation match as SQL over the case (see :mod:`seawall.intel.lookup` for the rules).

The query values arrive as a registered Arrow table
``_lookup_query(qid, query, match_value, plain)``, ``match_value`` already lower-cased and
trimmed. Every way a value can match is turned into *probe keys* — the value itself, a URL's
host, an e-mail's domain, each parent domain, each IPv4 network — and the probes meet the
case's stored probe index ``indicator_keys`` (see :mod:`seawall.case.schema`, kept current by
the importer) in one hash join (the network probes, exact codes, in a small one with its
networks). That keeps a million lookups close to the cost of a plain equi-join: the indicator
side is not rebuilt per call, IPv4 networks are matched by equality rather than by a range
join, and probes that cannot match are never made: network probes only for the prefix lengths
the case holds, parent-domain probes only for the label counts its domain indicators have
(never fewer than two labels: the shortest name an indicator can be).

The probes come by two paths. The *plain* values (``plain`` true: nearly all of a bulk lookup)
were taken apart in numpy (:mod:`seawall.intel.lookup_probes`): their exact probe is the match
value itself, their parents and networks arrive ready as ``_lookup_parents(qid, key)`` (key
null every other row) and ``_lookup_networks(qid, net)``. The others (URLs, e-mail addresses,
defanged values, zero-padded addresses, what Python canonicalised) are typed, refanged and
taken apart here, by SQL string functions; the statement has that part only when there are
such values. ``_lookup_extra`` holds the few matches Python found itself (IPv6 networks).

The join runs on the index's stored 64-bit hash of each key rather than on the strings (equal
hashes are then checked against the key itself), and match kinds, value kinds and query ids
travel as small integers (a kind's strength rank is its index in :data:`HOW`), so the join's
hash table holds fixed-size values besides the probe key. The SQL returns one row per match,
its kind and verdict class as one small code (:data:`CODES`); the caller folds them into one
answer per value.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from seawall.case.schema import IPV4_NUMBER

# The ways a value can match, strongest first; a probe's ``how`` is its index here.
HOW: tuple[str, ...] = ("exact", "url-host", "email-domain", "parent-domain", "cidr")
_EXACT, _URL_HOST, _EMAIL_DOMAIN, _PARENT, _CIDR = range(len(HOW))

# A dotted quad whose octets are 0-255, zero-padded or not (the importer reads "010" as decimal
# 10); a larger octet is no address, and would carry into the next octet's bits of a network.
_OCTET = r"(25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])"
_IPV4 = rf"{_OCTET}(\.{_OCTET}){{3}}"

# The rules a value is read by, as DuckDB macros (created on every case connection, see
# ``MACROS``): the one SQL statement of them, used by the lookup's general path below and by
# detections through ``ioc_match``.
# - ioc_refang: the importer's defangings (seawall.intel.normalize.refang), and only before a
#   colon: fxpro.com is a name, not ftpro.com
# - ioc_kind: the kind as a small code (0 other, 1 url, 2 email, 3 ipv4, 4 name). An address has
#   neither '://' nor '@', so it may be tested first; "starts with a digit" as a range test is
#   far cheaper than taking v[1]. Anything else with a dot is probed as a name; names that are
#   not domains (file names, paths) simply find no parent-domain indicator.
# - ioc_unpad: zero-padded octets are decimal, as the importer reads them: probe the canonical
#   form
# - ioc_host: a URL's host, an e-mail address's domain
_REFANG = r"""CASE WHEN contains(v, '[') OR contains(v, '(') OR contains(v, '{')
        OR starts_with(v, 'hxxp') OR starts_with(v, 'hxp')
        OR starts_with(v, 'h**p') OR starts_with(v, 'fxp')
    THEN rtrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
        regexp_replace(v,
        '\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)', '.', 'g'),
        '\[:\]', ':', 'g'),
        '\[@\]|\[at\]|\(at\)', '@', 'g'),
        '^(?:hxxp|hxp|h\*\*p)(s?):', 'http\1:'),
        '^fxp(s?):', 'ftp\1:'), '.')
    ELSE v END"""
_KIND = f"""CASE
        WHEN v >= '0' AND v < ':' AND regexp_full_match(v, '{_IPV4}') THEN 3
        WHEN contains(v, '://') THEN 1
        WHEN contains(v, '@') THEN 2
        WHEN contains(v, '.') THEN 4
        ELSE 0
    END::UTINYINT"""
_UNPAD = """CASE WHEN kind = 3 AND (starts_with(v, '0') OR contains(v, '.0'))
    THEN array_to_string(list_transform(string_split(v, '.'), lambda o: o::INTEGER::VARCHAR), '.')
    ELSE v END"""
_HOST = r"""CASE kind
        WHEN 1 THEN rtrim(regexp_extract(v,
            '^[a-z][a-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)', 1), '.')
        WHEN 2 THEN split_part(v, '@', 2)
        ELSE v
    END"""

_TYPED = """
typed AS MATERIALIZED (
    -- narrow types: every probe carries qid and how through the join's hash table
    SELECT qid, ioc_unpad(v, kind) AS v, kind
    FROM (SELECT qid, v, ioc_kind(v) AS kind
        FROM (SELECT qid, ioc_refang(match_value) AS v FROM _lookup_query WHERE NOT plain))
),
hosts AS (SELECT qid, kind, ioc_host(v, kind) AS host FROM typed WHERE kind <> 0)"""

# The probes of the values that are not plain (see the module docstring), by SQL:
_EXACT_PROBES = f"SELECT qid, v AS key, hash(v) AS h, {_EXACT}::UTINYINT AS how FROM typed"
_HOST_PROBES = f"""SELECT qid, host, hash(host),
            (CASE kind WHEN 1 THEN {_URL_HOST} ELSE {_EMAIL_DOMAIN} END)::UTINYINT
        FROM hosts WHERE kind IN (1, 2)"""
# A name's parents: the last ``size`` labels, for every size the case holds shorter than the
# name; only names (and URL and e-mail hosts) of three labels or more have any.
_PARENT_PROBES = """SELECT qid, parent, hash(parent), {how}::UTINYINT
        FROM (
            SELECT qid,
                array_to_string(list_slice(parts, len(parts) - size + 1, len(parts)), '.')
                    AS parent
            FROM (
                SELECT qid, string_split(host, '.') AS parts
                FROM (
                    SELECT qid, v AS host FROM typed WHERE kind = 4
                    UNION ALL
                    SELECT qid, host FROM hosts WHERE kind IN (1, 2)
                )
                WHERE host LIKE '%.%.%'
            )
            CROSS JOIN (VALUES {sizes}) AS s(size)
            WHERE size < len(parts)
        )"""
# The addresses in canonical form (no zero-padded octets): typed values already are; a URL's
# address host is made so here, while its url-host probe keeps the host as written. A network
# probe is the exact (prefix length, network) code of the index.
_NETWORK_PROBES = """SELECT qid, (l.plen << 32) | ((a.ip >> (32 - l.plen)) << (32 - l.plen))
        FROM (
            SELECT qid, {ip} AS ip
            FROM (
                SELECT qid, string_split(ip, '.') AS octets
                FROM (
                    SELECT qid, v AS ip FROM typed WHERE kind = 3
                    UNION ALL
                    SELECT qid, array_to_string(list_transform(
                            string_split(host, '.'), lambda o: o::INTEGER::VARCHAR), '.')
                        FROM hosts WHERE kind = 1 AND regexp_full_match(host, '{ipv4}')
                )
            )
        ) a
        CROSS JOIN (VALUES {plens}) AS l(plen)"""
# The key probes of the plain values, made in numpy: the value itself and its parents (their
# networks are in _lookup_networks).
_PLAIN_PROBES = f"""SELECT qid, match_value AS key, hash(match_value) AS h,
            {_EXACT}::UTINYINT AS how
        FROM _lookup_query WHERE plain"""
_PLAIN_PARENT_PROBES = f"""SELECT qid, key, hash(key), {_PARENT}::UTINYINT
        FROM _lookup_parents WHERE key IS NOT NULL"""


@dataclass(frozen=True, slots=True)
class ProbePlan:
    """What a lookup needs to know about the case to make only probes that can match.

    ``plens``: the IPv4 network prefix lengths among its indicators; ``sizes``: the label
    counts of its domain indicators (none of either: that probe kind is not made at all);
    ``stored_hash``: whether the index's stored ``h`` agrees with this DuckDB's ``hash()``.
    It always should; if a DuckDB upgrade ever changed the function, the index's string keys
    are hashed again during the lookup (slower, still right) instead of silently missing.
    """

    plens: tuple[int, ...]
    sizes: tuple[int, ...]
    stored_hash: bool = True

    @property
    def parent_sizes(self) -> tuple[int, ...]:
        """The sizes a parent can have: two labels at least."""
        return tuple(s for s in self.sizes if s >= 2)


# One cheap scan of the index's two small columns, plus a sample for the hash check. Grouping
# the pairs first and listing the few groups takes half the time of DISTINCT lists over every row.
PROBE_PLAN_SQL = """
WITH kinds AS (SELECT net_plen, labels FROM indicator_keys GROUP BY ALL)
SELECT list(net_plen ORDER BY net_plen) FILTER (WHERE net_plen IS NOT NULL),
    list(labels ORDER BY labels) FILTER (WHERE labels IS NOT NULL),
    (SELECT coalesce(bool_and(h = hash(key)), true) FROM (
        SELECT h, key FROM indicator_keys WHERE net_plen IS NULL LIMIT 64))
FROM kinds
"""


@lru_cache(maxsize=64)
def matches_sql(plan: ProbePlan, general: bool) -> str:
    """Every (qid, how, indicator) match: the key probes joined with the probe index at once,
    and the network probes with its networks.

    ``general``: whether some values are not plain, so that the SQL path is needed.
    """
    sizes = plan.parent_sizes
    probes = [_PLAIN_PROBES]
    networks = ["SELECT qid, net FROM _lookup_networks"]
    if sizes:
        probes.append(_PLAIN_PARENT_PROBES)
    ctes = ""
    if general:
        ctes = _TYPED.strip() + ",\n"
        probes += [_EXACT_PROBES, _HOST_PROBES]
        if sizes:
            values = ", ".join(f"({int(s)})" for s in sizes)
            probes.append(_PARENT_PROBES.format(how=_PARENT, sizes=values))
        if plan.plens:
            values = ", ".join(f"({int(p)}::UBIGINT)" for p in plan.plens)
            networks.append(_NETWORK_PROBES.format(ip=IPV4_NUMBER, plens=values, ipv4=_IPV4))
    index = (
        "indicator_keys"
        if plan.stored_hash
        else "(SELECT * REPLACE (CASE WHEN net_plen IS NULL THEN hash(key) ELSE h END AS h)"
        " FROM indicator_keys)"
    )
    return f"""
WITH {ctes}probes AS (
    {_UNION.join(probes)}
),
networks AS (
    {_UNION.join(networks)}
)
SELECT p.qid, p.how, k.type, coalesce(k.value, k.key) AS value, k.benign_reason, k.confidence,
    k.valid_until
FROM probes p JOIN {index} k ON k.h = p.h
-- equal hashes are only candidates: the key itself must be equal. Inside a CASE the string
-- comparison stays out of the hash table, which then holds integers only (as a join condition
-- of its own, every key string would be hashed and kept there).
WHERE CASE p.how
    WHEN {_EXACT} THEN k.key = p.key
    WHEN {_PARENT} THEN k.key = p.key AND k.type = 'domain'
    ELSE k.key = p.key AND k.type IN ('domain', 'ipv4', 'ipv6')  -- a URL's host, a mail domain
END
UNION ALL
-- a network probe is the exact (prefix length, network) code: equal codes are the match
SELECT n.qid, {_CIDR}::UTINYINT, k.type, k.value, k.benign_reason, k.confidence, k.valid_until
FROM networks n JOIN (SELECT * FROM indicator_keys WHERE net_plen IS NOT NULL) k ON k.h = n.net
UNION ALL
SELECT e.qid, e.how, k.type, coalesce(k.value, k.key), k.benign_reason, k.confidence,
    k.valid_until
FROM _lookup_extra e JOIN indicator_keys k ON k.key = e.value AND k.type = e.type
"""


_UNION = "\n    UNION ALL\n    "

# A source's confidence from which a match is malicious (below it: suspicious).
MALICIOUS_CONFIDENCE = 50

# One value's matches, for detections: ``FROM dns d, ioc_match(d.query) m`` (better over the
# DISTINCT values of a column: the same value is matched once). The same rules as a lookup, in
# the same SQL (the macros above): the value lower-cased and trimmed, refanged and typed; probed
# as itself, as a URL's host or an e-mail domain, by its parent domains and, an IPv4 address, by
# the networks of every prefix length the case holds; the probes meet the probe index
# ``indicator_keys``. One row per match: ``how``, the indicator's ``indicator_type`` and
# ``indicator``, its ``benign_reason``, ``confidence``, ``valid_until`` and ``verdict``
# (benign, suspicious, malicious; as ``intel lookup`` says it). What it does not do that a lookup
# does: canonicalise what only Python can (IDN names, other spellings of IPv6 addresses) and
# match IPv6 networks; logs write names as DNS carries them (punycode) and IPv6 addresses in
# their canonical text, so this costs them nothing.
#
# ``ioc_matches(relation)`` is the same statement over a whole relation at once (a table, view
# or CTE named as a string, with a ``value`` column; the same value may come many times): one
# row per distinct matching value and match, ``value`` and the match's columns, for the caller
# to join back to its rows. Values that cannot match are left out before they are made
# distinct, each value's probes are made once and meet the index in hash joins: for tens of
# millions of values (every name and answer of a DNS log) this is what a detection needs; the
# per-row ``ioc_match`` is a correlated table function, fine for a few thousand. Both are made from
# ``_MATCH_TEMPLATE``: ``{values}`` gives ``_qv`` (the value as observed) and every step carries
# it along, so the rules are written once.
_MATCH_TEMPLATE = """
WITH tails AS (
    -- the last two labels of every key (a key without a dot: all of it)
    SELECT DISTINCT regexp_extract(key, '[^.]*\\.?[^.]+$') AS tail FROM indicator_keys
),
given AS MATERIALIZED (
    -- A plain lower-case name (no refanging, no URL, e-mail or address: the bulk of a log's
    -- values) can only match a key exactly or a domain by its parents, and then it ends in the
    -- same last two labels as that key: the other plain names are left out, by one hash join
    -- with the keys' endings and before anything else (a DISTINCT of every value included).
    SELECT DISTINCT v._qv FROM (
        SELECT _qv, s,
            NOT regexp_full_match(s, '[a-z0-9_-]+(\\.[a-z0-9_-]+)*')
                OR regexp_full_match(s, '[0-9.]+') AS special
        FROM (SELECT _qv, _qv::VARCHAR AS s FROM {values})
    ) v
    LEFT JOIN tails t
        ON NOT v.special AND t.tail = regexp_extract(v.s, '[^.]*\\.?[^.]+$')
    WHERE v.special OR t.tail IS NOT NULL
),
refanged AS MATERIALIZED (
    -- each step materialised: a macro repeats its argument at every use, and the optimiser
    -- would otherwise inline refang into kind into unpad, dozens of times over
    SELECT _qv, ioc_refang(lower(trim(_qv::VARCHAR, ' \t\r\n\f\v.'))) AS v FROM given
),
kinded AS MATERIALIZED (SELECT _qv, v, ioc_kind(v) AS kind FROM refanged WHERE v <> ''),
t AS MATERIALIZED (SELECT _qv, ioc_unpad(v, kind) AS v, kind FROM kinded),
h AS MATERIALIZED (SELECT _qv, v, kind, ioc_host(v, kind) AS host FROM t WHERE kind <> 0),
sizes AS (SELECT DISTINCT labels::BIGINT AS size FROM indicator_keys WHERE labels >= 2),
probes AS (
    SELECT _qv, v AS key, {exact}::UTINYINT AS how FROM t
    UNION ALL
    SELECT _qv, host, (CASE kind WHEN 1 THEN {url_host} ELSE {email_domain} END)::UTINYINT
    FROM h WHERE kind IN (1, 2)
    UNION ALL
    -- a name's parents, only of the label counts the case's domain indicators have
    SELECT _qv, array_to_string(list_slice(parts, len(parts) - size + 1, len(parts)), '.'),
        {parent}::UTINYINT
    FROM (SELECT _qv, string_split(host, '.') AS parts FROM h
        WHERE kind IN (1, 2, 4) AND contains(host, '.')) p
    JOIN sizes ON sizes.size < len(p.parts)
),
addresses AS (
    SELECT _qv, {ip} AS ip
    FROM (
        SELECT _qv, string_split(ip, '.') AS octets
        FROM (
            SELECT _qv, v AS ip FROM t WHERE kind = 3
            UNION ALL
            SELECT _qv, array_to_string(list_transform(
                    string_split(host, '.'), lambda o: o::INTEGER::VARCHAR), '.')
            FROM h WHERE kind = 1 AND regexp_full_match(host, '{ipv4}')
        )
    )
),
matched AS (
    SELECT p._qv, p.how, k.type, coalesce(k.value, k.key) AS value, k.benign_reason,
        k.confidence, k.valid_until
    FROM probes p JOIN indicator_keys k ON k.h = hash(p.key) AND k.key = p.key
    WHERE CASE p.how
        WHEN {exact} THEN true
        WHEN {parent} THEN k.type = 'domain'
        ELSE k.type IN ('domain', 'ipv4', 'ipv6')
    END
    UNION ALL
    SELECT a._qv, {cidr}::UTINYINT, k.type, k.value, k.benign_reason, k.confidence,
        k.valid_until
    FROM addresses a
    CROSS JOIN (SELECT DISTINCT net_plen::UBIGINT AS plen FROM indicator_keys
        WHERE net_plen IS NOT NULL) l
    JOIN indicator_keys k
        ON k.h = (l.plen << 32) | ((a.ip >> (32 - l.plen)) << (32 - l.plen))
        AND k.net_plen IS NOT NULL
),
answered AS (
    SELECT _qv, [{names}][how + 1] AS how, type AS indicator_type, value AS indicator,
        benign_reason, confidence, valid_until,
        CASE WHEN benign_reason IS NOT NULL THEN 'benign'
            WHEN confidence >= {threshold}
                AND (valid_until IS NULL OR valid_until >= now()::TIMESTAMP) THEN 'malicious'
            ELSE 'suspicious' END AS verdict
    FROM matched
)
"""


def _match_sql(values: str) -> str:
    return _MATCH_TEMPLATE.format(
        values=values,
        exact=_EXACT,
        url_host=_URL_HOST,
        email_domain=_EMAIL_DOMAIN,
        parent=_PARENT,
        cidr=_CIDR,
        ip=IPV4_NUMBER,
        ipv4=_IPV4,
        names=", ".join(f"'{h}'" for h in HOW),
        threshold=MALICIOUS_CONFIDENCE,
    )


_IOC_MATCH = _match_sql("(SELECT observed AS _qv)") + "SELECT * EXCLUDE (_qv) FROM answered\n"
_IOC_MATCHES = (
    _match_sql("(SELECT value AS _qv FROM query_table(relation) WHERE value IS NOT NULL)")
    + "SELECT _qv AS value, * EXCLUDE (_qv) FROM answered\n"
)

# Created on every connection to a case (temporary: they belong to the connection, never to
# the stored case, so a newer seawall's rules apply to an older case).
MACROS: tuple[str, ...] = (
    f"CREATE OR REPLACE TEMP MACRO ioc_refang(v) AS ({_REFANG})",
    f"CREATE OR REPLACE TEMP MACRO ioc_kind(v) AS ({_KIND})",
    f"CREATE OR REPLACE TEMP MACRO ioc_unpad(v, kind) AS ({_UNPAD})",
    f"CREATE OR REPLACE TEMP MACRO ioc_host(v, kind) AS ({_HOST})",
    f"CREATE OR REPLACE TEMP MACRO ioc_match(observed) AS TABLE {_IOC_MATCH}",
    f"CREATE OR REPLACE TEMP MACRO ioc_matches(relation) AS TABLE {_IOC_MATCHES}",
)


# One row per match with its verdict class (2 malicious, 1 suspicious, 0 benign) and strength
# (``how``) in one small code, ``how * 3 + verdict class`` (see :data:`CODES`). The caller folds
# the rows into one answer per value in Arrow: nearly every matched value matches once, so only
# the few that match several times need grouping, which is cheaper there than a hash aggregation
# of every row here. Unmatched values are the caller's too (they are "unknown"), which saves
# joining a million rows back only to say so.
_VERDICT_CLASS = """CASE WHEN benign_reason IS NOT NULL THEN 0
    WHEN confidence >= $threshold AND (valid_until IS NULL OR valid_until >= $now) THEN 2
    ELSE 1 END"""

VERDICTS: tuple[str, ...] = ("benign", "suspicious", "malicious")
# (how, verdict class) by code; one code past the last stands for "no match".
CODES: tuple[tuple[str, str], ...] = tuple((how, verdict) for how in HOW for verdict in VERDICTS)


@lru_cache(maxsize=64)
def match_rows_sql(plan: ProbePlan, general: bool) -> str:
    return f"""
SELECT qid::INTEGER AS qid, (how * {len(VERDICTS)} + {_VERDICT_CLASS})::UTINYINT AS code,
    value AS indicator
FROM ({matches_sql(plan, general)})
"""


@lru_cache(maxsize=64)
def details_sql(plan: ProbePlan, general: bool) -> str:
    """Every sighting behind every match, for the detailed (per-source) answer."""
    names = ", ".join(f"'{h}'" for h in HOW)
    return f"""
WITH m AS ({matches_sql(plan, general)})
SELECT DISTINCT m.qid, [{names}][m.how + 1] AS how, m.type, m.value, m.benign_reason,
    src.name AS source, src.source_id, src.path AS source_file, s.confidence,
    coalesce(s.first_seen, s.valid_from) AS first_seen,
    coalesce(s.last_seen, s.first_seen, s.valid_from) AS last_seen,
    s.valid_until, s.title, s.external_id, s.techniques, s.tags
FROM m
JOIN sightings s USING (type, value)
JOIN sources src ON src.source_id = s.source_id
ORDER BY m.qid, how, m.type, m.value, src.name
"""
