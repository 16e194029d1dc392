"""What ``seawall entities`` shows: the case's machines and accounts as correlation sees them,
or one of them with every observation behind it.

Without a filter: each machine with the names and addresses it goes by, each account with its
spellings, SIDs and the hosts it was seen on, and the links by kind. With ``host``: that machine
(a name or an address, resolved as a finding's would be), the observations of its names and
addresses with their first record, the accounts seen on it and its links to and from others.
With ``account``: that account's spellings, SIDs, hosts and links. Times are ISO 8601 UTC.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from seawall.case.store import CaseStore
from seawall.entities.names import MACROS
from seawall.entities.resolve import Identities
from seawall.errors import UsageError

_OBSERVED = """
SELECT name, seen_as, min(first_seen), max(last_seen), sum(count)::BIGINT,
    arg_min(source_file, first_seen), arg_min(record_ref, first_seen)
FROM hosts WHERE name IN ? GROUP BY name, seen_as ORDER BY name, seen_as
"""
_ADDRESSES = """
SELECT name, address, seen_as, min(first_seen), max(last_seen), sum(count)::BIGINT,
    arg_min(source_file, first_seen), arg_min(record_ref, first_seen)
FROM host_addresses WHERE name IN ? GROUP BY name, address, seen_as
ORDER BY address, name, seen_as
"""
_ACCOUNTS_ON = """
SELECT name, domain, sid, upn, seen_as, host, min(first_seen), max(last_seen),
    sum(count)::BIGINT, arg_min(source_file, first_seen), arg_min(record_ref, first_seen)
FROM accounts WHERE {where} GROUP BY ALL ORDER BY name, domain, host, seen_as
"""
_LINKS = """
SELECT kind, source, source_type, target, target_type, account, detail, min(first_seen),
    max(last_seen), sum(count)::BIGINT, arg_min(source_file, first_seen),
    arg_min(record_ref, first_seen)
