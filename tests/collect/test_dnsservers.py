"""DNS server logs (our fixtures in tests/data/network): each step of a resolution a row, the
server's other lines netlog rows, malformed lines warnings at their line; time zones and years."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from seawall.collect.logs.common import zone
from seawall.errors import UsageError

from ..conftest import TEST_DATA
from .netlogs import ingest, line_warnings, rows

DATA = TEST_DATA / "network"

_DNS = (
    "SELECT record_ref::INT, time, client_ip, client_port, server_ip, proto, query, qtype, rcode,"
    " answers, message, trans_id, host FROM dns ORDER BY 1"
)


def _one(tmp_path: Path, name: str, **settings: Any) -> tuple[Any, list[tuple[Any, ...]]]:
    report = ingest(tmp_path / "case", DATA / name, **settings)
    return report, rows(tmp_path / "case", _DNS)


def t(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_dnsmasq_steps_and_other_lines(tmp_path: Path) -> None:
    report, got = _one(tmp_path, "dnsmasq.log", year=2024, timezone="+01:00")
    assert report.sources[0].format == "dnsmasq"
    assert report.rows == {"dns": 13, "netlog": 3}  # 17 lines: 13 + 3 + 1 warning
    assert line_warnings(report) == [("dnsmasq.log:14", "not a dnsmasq log line: skipped")]
    by_line = {r[0]: r[1:] for r in got}
    # the year given is the first line's (14 March); the time zone is +01:00
    assert by_line[3] == (
        t(2024, 3, 15, 7, 0, 1),
        "192.0.2.10",
        None,
        None,
        None,
        "www.example.com",
        "A",
        None,
        None,
        "query",
        None,
        None,
    )
    assert by_line[4][3] == "198.51.100.53" and by_line[4][9] == "forwarded"
    assert by_line[5][7:10] == ("NOERROR", ["203.0.113.7"], "reply")
    assert by_line[7][3:] == (
        "198.51.100.53",
        None,
        None,
        None,
        None,
        None,
        "nameserver refused recursion",
        None,
        None,
    )
    assert by_line[8][7:10] == ("NXDOMAIN", None, "reply")
    assert by_line[9][9] == "cached" and by_line[10][9] == "hosts-file"
    assert by_line[11][7:10] == ("NOERROR", [], "config")
    assert by_line[12][1:3] == ("192.0.2.12", 51000)  # log-queries=extra
    assert by_line[13][5] == "<name unprintable>"
    assert by_line[16][1] == "192.0.2.13" and by_line[16][11] == "gw1"
    assert by_line[17][5] == "\\xfe\\xffbin.t.tunnel.example"  # raw bytes kept, escaped
    other = rows(tmp_path / "case", "SELECT record_ref, fields->>'program' FROM netlog ORDER BY 1")
    assert other == [("1", "dnsmasq"), ("15", "dnsmasq-dhcp"), ("2", "dnsmasq")]
    with_settings = rows(tmp_path / "case", "SELECT arguments FROM runs")
    assert with_settings  # the run exists (the CLI records --timezone/--year in its arguments)


def test_assumptions_are_warnings(tmp_path: Path) -> None:
    report, got = _one(tmp_path, "dnsmasq.log")
    messages = [w.message for w in report.warnings if ":" not in w.location.rpartition("/")[2]]
    assert any("no time zone: read as UTC" in m for m in messages)
    assert any("no year" in m and "assumed" in m for m in messages)
    assert got[0][1].tzinfo is not None


def test_year_rolls_over_in_december(tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    log.write_text(
        "Dec 31 23:59:59 dnsmasq[1]: query[A] a.example from 192.0.2.1\n"
        "Jan  1 00:00:01 dnsmasq[1]: query[A] b.example from 192.0.2.1\n"
    )
    ingest(tmp_path / "case", log, year=2023)
    assert [r[1] for r in rows(tmp_path / "case", _DNS)] == [
        t(2023, 12, 31, 23, 59, 59),
        t(2024, 1, 1, 0, 0, 1),
    ]


def test_bind(tmp_path: Path) -> None:
    report, got = _one(tmp_path, "bind-queries.log", year=2024)
    assert report.rows == {"dns": 3, "netlog": 2}
    assert line_warnings(report) == [("bind-queries.log:5", "not a bind log line: skipped")]
    assert got[0] == (
        1,
        datetime(2024, 3, 15, 8, 1, 2, 123000, UTC),
        "192.0.2.20",
        53211,
        "198.51.100.1",
        "udp",
        "www.example.org",
        "A",
        None,
        None,
        "query",
        None,
        None,
    )
    assert got[1][2:8] == ("2001:db8::20", 40000, "2001:db8::1", "tcp", "files.example.org", "AAAA")
    assert got[2][0] == 6 and got[2][-1] == "ns1"


def test_unbound(tmp_path: Path) -> None:
    report, got = _one(tmp_path, "unbound.log", year=2024)
    assert report.rows == {"dns": 4, "netlog": 1}
    assert line_warnings(report) == [("unbound.log:5", "not a unbound log line: skipped")]
    assert [(r[0], r[2], r[6], r[7], r[8], r[10]) for r in got] == [
        (1, "192.0.2.30", "www.example.com", "A", None, "query"),
        (2, "192.0.2.30", "www.example.com", "A", "NOERROR", "reply"),
        (3, "192.0.2.31", "cached.example", "AAAA", "NOERROR", "reply (cached)"),
        (6, "192.0.2.32", "syslog.example", "MX", None, "query"),
    ]
    assert got[0][1] == t(2024, 3, 15, 8, 0, 0)  # epoch stamps are UTC whatever --timezone


def test_windows_dns_debug(tmp_path: Path) -> None:
    report, got = _one(tmp_path, "windows-dns-debug.log", timezone="America/New_York")
    # 31 lines: 24 of header and legend, 5 packets, 1 event (netlog), 1 bad packet line
    assert report.rows == {"dns": 5, "netlog": 1}
    assert line_warnings(report) == [
        ("windows-dns-debug.log:31", "not a windows-dns log line: skipped")
    ]
    assert [(r[0], r[1], r[2], r[4], r[5], r[6], r[7], r[8], r[10], r[11]) for r in got] == [
        (
            25,
            t(2024, 3, 15, 12, 2, 1),
            "192.0.2.40",
            None,
            "udp",
            "www.example.com",
            "A",
            None,
            "query received",
            0xD1F0,
        ),
        (
            26,
            t(2024, 3, 15, 12, 2, 1),
            None,
            "198.51.100.53",
            "udp",
            "www.example.com",
            "A",
            None,
            "query sent",
            0x4A2B,
        ),
        (
            27,
            t(2024, 3, 15, 12, 2, 1),
            None,
            "198.51.100.53",
            "udp",
            "www.example.com",
            "A",
            "NOERROR",
            "response received",
            0x4A2B,
        ),
        (
            28,
            t(2024, 3, 15, 12, 2, 1),
            "192.0.2.40",
            None,
            "udp",
            "www.example.com",
            "A",
            "NOERROR",
            "response sent",
            0xD1F0,
        ),
        (
            29,
            t(2024, 3, 15, 17, 2, 2),
            None,
            "2001:db8::40",
            "tcp",
            "nope.example",
            "AAAA",
            "NXDOMAIN",
            "response received",
            1,
        ),
    ]


def test_formats_are_told_from_content_not_names(tmp_path: Path) -> None:
    for name, expected in (
        ("dnsmasq.log", "dnsmasq"),
        ("bind-queries.log", "bind"),
        ("unbound.log", "unbound"),
        ("windows-dns-debug.log", "windows-dns"),
    ):
        copy = tmp_path / f"{expected}.txt.renamed"
        shutil.copy(DATA / name, copy)
        report = ingest(tmp_path / f"case-{expected}", copy)
        assert report.sources[0].format == expected


def test_bad_timezone_is_a_usage_error() -> None:
    assert zone("+05:30").utcoffset(None).total_seconds() == 5.5 * 3600  # type: ignore[union-attr]
    with pytest.raises(UsageError, match="not a time zone"):
        zone("Mars/Olympus")
