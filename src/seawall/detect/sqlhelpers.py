"""SQL helpers every detection query may call, and the hunt's allowlist as a table.

Detections judge evidence against data the user gives — trusted networks, an allowlist of who
may do what from where — and that judgement belongs in the query, next to the evidence it
filters, not in Python options. The hunt therefore installs, on its connection:

- ``allowlist``: a temporary table of the entries of every ``--allowlist FILE``
  (:mod:`seawall.triage.allowlist`), empty when none was given;
- ``ip_number(text)``: an IPv4 or IPv6 address as one UHUGEINT (IPv4 in the ``::ffff:0:0/96``
  space, so ``::ffff:10.0.0.1`` and ``10.0.0.1`` are the same number); NULL for anything that is
  not an address (``-``, a host name);
- ``in_network(ip, cidr)`` and ``in_networks(ip, cidrs)``: whether an address lies in a network
  (an address alone is a /32 or /128);
- ``bare_account(name)``: ``DOMAIN\\user``, ``user@domain`` and ``user`` as the lower-case
  ``user``, to compare accounts across Windows and external logs;
- ``allowlisted(detection_id, account, source, host, item, time)``: the first allowlist entry
  that matches (``file:line: reason``), or NULL;
- ``utc_text(time)``: a time as ``2024-03-01 10:00:00Z`` for summaries;
- the views of ``seawall/detect/views/*.sql`` (:data:`VIEWS`), the evidence in the shapes
  several detections read: ``process_creation`` (4688 and Sysmon 1 as one), ``script_blocks``
  (PowerShell 4103/4104), ``recon_catalog`` and ``recon_runs`` (discovery commands),
  ``logons`` (Windows authentication events as one), ``share_access`` (admin shares).

They are DuckDB temporary macros and views: defined per connection, never stored in the case.
"""

from __future__ import annotations

import ipaddress
from importlib import resources

import duckdb
import pyarrow as pa

from seawall.errors import UsageError
from seawall.model.tables import column_ddl

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(\.{_OCTET}){{3}}"
_HEXTET = r"[0-9a-f]{1,4}"
# Loose on purpose (the group count is checked by the expansion): hextets and colons, at most
# one "::".
_IPV6 = rf"({_HEXTET})?(:{{1,2}}{_HEXTET})*(::)?"

ALLOWLIST_SCHEMA = pa.schema(
    [
        ("origin", pa.string()),
        ("reason", pa.string()),
        ("detection_re", pa.string()),
        ("user_re", pa.string()),
        ("source", pa.string()),
        ("source_re", pa.string()),
        ("net_base", pa.string()),
        ("net_plen", pa.int32()),
        ("host_re", pa.string()),
        ("item_re", pa.string()),
        ("until", pa.timestamp("us", tz="UTC")),
    ]
)

