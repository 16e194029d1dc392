"""Firewall/flow CSV by a mapping file, and nmap XML into scan."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from seawall.cli.app import run
from seawall.collect.logs.flows import load_mapping
from seawall.errors import BadInputError, UsageError

from ..conftest import TEST_DATA
from .netlogs import ingest, line_warnings, rows

DATA = TEST_DATA / "network"


def test_flow_csv_by_mapping(tmp_path: Path) -> None:
    report = ingest(
        tmp_path / "case",
        DATA / "firewall-flows.csv",
        fmt="flow-csv",
        mapping=DATA / "firewall-mapping.yml",
    )
    assert report.rows == {"conn": 3}
    assert line_warnings(report) == [
        ("firewall-flows.csv:5", "src 'not-an-ip' is not an IP address: line skipped"),
        ("firewall-flows.csv:6", "4 fields where the header has 10"),
    ]
    assert rows(
        tmp_path / "case",
        "SELECT record_ref, time, client_ip, client_port, server_ip, server_port, proto,"
        " duration, bytes_out, bytes_in, action FROM conn ORDER BY record_ref",
    ) == [
        (
            "2",
            datetime(2024, 3, 15, 8, 0, 0, tzinfo=UTC),
            "192.0.2.10",
            50000,
            "203.0.113.7",
            443,
            "tcp",
            5.0,
            1200,
            56000,
            "allow",
        ),
        (
            "3",
            datetime(2024, 3, 15, 8, 0, 10, tzinfo=UTC),
            "2001:db8::10",
            53000,
            "2001:db8::53",
            53,
            "udp",
            1.0,
            60,
            120,
            "allow",
        ),
        (
            "4",
            datetime(2024, 3, 15, 7, 0, 20, tzinfo=UTC),
            "192.0.2.11",
            None,
            "203.0.113.9",
            None,
            "icmp",
            1.0,
            84,
            0,
            "deny",
        ),
    ]


def test_mapping_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "map.yml"
    bad.write_text("columns:\n  time: start\n  client_ip: src\n  server_ip: dst\n  colour: x\n")
    with pytest.raises(BadInputError) as error:
        load_mapping(bad)
    assert error.value.location == f"{bad}:5"
    missing = tmp_path / "short.yml"
    missing.write_text("columns:\n  time: start\n")
    with pytest.raises(BadInputError, match="columns must map client_ip, server_ip"):
        load_mapping(missing)
    header = tmp_path / "flows.csv"
    header.write_text("a,b,c\n1,2,3\n")
    report = ingest(
        tmp_path / "case", header, fmt="flow-csv", mapping=DATA / "firewall-mapping.yml"
    )
    assert report.refused and report.sources[0].refused is not None
    assert "the header has no column 'start'" in report.sources[0].refused
    with pytest.raises(UsageError, match="needs --mapping"):
        ingest(tmp_path / "case2", header, fmt="flow-csv")


def test_cli_checks_timezone_and_mapping_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = ["--case", str(tmp_path / "c"), "collect", "logs", str(DATA / "dnsmasq.log")]
    assert run([*case, "--timezone", "Nowhere/X"]) == 2
    assert "not a time zone" in capsys.readouterr().err
    assert run([*case, "--format", "flow-csv"]) == 2
    assert "needs --mapping" in capsys.readouterr().err
    assert run([*case, "--timezone", "+01:00", "--year", "2024", "--json"]) == 0
    arguments = rows(tmp_path / "c", "SELECT arguments->>'timezone', arguments->>'year' FROM runs")
    assert arguments == [("+01:00", "2024")]


def test_nmap_xml(tmp_path: Path) -> None:
    report = ingest(tmp_path / "case", DATA / "nmap-scan.xml")
    assert report.sources[0].format == "nmap" and report.rows == {"scan": 4}
    assert report.warning_count == 0
    assert rows(
        tmp_path / "case",
        "SELECT record_ref, time, address, hostname, port, proto, state, service, product"
        " FROM scan ORDER BY address, port",
    ) == [
        (
            "host 1",
            datetime(2024, 3, 15, 8, 0, 1, tzinfo=UTC),
            "192.0.2.1",
            "router.example",
            22,
            "tcp",
            "open",
            "ssh",
            "OpenSSH 9.2p1",
        ),
        (
            "host 1",
            datetime(2024, 3, 15, 8, 0, 1, tzinfo=UTC),
            "192.0.2.1",
            "router.example",
            23,
            "tcp",
            "open",
            "telnet",
            None,
        ),
        (
            "host 1",
            datetime(2024, 3, 15, 8, 0, 1, tzinfo=UTC),
            "192.0.2.1",
            "router.example",
            161,
            "udp",
            "open|filtered",
            None,
            None,
        ),
        (
            "host 2",
            datetime(2024, 3, 15, 8, 0, 2, tzinfo=UTC),
            "192.0.2.2",
            None,
            None,
            None,
            "down",
            None,
            None,
        ),
    ]


def test_nmap_cut_short_keeps_whole_hosts(tmp_path: Path) -> None:
    text = (DATA / "nmap-scan.xml").read_text()
    cut = tmp_path / "interrupted.xml"
    cut.write_text(text[: text.index('<host starttime="1710489602"') + 40])
    report = ingest(tmp_path / "case", cut)
    assert report.rows == {"scan": 3}
    assert len(report.warnings) == 1 and "XML breaks" in report.warnings[0].message
    assert report.warnings[0].location.startswith(f"{cut}:")
