"""DNS server logs into ``dns``: dnsmasq, BIND query logs, Unbound, Windows DNS Server debug logs.

These logs write one line per step of a resolution (dnsmasq: query, forwarded, reply, cached…;
Windows: each packet received or sent), so every DNS line is a ``dns`` row whose ``message``
says which step it is (see the README's "Network logs"). A server's other lines (start-up,
configuration, DHCP, errors) are not dropped: they are ``netlog`` rows (``log_type`` the server,
``fields`` the program, pid and text). A line that does not parse at all is a warning at
``file:line``. Times carry no zone (and syslog-style ones no year): see
:class:`seawall.collect.logs.common.Clock`. Lines are decoded leniently (bytes that are not
UTF-8 stay as ``\\xHH``): DNS tunnels put raw bytes in names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from seawall.collect.archives import Stream
from seawall.collect.base import Batch, Mediator
from seawall.collect.lines import Lines
from seawall.collect.logs import LogFormat, LogOptions, register
from seawall.collect.logs.common import (
    MONTHS,
    Clock,
    Rows,
    TimeOptions,
    canonical_ip,
    dns_name,
    flushed,
    port,
    text_lines,
)

# "Aug  8 18:53:23 [host] prog[pid]: msg" or an ISO 8601 time (rsyslog's precise format)
_SYSLOG = re.compile(
    r"^(?:(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<hms>\d\d:\d\d:\d\d(?:\.\d+)?)"
    r"|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?))"
    r" (?:(?P<host>\S+) )?(?P<prog>[\w./-]+?)(?:\[(?P<pid>\d+)(?::\d+)?\])?: (?P<msg>.*)$"
)


class _Prefix:
    """A syslog-style line taken apart: its time (UTC), host, program, pid and message."""

    __slots__ = ("host", "message", "pid", "program", "time")

    def __init__(
        self, time: datetime, host: str | None, program: str, pid: str | None, message: str
    ) -> None:
        self.time = time
        self.host = host
        self.program = program
        self.pid = pid
        self.message = message


def syslog(line: str, clock: Clock) -> _Prefix | None:
    match = _SYSLOG.match(line)
    if match is None:
        return None
    if match["iso"]:
        parsed = datetime.fromisoformat(match["iso"].replace("Z", "+00:00"))
        when = parsed.astimezone(UTC) if parsed.tzinfo else clock.local(parsed)
    else:
        month = MONTHS.get(match["mon"].lower())
        if month is None:
            return None
        hour, minute, second = match["hms"].split(":")
        try:
            when = clock.yearless(month, int(match["day"]), int(hour), int(minute), float(second))
        except ValueError:
            return None
    return _Prefix(when, match["host"], match["prog"], match["pid"], match["msg"])


class _ServerLog:
    """The loop every DNS server reader shares: a line is a ``dns`` row, a ``netlog`` row
    (the server's other lines) or a warning."""

    server = ""

    def __init__(self, options: LogOptions) -> None:
        self.time_options = TimeOptions.of(options.settings)

    def read_stream(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]:
        label = stream.label if stream.member is not None else None
        dns = Rows("dns", label)
        other = Rows("netlog", label)
        clock = Clock(self.time_options, stream.label, mediator)
        lines = Lines(stream.handle, stream.label, mediator)
        self.begin()
        for line in text_lines(lines):
            row = self.parse(line, clock)
            if row is None:
                if self.skip(line):
                    continue
                mediator.warn(lines.where, f"not a {self.server} log line: skipped")
                continue
            row["record_ref"] = str(lines.number)
            (dns if row.pop("_table", "dns") == "dns" else other).add(row)
            for rows in (dns, other):
                if rows.full():
                    batch = rows.batch(lines.position)
                    if batch is not None:
                        yield batch
        self.end(stream.label, mediator)
        yield from flushed([dns, other], lines.position)

    def begin(self) -> None:
        """Before a stream (per-stream state)."""

    def end(self, label: str, mediator: Mediator) -> None:
        """After a stream."""

    def skip(self, line: str) -> bool:
        """Whether an unparsed line is a header or continuation line, not a bad one."""
        return False

    def parse(self, line: str, clock: Clock) -> dict[str, Any] | None:
        raise NotImplementedError

    def netlog(self, time: datetime | None, **fields: Any) -> dict[str, Any]:
        return {
            "_table": "netlog",
            "time": time,
            "log_type": self.server,
            "fields": json.dumps({k: v for k, v in fields.items() if v is not None}),
        }


# -- dnsmasq -------------------------------------------------------------------------------------

_DNSMASQ = re.compile(
    r"^(?:(?P<serial>\d+) (?P<src>[0-9a-fA-F.:]+)/(?P<sport>\d+) )?"
    r"(?P<kind>query|forwarded|reply|cached|config|dnssec-query|validation|"
    r"[a-z-]*reply|cached-stale|/\S+)(?:\[(?P<qtype>[^\]]+)\])? "
    r"(?P<name>.+?) (?P<verb>from|to|is) ?(?P<value>.*)$"
)
_REFUSED = re.compile(r"^nameserver (?P<ip>\S+) refused to do a recursive query$")
_NEGATIVE = {"NXDOMAIN": "NXDOMAIN", "SERVFAIL": "SERVFAIL", "REFUSED": "REFUSED"}


class Dnsmasq(_ServerLog):
    server = "dnsmasq"

    def parse(self, line: str, clock: Clock) -> dict[str, Any] | None:
        prefix = syslog(line, clock)
        if prefix is None:
            return None
        row: dict[str, Any] = {"time": prefix.time}
        if prefix.host:
            row["host"] = prefix.host
        match = _DNSMASQ.match(prefix.message) if prefix.program == "dnsmasq" else None
        if match is None:
            refused = _REFUSED.match(prefix.message) if prefix.program == "dnsmasq" else None
            if refused is not None:
                row.update(message="nameserver refused recursion")
                row["server_ip"] = canonical_ip(refused["ip"])
                return row
            return self.netlog(
                prefix.time, program=prefix.program, pid=prefix.pid, text=prefix.message
            )
        kind, value = match["kind"], match["value"]
        name = match["name"]
        row["query"] = name if name.startswith("<") else dns_name(name)
        row["qtype"] = match["qtype"]
        row["message"] = "hosts-file" if kind.startswith("/") else kind
        if match["src"]:
            row["client_ip"] = canonical_ip(match["src"])
            row["client_port"] = port(match["sport"])
        if match["verb"] == "from":
            row["client_ip"] = canonical_ip(value) or row.get("client_ip")
        elif match["verb"] == "to":
            row["server_ip"] = canonical_ip(value.partition("#")[0])
        else:
            negative = value.split("-")[0] if value else ""
            if negative in _NEGATIVE:
                row["rcode"] = _NEGATIVE[negative]
            elif value.startswith("NODATA"):
                row["rcode"] = "NOERROR"
                row["answers"] = []
            else:
                row["answers"] = [value]
                row["rcode"] = "NOERROR"
        return row


# -- BIND ----------------------------------------------------------------------------------------

_BIND_TIME = re.compile(
    r"^(?P<day>\d{1,2})-(?P<mon>[A-Za-z]{3})-(?P<year>\d{4}) (?P<hms>\d\d:\d\d:\d\d(?:\.\d+)?)"
    r" (?P<msg>.*)$"
)
_BIND_QUERY = re.compile(
    r"client (?:@0x[0-9a-fA-F]+ )?(?P<ip>[^#\s]+)#(?P<port>\d+)(?: \([^)]*\))?"
    r"(?: view [^:]+)?: (?:view [^:]+: )?query: (?P<name>\S+) (?P<cls>\S+) (?P<type>\S+)"
    r" (?P<flags>\S*)(?: \((?P<server>[^)]*)\))?"
)


class Bind(_ServerLog):
    server = "bind"

    def parse(self, line: str, clock: Clock) -> dict[str, Any] | None:
        stamped = _BIND_TIME.match(line)
        if stamped is not None:
            month = MONTHS.get(stamped["mon"].lower())
            if month is None:
                return None
            hms, _, fraction = stamped["hms"].partition(".")
            hour, minute, second = (int(x) for x in hms.split(":"))
            try:
                when = clock.at(
                    int(stamped["year"]), month, int(stamped["day"]), hour, minute, second,
                    int(fraction[:6].ljust(6, "0")) if fraction else 0,
                )  # fmt: skip
            except ValueError:
                return None
            host, message = None, stamped["msg"]
        else:
            prefix = syslog(line, clock)
            if prefix is None:
                return None
            when, host, message = prefix.time, prefix.host, prefix.message
        query = _BIND_QUERY.search(message)
        if query is None:
            return self.netlog(when, text=message)
        flags = query["flags"]
        row: dict[str, Any] = {
            "time": when,
            "client_ip": canonical_ip(query["ip"]),
            "client_port": port(query["port"]),
            "server_ip": canonical_ip(query["server"]),
            "proto": "tcp" if "T" in flags else "udp",
            "query": dns_name(query["name"]),
            "qtype": query["type"],
            "message": "query",
        }
        if host:
            row["host"] = host
        return row


# -- Unbound -------------------------------------------------------------------------------------

_UNBOUND_EPOCH = re.compile(
    r"^\[(?P<epoch>\d+(?:\.\d+)?)\] (?P<prog>[\w-]+)\[(?P<pid>\d+):\w+\] (?P<msg>.*)$"
)
_UNBOUND_INFO = re.compile(
    r"^(?:\[\d+:\w+\] )?(?P<level>info|notice|debug|error|warning|query|reply)?:? ?"
    r"(?P<ip>[0-9a-fA-F.:]+) (?P<name>\S+) (?P<type>[A-Z0-9]+|TYPE\d+) "
    r"(?P<cls>IN|CH|HS|ANY|CLASS\d+)"
    r"(?: (?P<rcode>[A-Z]+) (?P<secs>[\d.]+) (?P<cached>\d) (?P<size>\d+))?$"
)


class Unbound(_ServerLog):
    server = "unbound"

    def parse(self, line: str, clock: Clock) -> dict[str, Any] | None:
        epoch = _UNBOUND_EPOCH.match(line)
        if epoch is not None:
            when = datetime.fromtimestamp(float(epoch["epoch"]), UTC)
            host, message = None, epoch["msg"]
        else:
            prefix = syslog(line, clock)
            if prefix is None:
                return None
            when, host, message = prefix.time, prefix.host, prefix.message
        query = _UNBOUND_INFO.match(message)
        if query is None:
            return self.netlog(when, text=message)
        row: dict[str, Any] = {
            "time": when,
            "client_ip": canonical_ip(query["ip"]),
            "query": dns_name(query["name"]),
            "qtype": query["type"],
        }
        if query["rcode"]:
            row.update(message="reply", rcode=query["rcode"], rtt=float(query["secs"]))
            if query["cached"] == "1":
                row["message"] = "reply (cached)"
        else:
            row["message"] = "query"
        if host:
            row["host"] = host
        return row


# -- Windows DNS Server debug log ------------------------------------------------------------------

_WINDOWS = re.compile(
    r"^(?P<date>\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}) (?P<time>\d{1,2}:\d\d:\d\d)"
    r"(?: ?(?P<ampm>[AaPp]\.?[Mm]\.?))?"
    r" (?P<thread>[0-9A-Fa-f]+) (?P<context>\S+) *(?P<rest>.*)$"
)
_PACKET = re.compile(
    r"^(?P<packet>[0-9A-Fa-f]+) (?P<proto>UDP|TCP) (?P<dir>Snd|Rcv) (?P<ip>[0-9a-fA-F.:]+) +"
    r"(?P<xid>[0-9a-fA-F]{1,4}) (?P<resp>[R ]) (?P<op>[QNU?]) "
    r"\[(?P<hex>[0-9a-fA-F]+) +(?P<flags>[A-Z ]*?) *(?P<rcode>[A-Z]+)\] (?P<qtype>\S+) +"
    r"(?P<qname>.*)$"
)
_LABEL_LENGTH = re.compile(r"\(\d+\)")
_STEPS = {
    ("Rcv", False): "query received",
    ("Snd", True): "response sent",
    ("Snd", False): "query sent",
    ("Rcv", True): "response received",
}


def _windows_time(match: re.Match[str], clock: Clock) -> datetime | None:
    parts = re.split(r"[/.-]", match["date"])
    try:
        if len(parts[0]) == 4:
            year, month, day = (int(p) for p in parts)
        else:
            first, second, year = (int(p) for p in parts)
            # the server's locale decides; month first (en-US) unless that cannot be
            month, day = (second, first) if first > 12 else (first, second)
        hour, minute, second_ = (int(p) for p in match["time"].split(":"))
        ampm = (match["ampm"] or "").replace(".", "").upper()
        if ampm == "PM" and hour < 12:
            hour += 12
        elif ampm == "AM" and hour == 12:
            hour = 0
        return clock.at(year, month, day, hour, minute, second_)
    except ValueError:
        return None


class WindowsDns(_ServerLog):
    server = "windows-dns"

    def begin(self) -> None:
        self._started = False
        self._details = 0

    def skip(self, line: str) -> bool:
        if re.match(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4} ", line):
            return False  # a packet line that does not parse: a warning
        if self._started and line.strip():
            self._details += 1  # packet details of detailed logging: under their packet line
        return True  # the legend before the first packet (and blank lines) is a header

    def end(self, label: str, mediator: Mediator) -> None:
        if self._details:
            mediator.warn(label, f"{self._details} lines of packet details not read")

    def parse(self, line: str, clock: Clock) -> dict[str, Any] | None:
        match = _WINDOWS.match(line)
        if match is None:
            return None
        when = _windows_time(match, clock)
        if when is None:
            return None
        self._started = True
        if match["context"] != "PACKET":
            return self.netlog(when, context=match["context"], text=match["rest"])
        packet = _PACKET.match(match["rest"])
        if packet is None:
            return None
        response = packet["resp"] == "R"
        step = _STEPS[(packet["dir"], response)]
        remote = canonical_ip(packet["ip"])
        # the server's own address is not in the log: the remote is the client when the
        # server answers or is asked, the upstream when the server forwards
        toward_client = step in ("query received", "response sent")
        name = _LABEL_LENGTH.sub(".", packet["qname"].strip()).strip(".").lower() or None
        return {
            "time": when,
            "client_ip": remote if toward_client else None,
            "server_ip": None if toward_client else remote,
            "proto": packet["proto"].lower(),
            "query": name,
            "qtype": packet["qtype"],
            "rcode": packet["rcode"] if response else None,
            "message": step,
            "trans_id": int(packet["xid"], 16),
        }


# -- formats ---------------------------------------------------------------------------------------


def _head_lines(head: bytes, count: int = 30) -> list[str]:
    return head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").splitlines()[:count]


def sniff_dnsmasq(head: bytes) -> bool:
    lines = _head_lines(head)
    return bool(lines) and any(re.search(r" dnsmasq(?:-dhcp)?\[\d+\]: ", x) for x in lines)


def sniff_bind(head: bytes) -> bool:
    return any(
        re.search(r"client (?:@0x[0-9a-fA-F]+ )?[0-9a-fA-F.:]+#\d+.*: query: ", x)
        for x in _head_lines(head)
    )


def sniff_unbound(head: bytes) -> bool:
    return any(
        re.search(r"unbound(?:\[\d+:\w+\])?:? (?:\[\d+:\w+\] )?info: [0-9a-fA-F.:]+ \S+\. ", x)
        for x in _head_lines(head)
    )


def sniff_windows(head: bytes) -> bool:
    return any(
        re.search(r" PACKET +[0-9A-Fa-f]+ (?:UDP|TCP) (?:Snd|Rcv) ", x)
        for x in _head_lines(head, 200)
    )


for _name, _reader, _sniff, _description in (
    ("dnsmasq", Dnsmasq, sniff_dnsmasq, "dnsmasq log (log-queries): query, forwarded, reply…"),
    ("bind", Bind, sniff_bind, "BIND query log (querylog / category queries)"),
    ("unbound", Unbound, sniff_unbound, "Unbound log with log-queries / log-replies"),
    ("windows-dns", WindowsDns, sniff_windows, "Windows DNS Server debug log (packets)"),
):
    register(LogFormat(_name, _description, ("dns", "netlog"), _reader, _sniff))