_MACROS = (
    # An address as text, cleaned: no zone index, no brackets, lower case.
    r"""CREATE OR REPLACE TEMP MACRO _ip_text(ip) AS
        lower(trim(split_part(replace(replace(CAST(ip AS VARCHAR), '[', ''), ']', ''), '%', 1)))""",
    rf"""CREATE OR REPLACE TEMP MACRO _ipv4_number(s) AS (
        CASE WHEN regexp_full_match(s, '{_IPV4}') THEN
            (281470681743360::UHUGEINT)
            + (split_part(s, '.', 1)::UBIGINT << 24) + (split_part(s, '.', 2)::UBIGINT << 16)
            + (split_part(s, '.', 3)::UBIGINT << 8) + split_part(s, '.', 4)::UBIGINT
        END)""",
    r"""CREATE OR REPLACE TEMP MACRO _hextets(s) AS (
        CASE WHEN contains(s, '::') THEN list_concat(
            string_split(split_part(s, '::', 1), ':'),
            list_transform(
                range(8 - len(list_filter(string_split(split_part(s, '::', 1), ':'),
                                          lambda g: g <> ''))
                        - len(list_filter(string_split(split_part(s, '::', 2), ':'),
                                          lambda g: g <> ''))),
                lambda i: '0'),
            string_split(split_part(s, '::', 2), ':'))
        ELSE string_split(s, ':') END)""",
    rf"""CREATE OR REPLACE TEMP MACRO _ipv6_number(s) AS (
        CASE WHEN regexp_full_match(s, '{_IPV6}') AND len(string_split(s, '::')) <= 2
                  AND len(list_filter(_hextets(s), lambda g: g <> '')) = 8 THEN
            list_reduce(
                list_transform(list_filter(_hextets(s), lambda g: g <> ''),
                               lambda g: ('0x' || g)::UHUGEINT),
                lambda acc, g: (acc << 16) + g)
        END)""",
    r"""CREATE OR REPLACE TEMP MACRO ip_number(ip) AS (
        CASE
            WHEN _ip_text(ip) LIKE '::ffff:%.%' THEN _ipv4_number(substr(_ip_text(ip), 8))
            WHEN contains(_ip_text(ip), ':') THEN _ipv6_number(_ip_text(ip))
            ELSE _ipv4_number(_ip_text(ip))
        END)""",
    # A network's prefix length in the one 128-bit space (an IPv4 /24 is a /120 there).
    r"""CREATE OR REPLACE TEMP MACRO _net_plen(cidr) AS (
        CASE WHEN contains(cidr, '/') THEN TRY_CAST(split_part(cidr, '/', 2) AS INTEGER)
             ELSE (CASE WHEN contains(cidr, ':') THEN 128 ELSE 32 END) END
        + (CASE WHEN contains(split_part(cidr, '/', 1), ':') THEN 0 ELSE 96 END))""",
    r"""CREATE OR REPLACE TEMP MACRO _same_prefix(a, b, plen) AS (
        a IS NOT NULL AND b IS NOT NULL AND plen BETWEEN 0 AND 128
        AND (a >> (128 - plen)::UHUGEINT) = (b >> (128 - plen)::UHUGEINT))""",
    r"""CREATE OR REPLACE TEMP MACRO in_network(ip, cidr) AS
        coalesce(_same_prefix(ip_number(ip), ip_number(split_part(cidr, '/', 1)),
                              _net_plen(cidr)), false)""",
    r"""CREATE OR REPLACE TEMP MACRO in_networks(ip, cidrs) AS
        coalesce(len(list_filter(cidrs, lambda c: in_network(ip, c))) > 0, false)""",
    r"""CREATE OR REPLACE TEMP MACRO bare_account(name) AS (
        nullif(lower(trim(CASE
            WHEN contains(CAST(name AS VARCHAR), '\') THEN split_part(name, '\', -1)
            WHEN contains(CAST(name AS VARCHAR), '@') THEN split_part(name, '@', 1)
            ELSE CAST(name AS VARCHAR) END)), ''))""",
    r"""CREATE OR REPLACE TEMP MACRO utc_text(t) AS
        strftime(timezone('UTC', t), '%Y-%m-%d %H:%M:%SZ')""",
    r"""CREATE OR REPLACE TEMP MACRO _host_matches(host_name, pattern) AS (
        regexp_full_match(lower(coalesce(host_name, '')), pattern)
        OR regexp_full_match(split_part(lower(coalesce(host_name, '')), '.', 1), pattern))""",
    r"""CREATE OR REPLACE TEMP MACRO allowlisted(det, account, src, host_name, item_value, seen)
        AS (
        SELECT min(a.origin || ': ' || a.reason) FROM allowlist a
        WHERE regexp_full_match(det, a.detection_re)
          AND (a.user_re IS NULL
               OR regexp_full_match(lower(coalesce(account, '')), a.user_re))
          AND (a.source IS NULL
               OR (a.net_base IS NOT NULL
                   AND _same_prefix(ip_number(src), a.net_base::UHUGEINT, a.net_plen))
               OR (a.net_base IS NULL
                   AND regexp_full_match(lower(coalesce(src, '')), a.source_re)))
          AND (a.host_re IS NULL OR _host_matches(host_name, a.host_re))
          AND (a.item_re IS NULL
               OR regexp_full_match(lower(coalesce(item_value, '')), a.item_re))
          AND (a.until IS NULL OR seen IS NULL OR seen <= a.until))""",
)


# The shipped views, in an order where each one's dependencies come first.
VIEWS = (
    "process_creation",
    "script_blocks",
    "recon_catalog",
    "recon_runs",
    "logons",
    "share_access",
)


def view_sql(name: str) -> str:
    """The SELECT of a shipped view (``seawall/detect/views/NAME.sql``)."""
    return resources.files("seawall.detect").joinpath("views", f"{name}.sql").read_text("utf-8")


def install(con: duckdb.DuckDBPyConnection, allowlist: pa.Table | None = None) -> None:
    """Create the helpers and views, and the ``allowlist`` table (the given entries, or
    none)."""
    con.complete()
    con.execute("DROP TABLE IF EXISTS temp.allowlist")
    columns = ", ".join(column_ddl(f) for f in ALLOWLIST_SCHEMA)
    con.execute(f"CREATE TEMP TABLE allowlist ({columns})")
    for statement in _MACROS:
        con.execute(statement)
    for name in VIEWS:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS\n{view_sql(name)}")
    if allowlist is not None and allowlist.num_rows:
        con.register("_allowlist_rows", allowlist)
        try:
            con.execute("INSERT INTO allowlist BY NAME SELECT * FROM _allowlist_rows")
        finally:
            con.unregister("_allowlist_rows")


def check_networks(name: str, value: object) -> list[str]:
    """A ``*_networks`` parameter as a list of CIDRs, or a usage error naming the bad one.

    The SQL helpers return NULL for text that is not an address, so a typo would silently
    match nothing: networks are checked before the hunt runs.
    """
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f'{name} must be a list of networks like ["10.0.0.0/8"], not {value!r}')
    for text in value:
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError as error:
            raise UsageError(f"{name}: {text!r} is not an IP network ({error})") from None
    return list(value)


def network_number(text: str) -> tuple[int, int]:
    """An address or network as (base number, prefix length) in the one 128-bit space."""
    network = ipaddress.ip_network(text.strip(), strict=False)
    if network.version == 4:
        return (0xFFFF << 32) + int(network.network_address), network.prefixlen + 96
    return int(network.network_address), network.prefixlen
