"""nmap XML results (``nmap -oX``) into ``scan``: one row per address, port and protocol.

Parsed incrementally with ``defusedxml`` (no entities, no network, memory per host). A host
without ports (a ping scan) is one row with its status as ``state``. ``record_ref`` is the
host's position in the file (``host N``). A scan cut short (nmap interrupted: the XML has no
end) keeps every complete host and warns where the XML broke.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from seawall.collect.archives import Stream
from seawall.collect.base import Batch, Mediator
from seawall.collect.logs import LogFormat, LogOptions, register
from seawall.collect.logs.common import Rows, canonical_ip, dns_name, flushed


def _epoch(value: str | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value and value.isdigit() else None


class NmapReader:
    def __init__(self, _options: LogOptions) -> None:
        pass

    def read_stream(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]:
        rows = Rows("scan", stream.label if stream.member is not None else None)
        started: datetime | None = None
        count = 0
        try:
            for event, element in iterparse(stream.handle, events=("start", "end")):
                if event == "start" and element.tag == "nmaprun":
                    started = _epoch(element.get("start"))
                if event != "end" or element.tag != "host":
                    continue
                count += 1
                for row in _host_rows(element, started):
                    row["record_ref"] = f"host {count}"
                    rows.add(row)
                element.clear()
                if rows.full():
                    yield from flushed([rows], None)
        except ParseError as error:
            line, column = getattr(error, "position", (0, 0))
            mediator.warn(
                f"{stream.label}:{line}",
                f"XML breaks at column {column} ({error}): the hosts before it are kept",
            )
        except DefusedXmlException as error:
            mediator.warn(stream.label, f"forbidden XML construct ({error}): the rest is not read")
        yield from flushed([rows], None)


def _host_rows(host: Element, started: datetime | None) -> Iterator[dict[str, Any]]:
    address = None
    for item in host.findall("address"):
        if item.get("addrtype") in ("ipv4", "ipv6"):
            address = canonical_ip(item.get("addr")) or item.get("addr")
            break
    names = host.find("hostnames")
    hostname = None
    if names is not None:
        first = names.find("hostname")
        hostname = dns_name(first.get("name")) if first is not None else None
    status = host.find("status")
    base = {
        "time": _epoch(host.get("starttime")) or started,
        "address": address,
        "hostname": hostname,
    }
    ports = host.find("ports")
    found = False
    for port in ports.findall("port") if ports is not None else []:
        found = True
        state = port.find("state")
        service = port.find("service")
        product = None
        if service is not None:
            product = (
                " ".join(v for v in (service.get("product"), service.get("version")) if v) or None
            )
        portid = port.get("portid", "")
        yield {
            **base,
            "port": int(portid) if portid.isdigit() else None,
            "proto": port.get("protocol"),
            "state": state.get("state") if state is not None else None,
            "service": service.get("name") if service is not None else None,
            "product": product,
        }
    if not found:
        yield {**base, "state": status.get("state") if status is not None else None}


def sniff(head: bytes) -> bool:
    return b"<nmaprun" in head[:4096]


register(LogFormat("nmap", "nmap XML output (nmap -oX)", ("scan",), NmapReader, sniff))
