"""pcap and pcapng captures written here with dpkt (synthetic packets, documentation addresses,
nothing sent anywhere): DNS over UDP and TCP, HTTP, TLS SNI, flows, link types, truncation."""

from __future__ import annotations

import hashlib
import socket
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dpkt

from .netlogs import ingest, rows

CLIENT, RESOLVER, WEB, TLS = "192.0.2.10", "198.51.100.53", "203.0.113.7", "203.0.113.8"


def ip4(src: str, dst: str, transport: Any) -> dpkt.ip.IP:
    proto = dpkt.ip.IP_PROTO_TCP if isinstance(transport, dpkt.tcp.TCP) else dpkt.ip.IP_PROTO_UDP
    packet = dpkt.ip.IP(
        src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, data=transport, ttl=64
    )
    packet.len = len(packet)
    return packet


def ip6(src: str, dst: str, transport: Any) -> dpkt.ip6.IP6:
    packet = dpkt.ip6.IP6(
        src=socket.inet_pton(socket.AF_INET6, src),
        dst=socket.inet_pton(socket.AF_INET6, dst),
        nxt=dpkt.ip.IP_PROTO_UDP,
        hlim=64,
        data=transport,
    )
    packet.plen = len(transport)
    return packet


def ether(ip: Any) -> bytes:
    kind = dpkt.ethernet.ETH_TYPE_IP6 if isinstance(ip, dpkt.ip6.IP6) else dpkt.ethernet.ETH_TYPE_IP
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=kind, data=ip))


def udp(sport: int, dport: int, data: bytes) -> dpkt.udp.UDP:
    segment = dpkt.udp.UDP(sport=sport, dport=dport, data=data)
    segment.ulen = len(segment)
    return segment


def tcp(sport: int, dport: int, flags: int, data: bytes = b"", seq: int = 1) -> dpkt.tcp.TCP:
    return dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, seq=seq, data=data)


def dns_query(ident: int, name: str, kind: int = dpkt.dns.DNS_A) -> bytes:
    return bytes(dpkt.dns.DNS(id=ident, qd=[dpkt.dns.DNS.Q(name=name, type=kind)]))


def dns_answer(ident: int, name: str, address: str, ttl: int = 60) -> bytes:
    answer = dpkt.dns.DNS.RR(
        name=name, type=dpkt.dns.DNS_A, ttl=ttl, rdata=socket.inet_aton(address)
    )
    return bytes(
        dpkt.dns.DNS(
            id=ident, qr=dpkt.dns.DNS_R, rcode=0, qd=[dpkt.dns.DNS.Q(name=name)], an=[answer]
        )
    )


def client_hello(name: str) -> tuple[bytes, str]:
    """A ClientHello with SNI (and a GREASE cipher that JA3 leaves out), and its JA3 hash."""
    server_name = name.encode()
    sni = struct.pack("!HBH", len(server_name) + 3, 0, len(server_name)) + server_name
    extensions = struct.pack("!HH", 0, len(sni)) + sni
    extensions += struct.pack("!HHH", 10, 4, 2) + struct.pack("!H", 29)  # curves: x25519
    extensions += struct.pack("!HHB", 11, 2, 1) + b"\x00"  # point formats: uncompressed
    hello = struct.pack("!H", 0x0303) + b"\x11" * 32 + b"\x00"
    hello += struct.pack("!HHH", 4, 0x0A0A, 0x1301) + b"\x01\x00"
    hello += struct.pack("!H", len(extensions)) + extensions
    handshake = b"\x01" + len(hello).to_bytes(3, "big") + hello
    record = b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake
    ja3 = hashlib.md5(b"771,4865,0-10-11,29,0", usedforsecurity=False).hexdigest()
    return record, ja3


SYN, ACK, FIN, PSH = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_FIN, dpkt.tcp.TH_PUSH


