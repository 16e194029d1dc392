"""pcap and pcapng captures (dpkt) into ``dns``, ``http``, ``tls`` and ``conn``.

Link layers: Ethernet (with VLAN tags), Linux cooked (SLL, SLL2), raw IP, BSD loopback; IPv4
and IPv6. From each packet: DNS queries and answers over UDP and TCP (port 53), the request head
of an HTTP request (method, URL, Host, User-Agent, Referer from the segment that starts it), a
TLS ClientHello's server name, version and JA3; and every packet counts toward its flow (the
5-tuple; the side that sent the first packet is the client, or the SYN's sender), which becomes
a ``conn`` row with start, duration, payload bytes and packets each way and a TCP state. Rows
carry the packet number as ``record_ref`` (a flow: its first packet) and the flow's id (``P`` +
its first packet number) as ``uid``, so a DNS or HTTP row joins its flow.

Limits (documented in the README): IP fragments are not reassembled (counted, one warning);
TCP is not reassembled beyond DNS-over-TCP messages split over a few in-order segments (kept
up to ``TCP_DNS_BUFFER`` bytes per flow, ``TCP_DNS_TOTAL`` in all); HTTP and TLS are read
from the first segment only (a ClientHello longer than it is a warning); HTTP responses are
not read. Memory is bounded: a flow idle for ``IDLE_SECONDS`` of capture time, or closed (FIN
both ways, RST), is written and forgotten, and at most ``MAX_FLOWS`` are kept (the stalest go
first).
"""

from __future__ import annotations

import re
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dpkt

from seawall.collect.archives import Stream
from seawall.collect.base import Batch, Mediator
from seawall.collect.logs import LogFormat, LogOptions, lookalike, register
from seawall.collect.logs.common import Rows, flushed
from seawall.collect.logs.payloads import client_hello, dns_message, http_request, tcp_dns_messages
from seawall.errors import BadInputError

IDLE_SECONDS = 120.0
MAX_FLOWS = 100_000
TCP_DNS_BUFFER = 65_536 + 2
TCP_DNS_TOTAL = 64 << 20  # over all flows: a capture of many half messages stays bounded
MAX_RECORD = 262_144
_RAW_LINKS = {12, 14, 101}
_FIN, _SYN, _RST, _ACK = 0x01, 0x02, 0x04, 0x10

