"""The reputation match as SQL over the case (see :mod:`seawall.intel.lookup` for the rules).

The query values arrive as a registered Arrow table ``_lookup_query(qid, query, match_value)``,
``match_value`` already lower-cased and trimmed; ``_lookup_extra`` holds the few matches Python
found itself (IPv6 networks). Every way a value can match is turned into *probe keys* — the value
itself, a URL's host, an e-mail's domain, each parent domain, each IPv4 network prefix — and all
probes meet the indicators in one hash join. That keeps a million lookups close to the cost of a
plain equi-join: the string work is done once (``MATERIALIZED``), parent domains are generated only
for names of three or more labels (two labels is the shortest name an indicator can be), and IPv4
networks are matched by equality on ``(prefix length, network)`` rather than by a range join.
"""

from __future__ import annotations

_IPV4 = r"[0-9]{1,3}(\.[0-9]{1,3}){3}"

# Networks and prefixed addresses share one key space; the leading space keeps these keys apart
# from any query value, which is trimmed.
# From the list of an address's four octets (one split, four casts: three times cheaper than
# four split_part calls).
_IPV4_INT = """(({o}[1]::UBIGINT << 24) + ({o}[2]::UBIGINT << 16) + ({o}[3]::UBIGINT << 8)
        + {o}[4]::UBIGINT)"""
_NETWORK_KEY = "' net ' || {plen} || '/' || (({ip} >> (32 - {plen})) << (32 - {plen}))"

MATCHES_SQL = rf"""
WITH
typed AS MATERIALIZED (
    SELECT qid, v,
        CASE
            WHEN contains(v, '://') THEN 'url'
            WHEN contains(v, '@') THEN 'email'
            WHEN v[1] BETWEEN '0' AND '9' AND regexp_full_match(v, '{_IPV4}') THEN 'ipv4'
            -- anything else with a dot is probed as a name; names that are not domains
            -- (file names, paths) simply find no parent-domain indicator
            WHEN contains(v, '.') THEN 'domain'
            ELSE 'other'
        END AS kind
    FROM (
        SELECT qid,
            CASE WHEN contains(v0, '[') OR contains(v0, '(') OR contains(v0, '{{')
                      OR starts_with(v0, 'hxxp') OR starts_with(v0, 'fxp')
                 THEN rtrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
                        regexp_replace(v0,
                        '\[\.\]|\(\.\)|\{{\.\}}|\[dot\]|\(dot\)', '.', 'g'),
                        '\[:\]', ':', 'g'),
                        '\[@\]|\[at\]|\(at\)', '@', 'g'),
                        '^hxxp', 'http'),
                        '^fxp', 'ftp'), '.')
                 ELSE v0 END AS v
        FROM (SELECT qid, match_value AS v0 FROM _lookup_query)
    )
),
hosts AS (
    SELECT qid, kind,
        CASE kind
            WHEN 'url' THEN rtrim(regexp_extract(v,
                '^[a-z][a-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)', 1), '.')
            WHEN 'email' THEN split_part(v, '@', 2)
            ELSE v
        END AS host
    FROM typed WHERE kind IN ('url', 'email', 'domain', 'ipv4')
),
networks AS MATERIALIZED (
    SELECT type, value, plen, {_IPV4_INT.format(o="octets")} AS ip
    FROM (
        SELECT type, value, split_part(value, '/', 2)::UBIGINT AS plen,
            string_split(split_part(value, '/', 1), '.') AS octets
        FROM indicators
        WHERE type = 'cidr' AND rejected_reason IS NULL AND NOT contains(value, ':')
    )
),
probes AS (
    SELECT qid, v AS key, 'exact' AS how FROM typed
    UNION ALL
    SELECT qid, host, CASE kind WHEN 'url' THEN 'url-host' ELSE 'email-domain' END
        FROM hosts WHERE kind IN ('url', 'email')
    UNION ALL
    SELECT qid, array_to_string(list_slice(labels, i + 1, len(labels)), '.'), 'parent-domain'
        FROM (
            SELECT qid, string_split(host, '.') AS labels FROM hosts
            WHERE kind <> 'ipv4' AND length(host) - length(replace(host, '.', '')) >= 2
        ), LATERAL (SELECT unnest(range(1, len(labels) - 1)) AS i)
    UNION ALL
    SELECT qid, {_NETWORK_KEY.format(plen="l.plen", ip="a.ip")}, 'cidr'
        FROM (
            SELECT qid, {_IPV4_INT.format(o="string_split(host, '.')")} AS ip FROM hosts
            WHERE kind = 'ipv4' OR (kind = 'url' AND regexp_full_match(host, '{_IPV4}'))
        ) a CROSS JOIN (SELECT DISTINCT plen FROM networks) l
),
usable AS (
    SELECT type, value, benign_reason, confidence, valid_until FROM indicators
    WHERE rejected_reason IS NULL
),
keyed AS (
    SELECT *, value AS key FROM usable
    UNION ALL
    SELECT *, lower(value) FROM usable WHERE type = 'url' AND value <> lower(value)
    UNION ALL
    SELECT u.*, {_NETWORK_KEY.format(plen="n.plen", ip="n.ip")}
        FROM networks n JOIN usable u USING (type, value)
)
SELECT p.qid, p.how, k.type, k.value, k.benign_reason, k.confidence, k.valid_until
FROM probes p JOIN keyed k ON k.key = p.key
WHERE p.how IN ('exact', 'cidr')
    OR (p.how = 'parent-domain' AND k.type = 'domain')
    OR (p.how IN ('url-host', 'email-domain') AND k.type IN ('domain', 'ipv4', 'ipv6'))
UNION ALL
SELECT e.qid, e.how, u.* FROM _lookup_extra e JOIN usable u USING (type, value)
"""

# Per matched query: the verdict, the number of matches and the strongest match (exact first).
# Unmatched queries are filled in by the caller (they are "unknown"), which saves joining a
# million rows back only to say so.
_HOW_RANK = """CASE how WHEN 'exact' THEN 0 WHEN 'url-host' THEN 1 WHEN 'email-domain' THEN 2
    WHEN 'parent-domain' THEN 3 ELSE 4 END"""

VERDICT_SQL = f"""
SELECT qid, verdict, matches, indicator,
    ['exact', 'url-host', 'email-domain', 'parent-domain', 'cidr'][rank + 1] AS how
FROM (
    SELECT qid,
        CASE
            WHEN bool_or(benign_reason IS NULL AND confidence >= $threshold
                         AND (valid_until IS NULL OR valid_until >= $now)) THEN 'malicious'
            WHEN bool_or(benign_reason IS NULL) THEN 'suspicious'
            ELSE 'benign'
        END AS verdict,
        count(*) AS matches,
        min({_HOW_RANK}) AS rank,
        arg_min(value, {_HOW_RANK}) AS indicator
    FROM ({MATCHES_SQL})
    GROUP BY qid
)
"""

# Every sighting behind every match, for the detailed (per-source) answer.
DETAILS_SQL = f"""
WITH m AS ({MATCHES_SQL})
SELECT DISTINCT m.qid, m.how, m.type, m.value, m.benign_reason,
    src.name AS source, src.source_id, src.path AS source_file, s.confidence,
    coalesce(s.first_seen, s.valid_from) AS first_seen,
    coalesce(s.last_seen, s.first_seen, s.valid_from) AS last_seen,
    s.valid_until, s.title, s.external_id, s.techniques, s.tags
FROM m
JOIN sightings s USING (type, value)
JOIN sources src ON src.source_id = s.source_id
ORDER BY m.qid, m.how, m.type, m.value, src.name
"""
