"""SQL helpers every detection query may call, and the hunt's allowlist as a table.

Detections judge evidence against data the user gives — trusted networks, an allowlist of who
may do what from where — and that judgement belongs in the query, next to the evidence it
filters, not in Python options. The hunt therefore installs, on its connection:

- ``allowlist``: a temporary table of the entries of every ``--allowlist FILE``
  (:mod:`seawall.triage.allowlist`), empty when none was given;
- ``in_network(ip, cidr)`` and ``in_networks(ip, cidrs)``: whether an address (IPv4, IPv6, or
  IPv4-mapped ``::ffff:10.0.0.1``) lies in a network (an address alone is a /32 or /128); false
  for anything that is not an address (``-``, a host name). Python's ``ipaddress`` decides,
  through a DuckDB function (the SQL alternative, a 128-bit number built from hextets, made
  every query that used it take a quarter of a second to bind);
- ``is_ip(text)``: whether lower-case text looks like an address (a cheap test for views);
- ``bare_account(name)``: ``DOMAIN\\user``, ``user@domain`` and ``user`` as the lower-case
  ``user``, to compare accounts across Windows and external logs;
- ``allowlisted(detection_id, account, source, host, item, time)``: the first allowlist entry
  that matches (``file:line: reason``), or NULL; an entry with a time window (``from``/``to``)
  only matches a known time inside it (expired entries and those naming a path or a value are
  not in the table: :func:`seawall.triage.allowlist.as_table`);
- ``utc_text(time)``: a time as ``2024-03-01 10:00:00Z`` for summaries;
- the views of ``seawall/detect/views/*.sql`` (:data:`VIEWS`), the evidence in the shapes
  several detections read: ``process_creation`` (4688 and Sysmon 1 as one), ``script_blocks``
  (PowerShell 4103/4104), ``recon_catalog`` and ``recon_runs`` (discovery commands),
  ``logons`` (Windows authentication events as one), ``share_access`` (admin shares),
  ``host_items`` (files in system and staging folders, services, tasks, autoruns).

They are DuckDB temporary macros, views and Python functions: defined per connection, never
stored in the case. Macros evaluate an argument at each of its uses, so each uses its argument
once (a view's column can be a JSON extraction, costly to repeat).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import cache, lru_cache
from importlib import resources

import duckdb
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType

from seawall.detect import netsql
from seawall.errors import UsageError
from seawall.model.ddl import column_ddl

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(\.{_OCTET}){{3}}"

ALLOWLIST_SCHEMA = pa.schema(
    [
        ("origin", pa.string()),
        ("reason", pa.string()),
        ("detection_re", pa.string()),
        ("user_re", pa.string()),
        ("source", pa.string()),
        ("source_re", pa.string()),
        ("source_net", pa.bool_()),
        ("host_re", pa.string()),
        ("item_re", pa.string()),
        ("window_from", pa.timestamp("us", tz="UTC")),
        ("window_to", pa.timestamp("us", tz="UTC")),
    ]
)

_MACROS = (
    rf"""CREATE OR REPLACE TEMP MACRO is_ip(s) AS
        coalesce(regexp_full_match(s, '{_IPV4}|[0-9a-f]*:[0-9a-f:.]*(%[0-9a-z]+)?'), false)""",
    r"""CREATE OR REPLACE TEMP MACRO bare_account(name) AS
        nullif(lower(trim(regexp_extract(CAST(name AS VARCHAR), '^(?:.*\\)?([^@\\]*)', 1))),
               '')""",
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
               OR (a.source_net AND in_network(src, a.source))
               OR (NOT a.source_net AND _host_matches(src, a.source_re)))
          AND (a.host_re IS NULL OR _host_matches(host_name, a.host_re))
          AND (a.item_re IS NULL
               OR regexp_full_match(lower(coalesce(item_value, '')), a.item_re))
          AND (a.window_from IS NULL OR seen >= a.window_from)
          AND (a.window_to IS NULL OR seen <= a.window_to))""",
)


# The shipped views, in an order where each one's dependencies come first.
VIEWS = (
    "process_creation",
    "script_blocks",
    "recon_catalog",
    "recon_runs",
    "logons",
    "share_access",
    "host_items",
)


# A shared view kept as a temporary table for one hunt (see :func:`shared_views`).
_SHARED_TABLE = "_shared_{}"


