"""The helpers detection SQL calls: networks, accounts, and the allowlist as a table."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawall.case.store import CaseStore
from seawall.detect import sqlhelpers
from seawall.triage.allowlist import as_table, load_allowlist


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    # Closed at the end: a DuckDB connection left to the garbage collector can crash a worker
    # process that a later test forks (the child collects it).
    with CaseStore.open(tmp_path_factory.mktemp("helpers") / "case") as store:
        sqlhelpers.install(store.con)
        yield store.con


def _one(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> object:
    return con.sql(sql, params=list(params)).fetchall()[0][0]


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)),
    st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)),
    st.integers(0, 128),
)
def test_in_network_agrees_with_ipaddress(con, address, base, plen) -> None:  # type: ignore[no-untyped-def]
    plen = min(plen, base.max_prefixlen)
    network = ipaddress.ip_network(f"{base}/{plen}", strict=False)
    text = str(address)
    # An IPv4-mapped IPv6 address (how dual-stack logs write IPv4 clients) is its IPv4 address.
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    expected = address.version == network.version and address in network
    assert _one(con, "SELECT in_network(?, ?)", text, str(network)) is expected
    other = ipaddress.ip_network("192.0.2.0/24")
    either = expected or (address.version == 4 and address in other)
    assert _one(con, "SELECT in_networks(?, ?)", text, [str(network), str(other)]) is either


def test_addresses_as_logs_write_them(con: duckdb.DuckDBPyConnection) -> None:
    assert _one(con, "SELECT in_network('::ffff:10.1.2.3', '10.0.0.0/8')") is True
    assert _one(con, "SELECT in_network('fe80::1%12', 'fe80::/10')") is True
    assert _one(con, "SELECT in_network('[2001:db8::1]', '2001:db8::/32')") is True
    for text in ("-", "", "WS01", "LOCAL"):
        assert _one(con, "SELECT in_network(?, '0.0.0.0/0')", text) is False
    assert _one(con, "SELECT in_networks(NULL, ['0.0.0.0/0'])") is False
    assert [_one(con, "SELECT is_ip(?)", t) for t in ("10.0.0.1", "::1", "fe80::1%12", "ws01")] == [
        True,
        True,
        True,
        False,
    ]


def test_bare_account(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.sql(
        "SELECT bare_account(x) FROM (VALUES ('CORP\\Alice'), ('alice@corp.example'),"
        " ('ALICE'), (''), (NULL), ('NT AUTHORITY\\SYSTEM')) t(x)"
    ).fetchall()
    assert [r[0] for r in rows] == ["alice", "alice", "alice", None, None, "system"]


def test_allowlisted_matches_every_field(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    path = tmp_path / "allow.yml"
    path.write_text(
        "allow:\n"
        "  - {user: svc-backup, source: 10.1.0.0/16, host: fs*, item: 'ADMIN$',"
        " reason: backups}\n"
        "  - {detection: evtx.recon-*, source: 'jump?', reason: jump hosts,"
        " from: 2023-01-01, to: 2024-01-01}\n"
        "  - {detection: evtx.recon-*, path: 'c:\\tools\\*', reason: SQL cannot judge paths}\n",
        encoding="utf-8",
    )
    table = as_table(load_allowlist(path))
    assert table.num_rows == 2  # the entry that names a path is matched against findings
    sqlhelpers.install(con, table)

    def judged(
        det: str,
        user: str | None,
        src: str | None,
        host: str | None,
        item: str | None,
        when: str = "2023-06-01",
    ) -> object:
        return _one(
            con,
            "SELECT allowlisted(?, ?, ?, ?, ?, ?::TIMESTAMPTZ)",
            det,
            user,
            src,
            host,
            item,
            when,
        )

    line2 = f"{path}:2: backups"
    assert (
        judged("evtx.admin-share-mapping", "CORP\\svc-backup", "10.1.9.9", "fs1.corp", "admin$")
        == line2
    )
    assert judged("x.y", "svc-backup@corp.example", "10.1.0.1", "FS2", "ADMIN$") == line2
    assert judged("x.y", "CORP\\svc-backup", "10.2.0.1", "fs1", "ADMIN$") is None  # source
    assert judged("x.y", "CORP\\svc-backup2", "10.1.0.1", "fs1", "ADMIN$") is None  # user
    assert judged("x.y", "CORP\\svc-backup", "10.1.0.1", "db1", "ADMIN$") is None  # host
    assert judged("x.y", "CORP\\svc-backup", "10.1.0.1", "fs1", "C$") is None  # item
    assert judged("evtx.recon-burst", "anyone", "jump1", "h", "x") == f"{path}:3: jump hosts"
    # a source named by its host name matches its full name too, as a host does
    assert judged("evtx.recon-burst", "anyone", "JUMP2.corp.example", "h", "x") is not None
    # the window: `to` given as a date covers that whole day; a time outside or unknown: no
    assert judged("evtx.recon-burst", "anyone", "jump1", "h", "x", "2024-01-01 18:00") is not None
    assert judged("evtx.recon-burst", "anyone", "jump1", "h", "x", "2024-02-01") is None
    assert judged("evtx.recon-burst", "anyone", "jump1", "h", "x", "2022-12-31") is None
    assert judged("evtx.recon-burst", "anyone", "jump1", "h", "x", None) is None  # type: ignore[arg-type]
    assert judged("evtx.admin-commands", "anyone", "jump1", "h", "x") is None
    sqlhelpers.install(con)
    assert judged("x.y", "CORP\\svc-backup", "10.1.0.1", "fs1", "ADMIN$") is None