def packets() -> tuple[list[tuple[float, bytes]], str]:
    hello, ja3 = client_hello("Secure.Example")
    tcp_dns = dns_query(0x2222, "tcp.example", dpkt.dns.DNS_TXT)
    tcp_dns = struct.pack("!H", len(tcp_dns)) + tcp_dns
    request = b"GET /index.html?q=1 HTTP/1.1\r\nHost: WWW.Example.COM\r\nUser-Agent: test-agent\r\n"
    request += b"Referer: http://ref.example/\r\n\r\n"
    arp = bytes(dpkt.ethernet.Ethernet(type=dpkt.ethernet.ETH_TYPE_ARP, data=b"\x00" * 28))
    return [
        (100.0, ether(ip4(CLIENT, RESOLVER, udp(40000, 53, dns_query(0x1111, "WWW.example.com"))))),
        (
            100.5,
            ether(
                ip4(RESOLVER, CLIENT, udp(53, 40000, dns_answer(0x1111, "www.example.com", WEB)))
            ),
        ),
        (101.0, ether(ip4(CLIENT, WEB, tcp(50000, 80, SYN)))),
        (101.01, ether(ip4(WEB, CLIENT, tcp(80, 50000, SYN | ACK)))),
        (101.02, ether(ip4(CLIENT, WEB, tcp(50000, 80, ACK | PSH, request)))),
        (101.5, ether(ip4(WEB, CLIENT, tcp(80, 50000, ACK | PSH, b"HTTP/1.1 200 OK\r\n\r\nhi")))),
        (101.6, ether(ip4(CLIENT, WEB, tcp(50000, 80, FIN | ACK)))),
        (101.7, ether(ip4(WEB, CLIENT, tcp(80, 50000, FIN | ACK)))),
        (102.0, ether(ip4(CLIENT, TLS, tcp(50001, 443, ACK | PSH, hello)))),
        (103.0, ether(ip4(CLIENT, RESOLVER, tcp(50002, 53, ACK | PSH, tcp_dns[:9])))),
        (103.1, ether(ip4(CLIENT, RESOLVER, tcp(50002, 53, ACK | PSH, tcp_dns[9:])))),
        (104.0, ether(ip4(CLIENT, RESOLVER, udp(40001, 53, b"\x00\x01garbage")))),
        (
            105.0,
            ether(
                ip6(
                    "2001:db8::10",
                    "2001:db8::53",
                    udp(40002, 53, dns_query(7, "v6.example", dpkt.dns.DNS_AAAA)),
                )
            ),
        ),
        (106.0, arp),
    ], ja3


def write_pcap(path: Path, items: list[tuple[float, bytes]], linktype: int = 1) -> None:
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle, linktype=linktype)
        for when, frame in items:
            writer.writepkt(frame, ts=when)