PCAP_MAGICS = (b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1")
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


@dataclass(slots=True)
class Flow:
    uid: str
    first_packet: int
    proto: str
    client: tuple[str, int]
    server: tuple[str, int]
    start: float
    last: float
    bytes_out: int = 0
    bytes_in: int = 0
    packets_out: int = 0
    packets_in: int = 0
    flags_out: int = 0
    flags_in: int = 0
    service: str | None = None
    dns_buffer: dict[bool, bytes] = field(default_factory=dict)

    @property
    def closed(self) -> bool:
        return bool((self.flags_out | self.flags_in) & _RST) or bool(
            self.flags_out & self.flags_in & _FIN
        )

    def state(self) -> str | None:
        if self.proto != "tcp":
            return None
        flags = self.flags_out | self.flags_in
        if flags & _RST:
            return "reset"
        if self.flags_out & self.flags_in & _FIN:
            return "closed"
        if self.flags_out & _SYN and self.flags_in & _SYN:
            return "established"
        if self.flags_out & _SYN:
            return "attempt"
        return "partial"

    def row(self) -> dict[str, Any]:
        return {
            "time": _time(self.start),
            "client_ip": self.client[0],
            "client_port": self.client[1] if self.proto in ("tcp", "udp") else None,
            "server_ip": self.server[0],
            "server_port": self.server[1] if self.proto in ("tcp", "udp") else None,
            "proto": self.proto,
            "service": self.service,
            "duration": self.last - self.start,
            "bytes_out": self.bytes_out,
            "bytes_in": self.bytes_in,
            "packets_out": self.packets_out,
            "packets_in": self.packets_in,
            "state": self.state(),
            "uid": self.uid,
            "record_ref": str(self.first_packet),
        }


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _address(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)


def _network_layer(link: int, buf: bytes) -> Any:
    """The IP packet of a frame (None for other protocols, e.g. ARP)."""
    if link == dpkt.pcap.DLT_EN10MB:
        frame: Any = dpkt.ethernet.Ethernet(buf)
    elif link == dpkt.pcap.DLT_LINUX_SLL:
        frame = dpkt.sll.SLL(buf)
    elif link == 276:
        frame = dpkt.sll2.SLL2(buf)
    elif link in (dpkt.pcap.DLT_NULL, dpkt.pcap.DLT_LOOP):
        frame = dpkt.loopback.Loopback(buf)
    elif link in _RAW_LINKS:
        version = buf[0] >> 4 if buf else 0
        return dpkt.ip.IP(buf) if version == 4 else dpkt.ip6.IP6(buf) if version == 6 else None
    else:
        raise LookupError(link)
    data = frame.data
    return data if isinstance(data, dpkt.ip.IP | dpkt.ip6.IP6) else None


def _classic(stream: Stream) -> tuple[int, Iterator[tuple[float, bytes]]]:
    """A classic pcap's link type and its packets (time, bytes); a record cut short ends it
    with ``EOFError`` (dpkt's own reader hands a short last record on as if it were whole)."""
    handle = stream.handle
    header = handle.read(24)
    if len(header) < 24:
        raise BadInputError("pcap header cut short", stream.label)
    magic = header[:4]
    order = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    scale = 1e-9 if magic in (b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1") else 1e-6
    snaplen, link = struct.unpack(order + "II", header[16:24])
    limit = max(snaplen, MAX_RECORD) if snaplen else MAX_RECORD

    def records() -> Iterator[tuple[float, bytes]]:
        while record := handle.read(16):
            if len(record) < 16:
                raise EOFError("a record header cut short")
            seconds, fraction, caplen, _ = struct.unpack(order + "IIII", record)
            if caplen > limit:
                raise ValueError(f"record of {caplen} bytes, more than the snap length")
            data = handle.read(caplen)
            if len(data) < caplen:
                raise EOFError(f"a packet cut short ({len(data)} of {caplen} bytes)")
            yield seconds + fraction * scale, data

    return link & 0x0FFFFFFF, records()


class PcapReader:
    def __init__(self, _options: LogOptions) -> None:
        pass

    def read_stream(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]:
        state = _Capture(stream, mediator)
        yield from state.run()


class _Capture:
    """One capture being read: its flows and row buffers."""

    def __init__(self, stream: Stream, mediator: Mediator) -> None:
        self.stream = stream
        self.mediator = mediator
        label = stream.label if stream.member is not None else None
        self.rows = {name: Rows(name, label) for name in ("dns", "http", "tls", "conn")}
        self.flows: dict[tuple[Any, ...], Flow] = {}
        self.number = 0
        self.fragments = 0
        self.unknown_links: set[int] = set()
        self.last_sweep = 0.0
        self.buffered = 0  # bytes of DNS-over-TCP messages held across segments, all flows

    def where(self) -> str:
        return f"{self.stream.label}:packet {self.number}"

    def run(self) -> Iterator[Batch]:
        head = self.stream.handle.peek(4)[:4]
        if head == PCAPNG_MAGIC:
            try:
                reader: Any = dpkt.pcapng.Reader(self.stream.handle)
            except (ValueError, dpkt.UnpackError, dpkt.NeedData) as error:
                raise BadInputError(f"not a readable pcapng: {error}", self.stream.label) from None
            link, packets = reader.datalink(), iter(reader)
        else:
            link, packets = _classic(self.stream)
        while True:
            try:
                timestamp, buf = next(packets)
            except StopIteration:
                break
            except (ValueError, dpkt.UnpackError, dpkt.NeedData, EOFError, struct.error) as error:
                self.mediator.warn(
                    f"{self.stream.label}:packet {self.number + 1}",
                    f"capture ends early or is corrupt ({error or type(error).__name__}):"
                    " the rest is not read",
                )
                break
            self.number += 1
            self.packet(link, float(timestamp), bytes(buf))
            if any(rows.full() for rows in self.rows.values()):
                yield from flushed(self.rows, self.position())
        for flow in list(self.flows.values()):
            self.rows["conn"].add(flow.row())
        self.flows.clear()
        if self.fragments:
            self.mediator.warn(
                self.stream.label,
                f"{self.fragments} IP fragments not reassembled (counted in flows only)",
            )
        yield from flushed(self.rows, self.position())

    def position(self) -> int | None:
        """Bytes of the stream read so far (for progress), when the stream can tell."""
        try:
            return self.stream.handle.tell()
        except (OSError, ValueError):
            return None

    def packet(self, link: int, when: float, buf: bytes) -> None:
        try:
            ip = _network_layer(link, buf)
        except LookupError:
            if link not in self.unknown_links:
                self.unknown_links.add(link)
                self.mediator.warn(self.where(), f"link type {link} is not read: packets skipped")
            return
        except (dpkt.UnpackError, dpkt.NeedData, IndexError, ValueError) as error:
            self.mediator.warn(self.where(), f"frame does not parse ({error}): skipped")
            return
        if ip is None:
            return  # ARP, LLDP…: not IP
        transport = ip.data
        if isinstance(ip, dpkt.ip.IP) and (ip.mf or ip.offset):
            self.fragments += 1
            return
        if isinstance(transport, dpkt.tcp.TCP):
            proto, flags = "tcp", transport.flags
        elif isinstance(transport, dpkt.udp.UDP):
            proto, flags = "udp", 0
        else:
            proto, flags = {1: "icmp", 58: "icmp6"}.get(ip.p, str(ip.p)), 0
        src, dst = _address(ip.src), _address(ip.dst)
        sport = getattr(transport, "sport", 0) if proto in ("tcp", "udp") else 0
        dport = getattr(transport, "dport", 0) if proto in ("tcp", "udp") else 0
        payload = bytes(transport.data) if proto in ("tcp", "udp") else bytes(ip.data)
        flow, outbound = self.flow(proto, (src, sport), (dst, dport), when, flags)
        size = len(payload)
        if outbound:
            flow.bytes_out += size
            flow.packets_out += 1
            flow.flags_out |= flags
        else:
            flow.bytes_in += size
            flow.packets_in += 1
            flow.flags_in |= flags
        flow.last = max(flow.last, when)
        if payload and proto in ("tcp", "udp"):
            self.application(flow, outbound, proto, (src, sport), (dst, dport), when, payload)
        if flow.closed:
            self.close(flow)
        if when - self.last_sweep > IDLE_SECONDS / 4:
            self.sweep(when)

    def flow(
        self, proto: str, src: tuple[str, int], dst: tuple[str, int], when: float, flags: int
    ) -> tuple[Flow, bool]:
        key = (proto, *sorted((src, dst)))
        flow = self.flows.get(key)
        if flow is None:
            client, server = src, dst
            if proto == "tcp" and flags & _SYN and flags & _ACK:
                client, server = dst, src  # the capture began at the SYN-ACK
            flow = Flow(f"P{self.number}", self.number, proto, client, server, when, when)
            self.flows[key] = flow
            if len(self.flows) > MAX_FLOWS:  # the stalest tenth goes (amortised)
                stalest = sorted(self.flows.values(), key=lambda f: f.last)
                for old in stalest[: MAX_FLOWS // 10]:
                    self.close(old)
        return flow, src == flow.client

    def close(self, flow: Flow) -> None:
        key = (flow.proto, *sorted((flow.client, flow.server)))
        if self.flows.get(key) is flow:
            del self.flows[key]
            self.buffered -= sum(len(b) for b in flow.dns_buffer.values())
            self.rows["conn"].add(flow.row())

    def sweep(self, now: float) -> None:
        self.last_sweep = now
        for flow in [f for f in self.flows.values() if now - f.last > IDLE_SECONDS]:
            self.close(flow)

    def application(
        self,
        flow: Flow,
        outbound: bool,
        proto: str,
        src: tuple[str, int],
        dst: tuple[str, int],
        when: float,
        payload: bytes,
    ) -> None:
        if 53 in (src[1], dst[1]):
            if proto == "udp":
                self.dns(flow, proto, when, payload)
            else:
                before = flow.dns_buffer.get(outbound, b"")
                messages, rest = tcp_dns_messages(before + payload)
                if len(rest) > TCP_DNS_BUFFER:
                    self.mediator.warn(self.where(), "DNS over TCP message too long: dropped")
                    rest = b""
                elif self.buffered + len(rest) - len(before) > TCP_DNS_TOTAL:
                    self.mediator.warn(
                        self.where(), "too many DNS over TCP messages in flight: one dropped"
                    )
                    rest = b""
                self.buffered += len(rest) - len(before)
                flow.dns_buffer[outbound] = rest
                for message in messages:
                    self.dns(flow, proto, when, message)
            return
        if proto != "tcp":
            return
        try:
            request = http_request(payload)
            hello = client_hello(payload) if request is None else None
        except ValueError as error:
            self.mediator.warn(self.where(), f"{error}: payload not read")
            return
        if request is not None:
            flow.service = flow.service or "http"
            self.rows["http"].add(
                {
                    **self.endpoints(flow, when),
                    "method": request.method,
                    "http_host": request.host,
                    "url": request.url,
                    "user_agent": request.user_agent,
                    "referrer": request.referrer,
                }
            )
        elif hello is not None:
            flow.service = flow.service or "ssl"
            self.rows["tls"].add(
                {
                    **self.endpoints(flow, when),
                    "server_name": hello.server_name,
                    "version": hello.version,
                    "ja3": hello.ja3,
                }
            )

    def endpoints(self, flow: Flow, when: float) -> dict[str, Any]:
        return {
            "time": _time(when),
            "client_ip": flow.client[0],
            "client_port": flow.client[1],
            "server_ip": flow.server[0],
            "server_port": flow.server[1],
            "uid": flow.uid,
            "record_ref": str(self.number),
        }

    def dns(self, flow: Flow, proto: str, when: float, payload: bytes) -> None:
        try:
            message = dns_message(payload)
        except ValueError as error:
            self.mediator.warn(self.where(), str(error))
            return
        flow.service = flow.service or "dns"
        row = self.endpoints(flow, when)
        if flow.server[1] != 53 and flow.client[1] == 53:  # the flow began with the answer
            row["client_ip"], row["server_ip"] = flow.server[0], flow.client[0]
            row["client_port"], row["server_port"] = flow.server[1], flow.client[1]
        row.update(
            proto=proto,
            query=message.query,
            qtype=message.qtype,
            rcode=message.rcode,
            answers=message.answers if message.response else None,
            ttls=message.ttls if message.response else None,
            message="response" if message.response else "query",
            trans_id=message.trans_id,
        )
        self.rows["dns"].add(row)


def sniff(head: bytes) -> bool:
    return head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_MAGIC


register(
    LogFormat(
        "pcap",
        "pcap / pcapng capture: DNS, HTTP requests, TLS ClientHello (SNI, JA3), flows",
        ("dns", "http", "tls", "conn"),
        PcapReader,
        sniff,
    )
)


_TSHARK_SUMMARY = re.compile(r"^\s*\d+\s+\d+\.\d+\s+\S+\s+(?:→|->)\s+\S+\s+\S+\s+\d+\s")
_NAME_LINE = re.compile(r"^(?:[\w*-]|\\\d{3})+(?:\.(?:[\w*-]|\\\d{3})+)+\.?$")


@lookalike
def tshark_text(head: bytes) -> str | None:
    """tshark's text output (its packet summary, or ``-T fields`` of names) is not a log: it
    has lost the packets' times or addresses, so it is refused with a word on what to bring."""
    lines = [x for x in head.decode("utf-8", "replace").splitlines()[:50] if x.strip()]
    if not lines:
        return None
    if all(_TSHARK_SUMMARY.match(x) for x in lines):
        return "it looks like tshark text output (packet summaries): read the capture itself"
    if all(_NAME_LINE.match(x.strip()) for x in lines):
        return (
            "it looks like tshark text output (-T fields, one DNS name a line, no times or"
            " addresses): read the capture itself"
        )
    return None
