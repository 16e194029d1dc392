"""Entities are derived at collect time from the rows each run wrote, whatever the reader:
hosts, their addresses, accounts and links, with times in UTC and the first record cited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.collect.base import IngestRun
from seawall.entities.names import MACROS, account, address, host_name
from seawall.errors import ExitCode
from tests.conftest import cut_short
from tests.evtx_rows import SYSTEM, event, load_events


def _rows(case_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    with CaseStore.open(case_dir) as store:
        return store.con.execute(sql).fetchall()


def _logon(
    time: str, computer: str, user: str, ip: str, workstation: str, kind: int = 3
) -> dict[str, Any]:
    return event(
        4624,
        {
            "TargetUserName": user,
            "TargetDomainName": "CORP",
            "TargetUserSid": "S-1-5-21-1-2-3-1104",
            "LogonType": str(kind),
            "IpAddress": ip,
            "WorkstationName": workstation,
        },
        time=time,
        computer=computer,
        user_name=user,
    )


def test_events_give_hosts_addresses_accounts_and_links(case_dir: Path) -> None:
    rows = [
        _logon("2024-03-01T10:00:00Z", "FS1.corp.example", "alice", "10.1.1.10", "WEB1"),
        _logon("2024-03-01T11:00:00Z", "FS1.corp.example", "alice", "::ffff:10.1.1.10", "WEB1"),
        # a logon that names the computer itself as the workstation: not the source's name
        _logon("2024-03-01T12:00:00Z", "WEB1.corp.example", "bob", "203.0.113.9", "WEB1", 10),
        # a local logon: no address, no link
        _logon("2024-03-01T12:30:00Z", "WEB1.corp.example", "bob", "127.0.0.1", "WEB1", 2),
        event(
            5140,
            {
                "SubjectUserName": "alice",
                "SubjectDomainName": "CORP",
                "IpAddress": "10.1.1.10",
                "ShareName": "\\\\*\\ADMIN$",
            },
            time="2024-03-01T10:05:00Z",
            computer="FS1.corp.example",
        ),
        event(
            4769,
            {"TargetUserName": "alice@CORP", "IpAddress": "::ffff:10.1.1.10"},
            time="2024-03-01T09:59:00Z",
            computer="DC1.corp.example",
        ),
        event(
            4624,
            {
                "TargetUserName": "BKP1$",
                "TargetDomainName": "CORP",
                "IpAddress": "10.1.1.30",
                "WorkstationName": "BKP1",
                "LogonType": "3",
            },
            time="2024-03-01T18:00:00Z",
            computer="FS1.corp.example",
        ),
        event(7045, {"ServiceName": "x"}, channel=SYSTEM, computer="fs1.corp.example."),
    ]
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
    hosts = _rows(
        case_dir, "SELECT name, short_name, domain, seen_as, count FROM hosts ORDER BY ALL"
    )
    assert ("fs1.corp.example", "fs1", "corp.example", "event-computer", 5) in hosts
    assert ("web1", "web1", None, "logon-workstation", 4) in hosts
    assert ("bkp1", "bkp1", None, "machine-account", 1) in hosts
    addresses = _rows(case_dir, "SELECT name, address, seen_as, count FROM host_addresses")
    assert sorted(addresses) == [
        ("bkp1", "10.1.1.30", "logon-source", 1),
        ("web1", "10.1.1.10", "logon-source", 2),  # ::ffff: mapped or not: one address
    ]
    links = _rows(
        case_dir,
        "SELECT kind, source, source_type, target, account, detail, count FROM links ORDER BY ALL",
    )
    assert (
        "share",
        "10.1.1.10",
        "address",
        "fs1.corp.example",
        "corp\\alice",
        "ADMIN$",
        1,
    ) in links
    assert (
        "logon",
        "10.1.1.10",
        "address",
        "fs1.corp.example",
        "corp\\alice",
        "logon type 3",
        2,
    ) in links
    assert ("kerberos", "10.1.1.10", "address", "dc1.corp.example", "corp\\alice", None, 1) in links
    assert (
        "logon",
        "203.0.113.9",
        "address",
        "web1.corp.example",
        "corp\\bob",
        "logon type 10",
        1,
    ) in links
    assert not [link for link in links if link[1] == "127.0.0.1"]
    accounts = _rows(
        case_dir,
        "SELECT name, domain, sid, host, seen_as FROM accounts WHERE name = 'alice' ORDER BY ALL",
    )
    assert ("alice", "corp", "S-1-5-21-1-2-3-1104", "fs1.corp.example", "logon-account") in accounts
    first, last, source_file, record = _rows(
        case_dir,
        "SELECT first_seen, last_seen, source_file, record_ref FROM links"
        " WHERE kind = 'logon' AND source = '10.1.1.10'",
    )[0]
    assert first == datetime(2024, 3, 1, 10, tzinfo=UTC) and first.tzinfo is not None
    assert last == datetime(2024, 3, 1, 11, tzinfo=UTC)
    assert (source_file, record) == ("built-in-test.evtx", "record 1")  # the first record


def _zeek_dns(path: Path) -> Path:
    lines = [
        {
            "_path": "dns",
            "ts": 1709287200.0,
            "uid": "C1",
            "id.orig_h": "10.1.1.50",
            "id.orig_p": 5353,
            "id.resp_h": "10.1.1.2",
            "id.resp_p": 53,
            "proto": "udp",
            "query": "web1.corp.example",
            "qtype_name": "A",
            "rcode_name": "NOERROR",
            "answers": ["10.1.1.10"],
        },
        {
            "_path": "dns",
            "ts": 1709287260.0,
            "uid": "C2",
            "id.orig_h": "10.1.1.50",
            "id.orig_p": 5354,
            "id.resp_h": "10.1.1.2",
            "id.resp_p": 53,
            "proto": "udp",
            "query": "20.1.1.10.in-addr.arpa",
            "qtype_name": "PTR",
            "rcode_name": "NOERROR",
            "answers": ["fs1.corp.example"],
        },
        {
            "_path": "dns",
            "ts": 1709287320.0,
            "uid": "C3",
            "id.orig_h": "10.1.1.50",
            "id.orig_p": 5355,
            "id.resp_h": "10.1.1.2",
            "id.resp_p": 53,
            "proto": "udp",
            "query": "cdn.example.net",
            "qtype_name": "A",
            "rcode_name": "NOERROR",
            "answers": ["cdn.edge.example.net", "198.51.100.7"],
        },
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_dns_answers_and_a_named_host(case_dir: Path, tmp_path: Path) -> None:
    log = _zeek_dns(tmp_path / "dns.log")
    case = ["--case", str(case_dir)]
    assert run([*case, "collect", "logs", str(log), "--json"]) == ExitCode.OK
    addresses = _rows(case_dir, "SELECT name, address, seen_as FROM host_addresses ORDER BY ALL")
    # cdn.example.net's answer (198.51.100.7, public) is no host of the case: not kept; nor is
    # its CNAME (no address)
    assert addresses == [
        ("fs1.corp.example", "10.1.1.20", "dns-ptr"),
        ("web1.corp.example", "10.1.1.10", "dns-answer"),
    ]
    assert _rows(case_dir, "SELECT kind, source, target, count FROM links") == [
        ("dns", "10.1.1.50", "10.1.1.2", 3)
    ]
    web = tmp_path / "u_ex240301.log"
    web.write_text(
        "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
        "#Date: 2024-03-01 10:00:00\n"
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip"
        " cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n"
        "2024-03-01 10:00:00 10.1.1.10 GET /index.htm - 443 - 192.0.2.44 Mozilla/5.0 - 200 0 0 5\n",
        encoding="utf-8",
    )
    assert run([*case, "collect", "logs", str(web), "--host", "WEB1.corp.example", "--json"]) == 0
    assert ("web1.corp.example", "10.1.1.10", "web-server") in _rows(
        case_dir, "SELECT name, address, seen_as FROM host_addresses"
    )
    named = _rows(
        case_dir, "SELECT name, seen_as, count, host FROM hosts WHERE seen_as = 'collect-host'"
    )
    assert named == [("web1.corp.example", "collect-host", 1, "WEB1.corp.example")]
    assert _rows(case_dir, "SELECT kind, source, target, detail FROM links WHERE kind = 'web'") == [
        ("web", "192.0.2.44", "web1.corp.example", None)
    ]


def test_a_failed_run_leaves_no_entities(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        run_ = IngestRun(store, "test events", {})
        with pytest.raises(RuntimeError), run_:
            from tests.evtx_rows import _table

            rows = [_logon("2024-03-01T10:00:00Z", "FS1", "alice", "10.1.1.10", "WEB1")]
            run_.write("events", _table([{**r, "record_ref": "1"} for r in rows]), None)
            run_.flush()
            raise RuntimeError("cut")
        assert store.con.execute("SELECT count(*) FROM hosts").fetchone() == (0,)
        # one cut short after its rows and entities were committed is discarded on open
        later = IngestRun(store, "test events", {})
        later.__enter__()
        later.write("events", _table([{**rows[0], "record_ref": "1"}]), None)
        later.finish({})
        store.con.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", [later.run_id])
        cut_short(later.run_id)
        later._limit.__exit__(None, None, None)
    with CaseStore.open(case_dir) as store:
        assert store.con.execute("SELECT count(*) FROM hosts").fetchone() == (0,)
        assert store.con.execute("SELECT count(*) FROM links").fetchone() == (0,)


@pytest.mark.parametrize(
    "text",
    [
        "WEB01.tidewater.example.",
        "\\\\WS01",
        "-",
        "10.0.0.1",
        "a b",
        "LOCALHOST",
        "Fs01",
        "",
        "x/y",
        "host@domain",
    ],
)
def test_host_names_are_normalised_alike_in_sql_and_python(text: str) -> None:
    con = duckdb.connect()
    for statement in MACROS:
        con.execute(statement)
    assert con.execute("SELECT ent_host(?)", [text]).fetchone() == (host_name(text),)


@pytest.mark.parametrize(
    "text",
    [
        "::ffff:10.10.3.27",
        "127.0.0.1",
        "-",
        "::1",
        "FE80::1%12",
        "[2001:DB8::1]",
        "10.010.0.1",
        "abc",
        "0.0.0.0",
        "192.0.2.1",
    ],
)
def test_addresses_are_normalised_alike_in_sql_and_python(text: str) -> None:
    con = duckdb.connect()
    for statement in MACROS:
        con.execute(statement)
    assert con.execute("SELECT ent_ip(?)", [text]).fetchone() == (address(text),)


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("TIDEWATER\\d.tan", None),
        ("d.tan@tidewater.example", None),
        ("d.tan@TIDEWATER", "x"),
        ("d.tan", "TIDEWATER"),
        ("-", "-"),
        ("IIS APPPOOL\\TidewaterWeb", None),
        ("a\\b\\c", None),
    ],
)
def test_accounts_are_parsed_alike_in_sql_and_python(text: str, domain: str | None) -> None:
    con = duckdb.connect()
    for statement in MACROS:
        con.execute(statement)
    sql = con.execute(
        "SELECT ent_acct_name(?), ent_acct_domain(?, ?), ent_upn(?)", [text, text, domain, text]
    ).fetchone()
    parsed = account(text, domain)
    assert sql == ((parsed.name, parsed.domain, parsed.upn) if parsed else (None, None, None))


def test_a_case_without_entity_tables_says_so(case_dir: Path, tmp_path: Path) -> None:
    """A case of a development build made between migration 7's two versions."""
    with CaseStore.open(case_dir) as store:
        for name in ("hosts", "host_addresses", "accounts", "links"):
            store.con.execute(f"DROP TABLE {name}")
    log = _zeek_dns(tmp_path / "dns.log")
    assert run(["--case", str(case_dir), "collect", "logs", str(log), "--json"]) == ExitCode.USAGE
    with CaseStore.open(case_dir) as store:
        from seawall.detect.engine import HuntRequest, hunt

        store.con.execute(
            "INSERT INTO files (path, name, host, os, windows_path, file_kind)"
            " VALUES ('/x/a.txt', 'a.txt', 'ws1', 'windows', 'c:\\a.txt', 'regular')"
        )
        ids = ("host.legit-tool-location", "correlate.host-story")
        document = hunt(store, HuntRequest(detection_ids=ids))
    story = next(e for e in document.coverage if e.detection_id == "correlate.host-story")
    assert any("no entity tables" in note for note in story.notes)
