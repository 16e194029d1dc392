"""Application payloads in packets: DNS messages, HTTP request heads, TLS ClientHellos.

Pure functions over bytes (no packet or capture state), so :mod:`seawall.collect.logs.pcap`
stays about packets and flows. Each raises ``ValueError`` on a payload that claims to be its
protocol but does not parse; the caller turns that into a warning at the packet.
"""

from __future__ import annotations

import hashlib
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

import dpkt

QTYPES = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 12: "PTR", 13: "HINFO", 15: "MX",
    16: "TXT", 17: "RP", 28: "AAAA", 29: "LOC", 33: "SRV", 35: "NAPTR", 39: "DNAME", 41: "OPT",
    43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 50: "NSEC3", 64: "SVCB", 65: "HTTPS",
    99: "SPF", 251: "IXFR", 252: "AXFR", 255: "ANY", 257: "CAA",
}  # fmt: skip
RCODES = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE",
}  # fmt: skip


def qtype_name(number: int) -> str:
    return QTYPES.get(number, f"TYPE{number}")


@dataclass(slots=True)
class DnsMessage:
    response: bool
    trans_id: int
    query: str | None
    qtype: str | None
    rcode: str | None
    answers: list[str] = field(default_factory=list)
    ttls: list[float] = field(default_factory=list)


def _answer(rr: Any) -> str | None:
    kind = rr.type
    if kind == 1 and len(rr.rdata) == 4:
        return socket.inet_ntop(socket.AF_INET, rr.rdata)
    if kind == 28 and len(rr.rdata) == 16:
        return socket.inet_ntop(socket.AF_INET6, rr.rdata)
    if kind in (2, 5, 12, 39):
        name = getattr(rr, "cname", None) or getattr(rr, "nsname", None)
        name = name or getattr(rr, "ptrname", None)
        return str(name).rstrip(".").lower() if name else None
    if kind == 15:
        return str(getattr(rr, "mxname", "")).rstrip(".").lower() or None
    if kind == 16:
        texts = getattr(rr, "text", None) or []
        return "".join(
            t.decode("utf-8", "backslashreplace") if isinstance(t, bytes) else t for t in texts
        )
    return None


def dns_message(payload: bytes) -> DnsMessage:
    """One DNS message (the wire format, without TCP's length prefix)."""
    try:
        message = dpkt.dns.DNS(payload)
    except (dpkt.UnpackError, dpkt.NeedData, IndexError, struct.error) as error:
        raise ValueError(f"not a DNS message: {error}") from None
    question = message.qd[0] if message.qd else None
    response = bool(message.qr)
    out = DnsMessage(
        response=response,
        trans_id=message.id,
        query=str(question.name).rstrip(".").lower() if question is not None else None,
        qtype=qtype_name(question.type) if question is not None else None,
        rcode=RCODES.get(message.rcode, str(message.rcode)) if response else None,
    )
    for rr in message.an:
        value = _answer(rr)
        if value is not None:
            out.answers.append(value)
            out.ttls.append(float(rr.ttl))
    return out


def tcp_dns_messages(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The complete length-prefixed DNS messages at the head of ``buffer``, and what is left
    (the start of a message continued in a later segment)."""
    messages: list[bytes] = []
    at = 0
    while len(buffer) - at >= 2:
        (length,) = struct.unpack_from("!H", buffer, at)
        if len(buffer) - at - 2 < length:
            break
        messages.append(buffer[at + 2 : at + 2 + length])
        at += 2 + length
    return messages, buffer[at:]


METHODS = (
    b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"CONNECT ", b"PATCH ",
    b"TRACE ", b"PROPFIND ",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    host: str | None
    user_agent: str | None
    referrer: str | None


def http_request(payload: bytes) -> HttpRequest | None:
    """The request line and headers of an HTTP request's first segment (None: not a request)."""
    if not payload.startswith(METHODS):
        return None
    head = payload.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 2:
        raise ValueError(f"HTTP request line {lines[0][:80]!r} does not parse")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), value.strip())
    host = headers.get("host")
    return HttpRequest(
        parts[0], parts[1], host.lower() if host else None,
        headers.get("user-agent"), headers.get("referer"),
    )  # fmt: skip


TLS_VERSIONS = {
    0x0300: "SSLv3", 0x0301: "TLSv10", 0x0302: "TLSv11", 0x0303: "TLSv12", 0x0304: "TLSv13",
}  # fmt: skip
_GREASE = {0x0A0A + 0x1010 * i for i in range(16)}


@dataclass(frozen=True, slots=True)
class ClientHello:
    server_name: str | None
    version: str
    ja3: str


def client_hello(payload: bytes) -> ClientHello | None:
    """A TLS ClientHello's server name, highest offered version and JA3 (None: the payload is
    not a handshake record starting a ClientHello). Only the first segment is read: a hello
    longer than it raises ``ValueError``."""
    if len(payload) < 6 or payload[0] != 0x16 or payload[1] != 3 or payload[5] != 1:
        return None
    try:
        return _hello(payload)
    except (struct.error, IndexError):
        raise ValueError("TLS ClientHello cut short or malformed") from None


def _hello(data: bytes) -> ClientHello:
    at = 9  # record header (5) and handshake header (4)
    (legacy,) = struct.unpack_from("!H", data, at)
    at += 2 + 32
    at += 1 + data[at]  # session id
    (length,) = struct.unpack_from("!H", data, at)
    ciphers = [c for c in struct.unpack_from(f"!{length // 2}H", data, at + 2) if c not in _GREASE]
    at += 2 + length
    at += 1 + data[at]  # compression methods
    extensions: list[int] = []
    curves: list[int] = []
    formats: list[int] = []
    name = None
    best = legacy
    if at + 2 <= len(data):
        (total,) = struct.unpack_from("!H", data, at)
        at += 2
        end = at + total
        if end > len(data):
            raise IndexError("extensions go past the segment")
        while at + 4 <= end:
            kind, size = struct.unpack_from("!HH", data, at)
            body = data[at + 4 : at + 4 + size]
            at += 4 + size
            if kind in _GREASE:
                continue
            extensions.append(kind)
            if kind == 0 and len(body) >= 5 and body[2] == 0:
                (length,) = struct.unpack_from("!H", body, 3)
                name = body[5 : 5 + length].decode("ascii", "backslashreplace").lower()
            elif kind == 10 and len(body) >= 2:
                (length,) = struct.unpack_from("!H", body, 0)
                offered = struct.unpack_from(f"!{length // 2}H", body, 2)
                curves = [c for c in offered if c not in _GREASE]
            elif kind == 11 and body:
                formats = list(body[1 : 1 + body[0]])
            elif kind == 43 and body:
                offered = struct.unpack_from(f"!{body[0] // 2}H", body, 1)
                real = [v for v in offered if v not in _GREASE]
                best = max(real, default=best)
    ja3_text = ",".join(
        [str(legacy), *("-".join(str(v) for v in values) for values in
                        (ciphers, extensions, curves, formats))]
    )  # fmt: skip
    return ClientHello(
        name,
        TLS_VERSIONS.get(best, hex(best)),
        hashlib.md5(ja3_text.encode(), usedforsecurity=False).hexdigest(),
    )
