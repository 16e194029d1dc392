"""Network detections on rows written through the ingest, and the data they judge against.

Resolvers (approved by a parameter or an allowlist, DoT and DoH), admin shares on the wire
(allowlist, the learned baseline it shares with the event-log detection), management interfaces
on WAN addresses (flows and nmap), and the indicator detections over URLs, e-mail and addresses
(with the IPv6-network note).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.errors import ExitCode
from tests.detect.netcase import (
    collect_logs,
    coverage,
    import_intel,
    of,
    run_hunt,
    write_rows,
)

T0 = datetime(2024, 3, 15, 8, 0, tzinfo=UTC)
TEST_DATA = Path(__file__).resolve().parents[1] / "data" / "network"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _dns(client: str, server: str, query: str, minutes: float, port: int = 53) -> dict[str, Any]:
    return {
        "time": at(minutes),
        "client_ip": client,
        "server_ip": server,
        "server_port": port,
        "proto": "udp",
        "query": query,
        "qtype": "A",
        "message": "query+response",
        "record_ref": f"{client}-{minutes}",
    }


def test_unapproved_resolvers_by_parameter_allowlist_and_encrypted_dns(
    case_dir: Path, tmp_path: Path
) -> None:
    dns = [_dns(f"10.1.0.{c}", "10.0.0.53", f"www{c}.example.com", c) for c in range(1, 6)]
    dns += [_dns("10.1.0.9", "10.0.0.99", "host.example.org", 10 + k) for k in range(3)]
    dns += [_dns("10.1.0.7", "8.8.8.8", "www.example.net", 20 + k) for k in range(4)]
    tls = [
        {
            "time": at(30),
            "client_ip": "10.1.0.8",
            "server_ip": "104.16.248.249",
            "server_port": 443,
            "server_name": "mozilla.cloudflare-dns.com",
            "record_ref": "t1",
        },
        {
            "time": at(31),
            "client_ip": "10.1.0.8",
            "server_ip": "9.9.9.9",
            "server_port": 853,
            "server_name": "dns.quad9.net",
            "record_ref": "t2",
        },
    ]
    write_rows(case_dir, {"dns": dns, "tls": tls})

    # no approved list: internal resolvers count as approved
    document = run_hunt(case_dir, ["net.dns-unapproved-resolver"])
    found = {
        (f.host, f.evidence[0].row["resolver"]) for f in of(document, "net.dns-unapproved-resolver")
    }
    assert found == {
        ("10.1.0.7", "8.8.8.8"),
        ("10.1.0.8", "mozilla.cloudflare-dns.com"),
        ("10.1.0.8", "dns.quad9.net"),
    }
    notes = " ".join(coverage(document, "net.dns-unapproved-resolver").notes)
    assert "approved_resolver_networks not given" in notes

    # the approved list: 10.0.0.99 is not on it; an allowlist entry approves 8.8.8.8 for one
    # client (kept, suppressed, naming the entry)
    allow = tmp_path / "allow.yml"
    allow.write_text(
        "allow:\n  - detection: net.dns-unapproved-resolver\n    source: 10.1.0.7\n"
        "    item: 8.8.8.8\n    reason: the lab machine tests public resolvers\n",
        encoding="utf-8",
    )
    document = run_hunt(
        case_dir,
        ["net.dns-unapproved-resolver"],
        {"net.dns-unapproved-resolver": {"approved_resolver_networks": ["10.0.0.53/32"]}},
        allowlists=[allow],
    )
    reported = {f.evidence[0].row["resolver"] for f in of(document, "net.dns-unapproved-resolver")}
    assert reported == {"10.0.0.99", "mozilla.cloudflare-dns.com", "dns.quad9.net"}
    [suppressed] = of(document, "net.dns-unapproved-resolver", suppressed=True)
    assert suppressed.suppression is not None
    assert "lab machine" in suppressed.suppression.reason


def _smb(
    client: str,
    server: str,
    share: str,
    minutes: float,
    action: str = "TREE_CONNECT",
    file_name: str | None = None,
) -> dict[str, Any]:
    return {
        "time": at(minutes),
        "client_ip": client,
        "server_ip": server,
        "server_port": 445,
        "action": action,
        "share_path": f"\\\\{server}\\{share}",
        "file_name": file_name,
        "record_ref": f"{client}-{share}-{minutes}",
    }


def test_admin_shares_allowlist_and_learned_baseline(case_dir: Path, tmp_path: Path) -> None:
    smb = [
        _smb("10.2.0.5", "10.2.0.20", "C$", 1),  # the backup server, every day
        _smb("10.2.0.5", "10.2.0.20", "C$", 60 * 24 + 1),
        _smb("10.2.0.6", "10.2.0.21", "ADMIN$", 5),  # an admin before the baseline's end
        _smb("10.2.0.6", "10.2.0.21", "ADMIN$", 60 * 30),
        _smb("10.2.0.66", "10.2.0.21", "ADMIN$", 60 * 30 + 1),  # new: after the baseline
        _smb("10.2.0.66", "10.2.0.21", "ADMIN$", 60 * 30 + 2, "FILE_WRITE", "Temp\\x.exe"),
        _smb("10.2.0.66", "10.2.0.21", "IPC$", 60 * 30 + 3),
    ]
    auth = [
        {
            "time": at(60 * 30),
            "user_name": "admin2",
            "user_domain": "CORP",
            "source_ip": "10.2.0.66",
            "target": "10.2.0.21",
            "method": "ntlm",
            "record_ref": "a1",
        }
    ]
    write_rows(case_dir, {"smb": smb, "auth": auth})
    allow = tmp_path / "allow.csv"
    allow.write_text(
        "detection,source,item,reason\n*.admin-share-mapping,10.2.0.5,C$,nightly backup\n",
        encoding="utf-8",
    )
    document = run_hunt(case_dir, ["net.admin-share-mapping"], allowlists=[allow])
    found = of(document, "net.admin-share-mapping")
    assert {(f.evidence[0].row["source"], f.evidence[0].row["share"]) for f in found} == {
        ("10.2.0.6", "ADMIN$"),
        ("10.2.0.66", "ADMIN$"),
        ("10.2.0.66", "IPC$"),
    }
    [backup] = of(document, "net.admin-share-mapping", suppressed=True)
    assert backup.suppression is not None and "nightly backup" in backup.suppression.reason
    new = next(
        f
        for f in found
        if f.evidence[0].row["source"] == "10.2.0.66" and f.evidence[0].row["share"] == "ADMIN$"
    )
    assert new.severity == "high" and new.user == "CORP\\admin2"
    assert any("Temp\\x.exe" in r.text for r in new.reasons)

    # learn what was normal during the first day: only the newcomer is reported after it
    argv = [
        "--case",
        str(case_dir),
        "baseline",
        "learn",
        "--until",
        at(60 * 24).isoformat(),
        "--detection",
        "net.admin-share-mapping",
        "--json",
    ]
    assert run(argv) == ExitCode.OK
    document = run_hunt(case_dir, ["net.admin-share-mapping"], allowlists=[allow])
    found = of(document, "net.admin-share-mapping")
    assert {f.evidence[0].row["source"] for f in found} == {"10.2.0.66"}
    assert all("not seen before" in f.summary for f in found)
    # what the event-log half learned counts too (its baseline rows: account, source, server,
    # share), for the server's name or address
    with CaseStore.open(case_dir) as store:
        store.con.execute(
            "INSERT INTO baselines (detection_id, kind, user_name, source, host, item,"
            " learned_until) VALUES ('evtx.admin-share-mapping', 'seen', 'corp\\admin2',"
            " '10.2.0.66', '10.2.0.21', 'IPC$', ?)",
            [at(60 * 24)],
        )
    document = run_hunt(case_dir, ["net.admin-share-mapping"], allowlists=[allow])
    assert {f.evidence[0].row["share"] for f in of(document, "net.admin-share-mapping")} == {
        "ADMIN$"
    }


def test_management_interfaces_on_wan_from_flows_and_nmap(case_dir: Path) -> None:
    collect_logs(case_dir, TEST_DATA / "nmap-scan.xml", options=["--format", "nmap"])
    flows = [
        {
            "time": at(1),
            "client_ip": "198.51.100.4",
            "server_ip": "203.0.113.1",
            "server_port": 8291,
            "proto": "tcp",
            "state": "SF",
            "bytes_in": 900,
            "record_ref": "f1",
        },
        {
            "time": at(2),
            "client_ip": "198.51.100.5",
            "server_ip": "203.0.113.1",
            "server_port": 22,
            "proto": "tcp",
            "state": "S0",
            "bytes_in": 0,
            "record_ref": "f2",
        },
        {
            "time": at(3),
            "client_ip": "10.3.0.8",
            "server_ip": "203.0.113.1",
            "server_port": 23,
            "proto": "tcp",
            "state": "SF",
            "bytes_in": 90,
            "record_ref": "f3",
        },
    ]
    write_rows(case_dir, {"conn": flows})
    document = run_hunt(case_dir, ["net.wan-management-interface"])
    found = {
        (f.host, f.evidence[0].row["port"]) for f in of(document, "net.wan-management-interface")
    }
    # without WAN ranges: every scanned address is WAN, flows are not judged
    assert found == {("192.0.2.1", 22), ("192.0.2.1", 23)}
    assert any(
        "wan_networks not given" in n
        for n in coverage(document, "net.wan-management-interface").notes
    )
    document = run_hunt(
        case_dir,
        ["net.wan-management-interface"],
        {"net.wan-management-interface": {"wan_networks": ["203.0.113.0/24"]}},
    )
    found = {
        (f.host, f.evidence[0].row["port"]) for f in of(document, "net.wan-management-interface")
    }
    # Winbox reached from outside; SSH never answered (S0); Telnet only from inside; the
    # scanned 192.0.2.1 is not in the WAN ranges
    assert found == {("203.0.113.1", 8291)}


def test_indicator_urls_mail_and_ipv6_networks(case_dir: Path, tmp_path: Path) -> None:
    import_intel(
        case_dir,
        tmp_path / "iocs.txt",
        [
            "hxxp://files.bad-docs[.]com/invoice/view.php",
            "recruiter@talent-hunt-mail.com",
            "phish-sender.org",
            "2001:db8:bad::/48",
            "185.220.101.45",
        ],
    )
    http = [
        {
            "time": at(1),
            "client_ip": "10.4.0.2",
            "server_ip": "185.220.101.45",
            "server_port": 80,
            "method": "GET",
            "http_host": "files.bad-docs.com",
            "url": "/invoice/view.php?id=77",
            "status": 200,
            "record_ref": "h1",
        },
        {
            "time": at(2),
            "client_ip": "10.4.0.3",
            "server_ip": "192.0.2.7",
            "server_port": 80,
            "method": "GET",
            "http_host": "proxy.local",
            "url": "http://files.bad-docs.com/invoice/view.php",
            "status": 200,
            "record_ref": "h2",
        },
    ]
    auth = [
        {
            "time": at(3),
            "user_name": "someone@phish-sender.org",
            "source_ip": "192.0.2.99",
            "service": "vpn",
            "result": "failure",
            "record_ref": "a1",
        }
    ]
    netlog = [
        {
            "time": at(4),
            "log_type": "smtp",
            "client_ip": "192.0.2.30",
            "server_ip": "10.4.0.25",
            "server_port": 25,
            "record_ref": "s1",
            "fields": '{"mailfrom": "recruiter@talent-hunt-mail.com",'
            ' "rcptto": ["victim@corp.example"], "subject": "Job offer"}',
        }
    ]
    write_rows(case_dir, {"http": http, "auth": auth, "netlog": netlog})
    document = run_hunt(case_dir, ["net.ioc-url", "net.ioc-email", "net.ioc-ip"])
    urls = of(document, "net.ioc-url")
    assert {f.host for f in urls} == {"10.4.0.2", "10.4.0.3"}  # relative, rebuilt; absolute
    assert all(f.evidence[0].indicator is not None for f in urls)
    mails = {str(f.evidence[0].row["observed"]): f for f in of(document, "net.ioc-email")}
    assert set(mails) == {"['recruiter@talent-hunt-mail.com']", "['someone@phish-sender.org']"}
    assert mails["['someone@phish-sender.org']"].evidence[0].row["how"] == ["email-domain"]
    ips = of(document, "net.ioc-ip")
    assert [f.host for f in ips] == ["10.4.0.2"]
    notes = " ".join(coverage(document, "net.ioc-ip").notes)
    assert "1 IPv6 network indicator(s) were not matched (2001:db8:bad::/48)" in notes


def test_sysmon_events_feed_the_dns_and_address_analytics(case_dir: Path, tmp_path: Path) -> None:
    """A case with Windows events only: Sysmon 22 (DNS query) rows are DNS questions of the
    host that asked, Sysmon 3 (network connection) rows are flows, for the same detections."""
    import base64
    import random

    from tests.evtx_rows import SYSMON, event, load_events

    rng = random.Random(3)
    rows = [
        event(
            22,
            {
                "QueryName": "www.example.org",
                "QueryStatus": "0",
                "QueryResults": "::ffff:93.184.216.34;",
                "Image": "C:\\chrome.exe",
            },
            channel=SYSMON,
            time=f"2024-03-01T09:{m:02d}:00Z",
        )
        for m in range(30)
    ]
    for k in range(300):  # a tunnel tool on ws1: base32 names under one domain, TXT answers
        label = base64.b32encode(rng.randbytes(30)).decode().lower().rstrip("=")
        rows.append(
            event(
                22,
                {
                    "QueryName": f"{label}.c2.tunnel-over-dns.net",
                    "QueryStatus": "0",
                    "QueryResults": "type:  16 data;",
                    "Image": "C:\\Users\\Public\\svc.exe",
                },
                channel=SYSMON,
                time=f"2024-03-01T10:{k // 60:02d}:{k % 60:02d}Z",
            )
        )
    rows.append(
        event(
            3,
            {
                "DestinationIp": "185.220.101.45",
                "DestinationPort": "443",
                "SourceIp": "10.9.0.5",
                "Image": "C:\\Users\\Public\\svc.exe",
            },
            channel=SYSMON,
        )
    )
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
    import_intel(case_dir, tmp_path / "iocs.txt", ["tunnel-over-dns.net", "185.220.101.45"])
    document = run_hunt(case_dir, ["net.dns-tunnel", "net.dns-ioc", "net.ioc-ip"])
    [tunnel] = of(document, "net.dns-tunnel")
    assert "tunnel-over-dns.net" in tunnel.summary and tunnel.host == "ws1.corp.example"
    assert any("Sysmon 22" in n for n in coverage(document, "net.dns-tunnel").notes)
    [named] = of(document, "net.dns-ioc")
    assert named.host == "ws1.corp.example" and named.evidence[0].indicator is not None
    [flow] = of(document, "net.ioc-ip")
    assert flow.host == "ws1.corp.example" and "185.220.101.45" in flow.summary
