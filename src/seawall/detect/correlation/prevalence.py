"""How many of the case's hosts share a value or an account: a value seen with every host tells
little about any one of them.

Counted from the case, not from the findings (a finding exists only where something matched):

- an **address**: the distinct peers of the entities' links that have it at one end (the clients
  that reached it, the hosts it logged on to, the devices and accounts that signed in from it);
- a **domain**: the distinct clients that asked for it or a name under it (DNS questions, HTTP
  hosts, TLS server names);
- a **hash**: the distinct hosts whose swept files have it;
- an **account**: the distinct hosts it was seen on or logged on to, or logged on from (its
  spellings joined as :mod:`seawall.entities.resolve` joins them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.entities.names import MACROS, address
from seawall.entities.resolve import Identities

Value = tuple[str, str]

_ADDRESS_SQL = """
SELECT v, count(DISTINCT peer) FROM (
    SELECT l.source AS v,
        CASE WHEN l.kind IN ('sign-in', 'failed-sign-in')
             THEN coalesce(l.detail, l.account) ELSE l.target END AS peer
    FROM links l JOIN wanted w ON l.source = w.v
    UNION ALL
    SELECT l.target, l.source FROM links l JOIN wanted w ON l.target = w.v
) WHERE peer IS NOT NULL GROUP BY v
"""
# Rows meet the wanted names by an equi-join on their last two labels (cheap string cuts, a hash
# join), and only those rows are checked for the name itself or a name under it.
_DOMAIN_SQL = """
WITH w AS (
    SELECT v, split_part(v, '.', -2) || '.' || split_part(v, '.', -1) AS tail FROM wanted
    WHERE contains(v, '.')
),
asked AS (
    SELECT lower(rtrim(query, '.')) AS name, client_ip AS client FROM dns
    WHERE client_ip IS NOT NULL AND query IS NOT NULL
    UNION ALL SELECT lower(http_host), client_ip FROM http
    WHERE client_ip IS NOT NULL AND http_host IS NOT NULL
    UNION ALL SELECT lower(server_name), client_ip FROM tls
    WHERE client_ip IS NOT NULL AND server_name IS NOT NULL
)
SELECT w.v, count(DISTINCT a.client)
FROM asked a JOIN w ON split_part(a.name, '.', -2) || '.' || split_part(a.name, '.', -1) = w.tail
WHERE a.name = w.v OR ends_with(a.name, '.' || w.v)
GROUP BY w.v
"""
_HASH_SQL = """
SELECT v, count(DISTINCT host) FROM (
    SELECT w.v, f.host FROM files f JOIN wanted w ON f.md5 = w.v
    UNION ALL SELECT w.v, f.host FROM files f JOIN wanted w ON f.sha1 = w.v
    UNION ALL SELECT w.v, f.host FROM files f JOIN wanted w ON f.sha256 = w.v
) GROUP BY v
"""


def _kind(value: Value) -> str:
    kind, text = value
    if kind != "indicator":
        return kind
    if address(text) is not None:
        return "address"
    if len(text) in (32, 40, 64, 128) and all(c in "0123456789abcdef" for c in text):
        return "hash"
    return "domain"


def _count(store: CaseStore, sql: str, values: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(values))
    if not wanted:
        return {}
    table = pa.table({"v": pa.array(wanted, pa.string())})
    store.con.complete()
    with store.registered("wanted", table):
        rows = store.con.execute(sql).fetchall()
    return {str(v): int(n) for v, n in rows}


def value_prevalence(store: CaseStore, values: Iterable[Value]) -> dict[Value, int]:
    """For each value, how many hosts (clients, peers) the case shows with it."""
    by_kind: dict[str, list[Value]] = defaultdict(list)
    for value in set(values):
        by_kind[_kind(value)].append(value)
    counts: dict[Value, int] = {}
    for kind, sql in (("address", _ADDRESS_SQL), ("domain", _DOMAIN_SQL), ("hash", _HASH_SQL)):
        found = by_kind.get(kind, [])
        if not found:
            continue
        texts = [address(v) or v for _, v in found] if kind == "address" else [v for _, v in found]
        numbers = _count(store, sql, texts)
        for value, text in zip(found, texts, strict=True):
            counts[value] = numbers.get(text, 0)
    return counts


_ACCOUNT_SQL = """
SELECT name, domain, host, NULL AS other FROM accounts WHERE name IN (SELECT v FROM wanted)
UNION ALL
SELECT ent_acct_name(account), ent_acct_domain(account, NULL), source, target FROM links
WHERE account IS NOT NULL AND ent_acct_name(account) IN (SELECT v FROM wanted)
"""


def account_prevalence(
    store: CaseStore, identities: Identities, keys: Iterable[str]
) -> dict[str, int]:
    """For each account key (``DOMAIN\\name``), how many hosts it was seen on or with."""
    wanted = {key: key.rpartition("\\")[2] for key in keys}
    if not wanted:
        return {}
    table = pa.table({"v": pa.array(sorted(set(wanted.values())), pa.string())})
    store.con.complete()
    for statement in MACROS:
        store.con.execute(statement)
    with store.registered("wanted", table):
        rows = store.con.execute(_ACCOUNT_SQL).fetchall()
    hosts: dict[str, set[str]] = defaultdict(set)
    for name, domain, *ends in rows:
        spelled = f"{domain}\\{name}" if domain else str(name)
        found = identities.account(spelled)
        if found is None or found.key not in wanted:
            continue
        for end in ends:
            ident = identities.host(end) if end is not None else None
            if ident is not None and ident.host is not None:
                hosts[found.key].add(ident.host)
    return {key: len(hosts.get(key, set())) for key in wanted}