FROM links WHERE {where} GROUP BY ALL ORDER BY sum(count) DESC, kind, source, target LIMIT ?
"""


def _time(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _observation(
    first: object, last: object, count: object, file: object, record: object
) -> dict[str, Any]:
    return {
        "first_seen": _time(first),
        "last_seen": _time(last),
        "count": int(count) if isinstance(count, int) else 0,
        "source_file": file,
        "record_ref": record,
    }


def overview(store: CaseStore, identities: Identities) -> dict[str, Any]:
    """Every machine, account and link kind (see the module docstring)."""
    hosts = [
        {
            "host": host,
            "names": names,
            "seen_as": sorted(identities.seen_as.get(host, set())),
            "addresses": identities.addresses_of(host),
        }
        for host, names in sorted(identities.hosts.items())
    ]
    store.con.complete()
    rows = store.con.execute(
        "SELECT name, domain, sid, upn, host FROM accounts WHERE name IS NOT NULL"
    ).fetchall()
    accounts: dict[str, dict[str, Any]] = {}
    for name, domain, sid, upn, host in rows:
        spelled = f"{domain}\\{name}" if domain else str(name)
        where = identities.host(host) if host else None
        found = identities.account(spelled, where.host if where is not None else None)
        if found is None:
            continue
        entry = accounts.setdefault(
            found.key,
            {
                "account": found.key,
                "local": found.local,
                "spellings": set(),
                "sids": set(),
                "upns": set(),
                "hosts": set(),
            },
        )
        entry["spellings"].add(spelled)
        if sid:
            entry["sids"].add(sid)
        if upn:
            entry["upns"].add(upn)
        if host:
            entry["hosts"].add(host)
    links = store.con.execute(
        "SELECT kind, sum(count)::BIGINT, count(*) FROM links GROUP BY kind ORDER BY kind"
    ).fetchall()
    return {
        "known_hosts": identities.known_hosts,
        "hosts": hosts,
        "accounts": [
            {k: sorted(v) if isinstance(v, set) else v for k, v in entry.items()}
            for _, entry in sorted(accounts.items())
        ],
        "links": [{"kind": k, "observations": int(n), "rows": int(r)} for k, n, r in links],
    }


def _links(store: CaseStore, where: str, params: list[Any], limit: int) -> list[dict[str, Any]]:
    rows = store.con.execute(_LINKS.format(where=where), [*params, limit]).fetchall()
    return [
        {
            "kind": kind,
            "source": source,
            "source_type": source_type,
            "target": target,
            "target_type": target_type,
            "account": account,
            "detail": detail,
            **_observation(*rest),
        }
        for kind, source, source_type, target, target_type, account, detail, *rest in rows
    ]


def host_view(
    store: CaseStore, identities: Identities, text: str, limit: int = 50
) -> dict[str, Any]:
    """One machine (a name or an address) and everything seen of it."""
    ident = identities.host(text)
    if ident is None or ident.host is None or ident.host not in identities.hosts:
        known = "no machine of the case" if ident is None or ident.host is None else "unknown"
        raise UsageError(
            f"--host {text!r}: {known} (seawall entities lists the hosts the case knows)"
        )
    host = ident.host
    names = identities.hosts[host]
    addresses = identities.addresses_of(host)
    store.con.complete()
    observed = store.con.execute(_OBSERVED, [names]).fetchall()
    seen_addresses = store.con.execute(_ADDRESSES, [names]).fetchall()
    accounts = store.con.execute(_ACCOUNTS_ON.format(where="host IN ?"), [names]).fetchall()
    ends = [*names, *addresses]
    return {
        "host": host,
        "given": text,
        "inferred": ident.inferred,
        "reasons": [r.model_dump(mode="json") for r in ident.reasons],
        "names": names,
        "observed": [
            {"name": name, "seen_as": seen_as, **_observation(*rest)}
            for name, seen_as, *rest in observed
        ],
        "addresses": [
            {"name": name, "address": address, "seen_as": seen_as, **_observation(*rest)}
            for name, address, seen_as, *rest in seen_addresses
        ],
        "accounts": [
            {
                "name": n,
                "domain": d,
                "sid": sid,
                "upn": upn,
                "seen_as": seen_as,
                **_observation(*rest[1:]),
            }
            for n, d, sid, upn, seen_as, *rest in accounts
        ],
        "links": _links(store, "source IN ? OR target IN ?", [ends, ends], limit),
    }


def account_view(
    store: CaseStore, identities: Identities, text: str, limit: int = 50
) -> dict[str, Any]:
    """One account (any spelling) and everything seen of it."""
    ident = identities.account(text)
    if ident is None:
        raise UsageError(f"--account {text!r}: not an account name")
    store.con.complete()
    for statement in MACROS:
        store.con.execute(statement)
    rows = store.con.execute(_ACCOUNTS_ON.format(where="name = ?"), [ident.name]).fetchall()
    mine = [
        row
        for row in rows
        if (found := identities.account(f"{row[1]}\\{row[0]}" if row[1] else row[0])) is not None
        and found.key.split("@")[0] == ident.key.split("@")[0]
    ]
    if not mine:
        raise UsageError(f"--account {text!r}: no such account in the case")
    links = _links(store, "ent_acct_name(account) = ?", [ident.name], limit * 4)
    kept = [
        link
        for link in links
        if (found := identities.account(link["account"])) is not None
        and found.key.split("@")[0] == ident.key.split("@")[0]
    ][:limit]
    return {
        "account": ident.key,
        "given": text,
        "inferred": ident.inferred,
        "reasons": [r.model_dump(mode="json") for r in ident.reasons],
        "seen": [
            {
                "name": n,
                "domain": d,
                "sid": sid,
                "upn": upn,
                "seen_as": seen_as,
                "host": host,
                **_observation(*rest),
            }
            for n, d, sid, upn, seen_as, host, *rest in mine
        ],
        "hosts": sorted({str(row[5]) for row in mine if row[5]}),
        "links": kept,
        "link_kinds": dict(Counter(link["kind"] for link in kept)),
    }