def test_dns_http_tls_and_flows(tmp_path: Path) -> None:
    items, ja3 = packets()
    capture = tmp_path / "capture.bin"
    write_pcap(capture, items)
    report = ingest(tmp_path / "case", capture)
    assert report.sources[0].format == "pcap"
    assert report.rows == {"dns": 4, "http": 1, "tls": 1, "conn": 6}
    assert [(w.location.rpartition(":")[2], w.message) for w in report.warnings] == [
        ("packet 12", "not a DNS message: " + report.warnings[0].message.split(": ", 1)[1])
    ]
    case = tmp_path / "case"
    assert rows(
        case,
        "SELECT record_ref, time, client_ip, client_port, server_ip, server_port, proto, query,"
        " qtype, rcode, answers, ttls, message, trans_id FROM dns ORDER BY record_ref::INT",
    ) == [
        (
            "1",
            datetime.fromtimestamp(100, UTC),
            CLIENT,
            40000,
            RESOLVER,
            53,
            "udp",
            "www.example.com",
            "A",
            None,
            None,
            None,
            "query",
            0x1111,
        ),
        (
            "2",
            datetime.fromtimestamp(100.5, UTC),
            CLIENT,
            40000,
            RESOLVER,
            53,
            "udp",
            "www.example.com",
            "A",
            "NOERROR",
            [WEB],
            [60.0],
            "response",
            0x1111,
        ),
        (
            "11",
            datetime.fromtimestamp(103.1, UTC),
            CLIENT,
            50002,
            RESOLVER,
            53,
            "tcp",
            "tcp.example",
            "TXT",
            None,
            None,
            None,
            "query",
            0x2222,
        ),
        (
            "13",
            datetime.fromtimestamp(105, UTC),
            "2001:db8::10",
            40002,
            "2001:db8::53",
            53,
            "udp",
            "v6.example",
            "AAAA",
            None,
            None,
            None,
            "query",
            7,
        ),
    ]
    assert rows(
        case,
        "SELECT record_ref, client_ip, server_ip, server_port, method, http_host, url, user_agent,"
        " referrer, uid FROM http",
    ) == [
        (
            "5",
            CLIENT,
            WEB,
            80,
            "GET",
            "www.example.com",
            "/index.html?q=1",
            "test-agent",
            "http://ref.example/",
            "P3",
        ),
    ]
    assert rows(case, "SELECT record_ref, server_name, version, ja3, server_port FROM tls") == [
        ("9", "secure.example", "TLSv12", ja3, 443)
    ]
    flows = rows(
        case,
        "SELECT record_ref, client_ip, client_port, server_ip, server_port, proto, service,"
        " round(duration, 3), bytes_out, bytes_in, packets_out, packets_in, state, uid"
        " FROM conn ORDER BY record_ref::INT",
    )
    assert flows[0] == (
        "1",
        CLIENT,
        40000,
        RESOLVER,
        53,
        "udp",
        "dns",
        0.5,
        33,
        49,
        1,
        1,
        None,
        "P1",
    )
    http_request = len(items[4][1]) - 14 - 20 - 20
    assert flows[1] == (
        "3",
        CLIENT,
        50000,
        WEB,
        80,
        "tcp",
        "http",
        0.7,
        http_request,
        21,
        3,
        3,
        "closed",
        "P3",
    )
    assert [f[0] for f in flows] == ["1", "3", "9", "10", "12", "13"]
    assert flows[2][6] == "ssl" and flows[2][12] == "partial"


def test_link_types_pcapng_and_truncation(tmp_path: Path) -> None:
    query = ip4(CLIENT, RESOLVER, udp(40000, 53, dns_query(1, "sll.example")))
    sll = dpkt.sll.SLL(type=1, hlen=6, hdr=b"\x02" * 6, ethtype=0x0800, data=query)
    write_pcap(tmp_path / "sll.pcap", [(1.0, bytes(sll))], linktype=dpkt.pcap.DLT_LINUX_SLL)
    raw = ip4(CLIENT, RESOLVER, udp(40000, 53, dns_query(2, "raw.example")))
    write_pcap(tmp_path / "raw.pcap", [(2.0, bytes(raw))], linktype=101)
    with (tmp_path / "ng.pcapng").open("wb") as handle:
        writer = dpkt.pcapng.Writer(handle)
        writer.writepkt(ether(ip4(CLIENT, RESOLVER, udp(1, 53, dns_query(3, "ng.example")))), ts=3)
    items, _ = packets()
    write_pcap(tmp_path / "cut.pcap", items[:3])
    data = (tmp_path / "cut.pcap").read_bytes()
    (tmp_path / "cut.pcap").write_bytes(data[:-10])
    write_pcap(tmp_path / "other.pcap", [(4.0, b"\x00" * 40)], linktype=147)
    report = ingest(tmp_path / "case", tmp_path)
    queries = rows(tmp_path / "case", "SELECT query FROM dns ORDER BY 1")
    assert queries == [
        ("ng.example",),
        ("raw.example",),
        ("sll.example",),
        ("www.example.com",),
        ("www.example.com",),
    ]
    located = {(Path(w.location.split(":")[0]).name, w.message) for w in report.warnings}
    assert any(n == "cut.pcap" and "capture ends early" in m for n, m in located)
    assert ("other.pcap", "link type 147 is not read: packets skipped") in located