def view_sql(name: str) -> str:
    """The SELECT of a shipped view (``seawall/detect/views/NAME.sql``)."""
    return resources.files("seawall.detect").joinpath("views", f"{name}.sql").read_text("utf-8")


def _reads(sql: str) -> set[str]:
    """The shipped views a query names, and those they read in turn."""
    found = {name for name in VIEWS if re.search(rf"\b{name}\b", sql)}
    for name in reversed(VIEWS):  # a view only reads views listed before it
        if name in found:
            found |= _reads_of_view(name)
    return found


@cache
def _reads_of_view(name: str) -> frozenset[str]:
    text = view_sql(name)
    return frozenset(other for other in VIEWS if other != name and re.search(rf"\b{other}\b", text))


@contextlib.contextmanager
def shared_views(con: duckdb.DuckDBPyConnection, queries: Iterable[str]) -> Iterator[list[str]]:
    """Within the block, the views that two or more of ``queries`` read are computed once, as
    temporary tables; the plain views are back (and the tables gone) after it.

    A view is a query run anew by every detection that reads it: ``process_creation`` parses
    the JSON of every process creation event, and eight detections read it (some twice, through
    ``recon_runs`` and ``share_access``). Kept as a table for the hunt, its rows are the same
    for all of them. The view keeps its name (it then reads the table), so the detections'
    SQL is unchanged. Yields the views shared.
    """
    readers: dict[str, int] = {}
    for sql in queries:
        for name in _reads(sql):
            readers[name] = readers.get(name, 0) + 1
    shared = [name for name in VIEWS if readers.get(name, 0) >= 2]
    con.complete()
    try:
        for name in shared:  # in VIEWS order: a view reads the tables of those it depends on
            table = _SHARED_TABLE.format(name)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {name}")
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {table}")
        yield shared
    finally:
        con.complete()
        for name in shared:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS\n{view_sql(name)}")
        for name in shared:
            con.execute(f"DROP TABLE IF EXISTS temp.{_SHARED_TABLE.format(name)}")


@lru_cache(maxsize=1 << 16)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        found = ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


@lru_cache(maxsize=1 << 12)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    found: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for text in cidrs:
        try:
            found.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            continue  # checked before the hunt (check_networks); never matches here
    return tuple(found)


def contains(ip: str | None, cidrs: Sequence[str] | None) -> bool:
    """Whether address ``ip`` lies in one of ``cidrs`` (false for a non-address)."""
    if ip is None or not cidrs:
        return False
    address = _address(ip)
    if address is None:
        return False
    return any(address.version == net.version and address in net for net in _networks(tuple(cidrs)))


def _in_networks(ips: pa.Array, cidrs: pa.Array) -> pa.Array:
    return pa.array(
        [contains(ip, nets) for ip, nets in zip(ips.to_pylist(), cidrs.to_pylist(), strict=True)],
        pa.bool_(),
    )


def _in_network(ips: pa.Array, cidrs: pa.Array) -> pa.Array:
    return pa.array(
        [
            contains(ip, None if net is None else [net])
            for ip, net in zip(ips.to_pylist(), cidrs.to_pylist(), strict=True)
        ],
        pa.bool_(),
    )


def _functions(con: duckdb.DuckDBPyConnection) -> None:
    for name, function, kinds in (
        ("in_networks", _in_networks, ["VARCHAR", "VARCHAR[]"]),
        ("in_network", _in_network, ["VARCHAR", "VARCHAR"]),
    ):
        with contextlib.suppress(duckdb.InvalidInputException, duckdb.CatalogException):
            con.remove_function(name)
        con.create_function(
            name,
            function,
            list(kinds),
            "BOOLEAN",
            type=PythonUDFType.ARROW,
            null_handling=FunctionNullHandling.SPECIAL,
        )


def install(con: duckdb.DuckDBPyConnection, allowlist: pa.Table | None = None) -> None:
    """Create the helpers and views, and the ``allowlist`` table (the given entries, or
    none)."""
    con.complete()
    _functions(con)
    con.execute("DROP TABLE IF EXISTS temp.allowlist")
    columns = ", ".join(column_ddl(f) for f in ALLOWLIST_SCHEMA)
    con.execute(f"CREATE TEMP TABLE allowlist ({columns})")
    for statement in _MACROS:
        con.execute(statement)
    for name in VIEWS:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS\n{view_sql(name)}")
        con.execute(f"DROP TABLE IF EXISTS temp.{_SHARED_TABLE.format(name)}")
    netsql.install(con)
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
