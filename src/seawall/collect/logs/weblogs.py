"""Web server and proxy logs: IIS / W3C extended, Apache, nginx and Tomcat access logs into
``web``; Squid's native access log into ``http``.

- **W3C extended** (IIS): the ``#Fields:`` directive names the columns, in any order, and may
  change within a file (IIS writes a new block when its settings change); values are separated
  by spaces, spaces inside a value written ``+``. Times are UTC (IIS always writes UTC).
- **Access logs** (``combined`` and ``common``, optionally prefixed by the virtual host as
  Apache's ``vhost_combined``; Tomcat's AccessLogValve ``common``/``combined`` patterns and
  nginx's default are the same): each time carries its offset. Fields after the user agent
  (nginx's ``$http_x_forwarded_for``, timings) are ignored.
- **Squid native** (``access.log``): epoch time, elapsed ms, client, result/status, bytes,
  method, URL, user, hierarchy/peer, type.

A line that does not fit its format is a warning at ``file:line``; directives (``#…``) are
header lines. Lines are decoded leniently (bytes that are not UTF-8 stay as ``\\xHH``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from seawall.collect.archives import Stream
from seawall.collect.base import Batch, Mediator
from seawall.collect.lines import Lines
from seawall.collect.logs import LogFormat, LogOptions, register
from seawall.collect.logs.common import (
    MONTHS,
    Rows,
    canonical_ip,
    dns_name,
    flushed,
    integer,
    port,
    text_lines,
)


def _none(value: str | None) -> str | None:
    return None if value in (None, "", "-") else value


def _split_uri(target: str | None) -> tuple[str | None, str | None]:
    if target is None:
        return None, None
    path, mark, query = target.partition("?")
    return path, query if mark else None


class _LineLog:
    """Per-line readers: ``parse`` returns a row, None for a bad line, or ``HEADER``."""

    table = "web"
    name = ""

    def __init__(self, _options: LogOptions) -> None:
        pass

    def read_stream(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]:
        rows = Rows(self.table, stream.label if stream.member is not None else None)
        lines = Lines(stream.handle, stream.label, mediator)
        self.begin()
        for line in text_lines(lines):
            try:
                row = self.parse(line)
            except ValueError as error:
                mediator.warn(lines.where, f"{error}: line skipped")
                continue
            if row is None:
                mediator.warn(lines.where, f"not a {self.name} line: skipped")
                continue
            if row is HEADER:
                continue
            row["record_ref"] = str(lines.number)
            rows.add(row)
            if rows.full():
                batch = rows.batch(lines.position)
                if batch is not None:
                    yield batch
        yield from flushed([rows], lines.position)

    def begin(self) -> None:
        pass

    def parse(self, line: str) -> dict[str, Any] | None:
        raise NotImplementedError


HEADER: dict[str, Any] = {}


# -- W3C extended (IIS) ----------------------------------------------------------------------------


def _w3c_text(value: str) -> str | None:
    return None if value == "-" else value.replace("+", " ")


class W3C(_LineLog):
    name = "W3C extended log"

    def begin(self) -> None:
        self.fields: list[str] | None = None

    def parse(self, line: str) -> dict[str, Any] | None:
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                self.fields = line[len("#Fields:") :].split()
            return HEADER
        if not line.strip():
            return None
        if self.fields is None:
            raise ValueError("data line before any #Fields directive")
        values = line.split(" ")
        if len(values) != len(self.fields):
            raise ValueError(f"{len(values)} fields where #Fields names {len(self.fields)}")
        got = dict(zip(self.fields, values, strict=True))
        when = None
        if "date" in got and "time" in got:
            try:
                when = datetime.fromisoformat(f"{got['date']}T{got['time']}").replace(tzinfo=UTC)
            except ValueError:
                raise ValueError(f"bad date/time {got['date']} {got['time']}") from None
        row: dict[str, Any] = {
            "time": when,
            "client_ip": canonical_ip(got.get("c-ip")) or _none(got.get("c-ip")),
            "server_ip": canonical_ip(got.get("s-ip")),
            "server_port": port(got.get("s-port")),
            "vhost": dns_name(_none(got.get("cs-host"))),
            "method": _none(got.get("cs-method")),
            "uri": _none(got.get("cs-uri-stem")),
            "query": _none(got.get("cs-uri-query")),
            "status": integer(got.get("sc-status")),
            "bytes_sent": integer(got.get("sc-bytes")),
            "bytes_received": integer(got.get("cs-bytes")),
            "duration_ms": float(got["time-taken"]) if _none(got.get("time-taken")) else None,
            "referrer": _w3c_text(got.get("cs(Referer)", "-")),
            "user_agent": _w3c_text(got.get("cs(User-Agent)", "-")),
            "user_name": _none(got.get("cs-username")),
        }
        if "cs-uri" in got and row["uri"] is None:
            row["uri"], row["query"] = _split_uri(_none(got["cs-uri"]))
        computer = _none(got.get("s-computername"))
        if computer:
            row["host"] = computer
        return row


# -- Apache / nginx / Tomcat access logs -----------------------------------------------------------


def _quoted(name: str) -> str:
    # the unrolled form of "(?:[^"\\]|\\.)*": no backtracking per character
    return rf'"(?P<{name}>[^"\\]*(?:\\.[^"\\]*)*)"'


_ACCESS_BODY = (
    r"(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    + _quoted("request")
    + r" (?P<status>\d{3}|-) (?P<bytes>\d+|-)"
    + f"(?: {_quoted('referrer')} {_quoted('agent')})?"
    + r"(?P<extra>.*)$"
)
_ACCESS = re.compile("^" + _ACCESS_BODY)
# Apache's vhost_combined: the virtual host (and port) first
_VHOST_ACCESS = re.compile(r"^(?P<vhost>[^\s:]+)(?::(?P<vport>\d+))? " + _ACCESS_BODY)


def access_match(line: str) -> re.Match[str] | None:
    return _ACCESS.match(line) or _VHOST_ACCESS.match(line)


_ACCESS_TIME = re.compile(
    r"^(?P<day>\d{1,2})/(?P<mon>[A-Za-z]{3})/(?P<year>\d{4}):(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
    r"(?:\.(?P<frac>\d+))? (?P<sign>[+-])(?P<oh>\d\d)(?P<om>\d\d)$"
)


def _unquote(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.replace('\\"', '"').replace("\\\\", "\\")
    return None if text in ("", "-") else text


def access_time(text: str) -> datetime:
    match = _ACCESS_TIME.match(text)
    month = MONTHS.get(match["mon"].lower()) if match else None
    if match is None or month is None:
        raise ValueError(f"bad time [{text}]")
    offset = timedelta(hours=int(match["oh"]), minutes=int(match["om"]))
    zone = timezone(offset if match["sign"] == "+" else -offset)
    micro = int((match["frac"] or "0")[:6].ljust(6, "0"))
    try:
        local = datetime(
            int(match["year"]),
            month,
            int(match["day"]),
            int(match["h"]),
            int(match["m"]),
            int(match["s"]),
            micro,
            zone,
        )
    except ValueError:
        raise ValueError(f"bad time [{text}]") from None
    return local.astimezone(UTC)


class AccessLog(_LineLog):
    name = "combined or common access log"

    def parse(self, line: str) -> dict[str, Any] | None:
        match = access_match(line)
        if match is None:
            return None
        request = match["request"]
        method = target = None
        text = _unquote(request) or ""
        verb, _, rest = text.partition(" ")
        path, _, protocol = rest.rpartition(" ")
        if verb.isalpha() and verb.isupper() and protocol.startswith("HTTP/") and path:
            method, target = verb, path
        elif verb.isalpha() and verb.isupper() and rest and " " not in rest:
            method, target = verb, rest  # HTTP/0.9: no protocol
        else:
            target = text or None  # junk (a TLS handshake on port 80, a probe): kept
        uri, query = _split_uri(target)
        client = match["client"]
        row: dict[str, Any] = {
            "time": access_time(match["time"]),
            "client_ip": canonical_ip(client) or client,
            "vhost": dns_name(match.groupdict().get("vhost")),
            "server_port": port(match.groupdict().get("vport")),
            "method": method,
            "uri": uri,
            "query": query,
            "status": integer(match["status"]),
            "bytes_sent": integer(match["bytes"]),
            "referrer": _unquote(match["referrer"]),
            "user_agent": _unquote(match["agent"]),
            "user_name": _none(match["user"].strip('"')),
        }
        return row


# -- Squid native --------------------------------------------------------------------------------

_SQUID = re.compile(
    r"^(?P<ts>\d+(?:\.\d+)?) +(?P<elapsed>-?\d+) (?P<client>\S+)"
    r" (?P<code>[A-Z_]+)/(?P<status>\d{3}) (?P<bytes>\d+) (?P<method>\S+) (?P<url>\S+)"
    r" (?P<user>\S+) (?P<hier>[A-Z_]+)/(?P<peer>\S+)"
    r" (?P<type>\S+)(?P<extra>.*)$"
)


class Squid(_LineLog):
    table = "http"
    name = "Squid native access log"

    def parse(self, line: str) -> dict[str, Any] | None:
        match = _SQUID.match(line)
        if match is None:
            return None
        url = match["url"]
        if match["method"] == "CONNECT":
            host, _, port_text = url.rpartition(":")
            http_host, server_port = dns_name(host or url), port(port_text)
        else:
            try:
                parts = urlsplit(url)
                http_host, server_port = dns_name(parts.hostname), parts.port
            except ValueError:
                http_host, server_port = None, None
        return {
            "time": datetime.fromtimestamp(float(match["ts"]), UTC),
            "client_ip": canonical_ip(match["client"]) or match["client"],
            "server_ip": canonical_ip(match["peer"]),
            "server_port": server_port,
            "method": match["method"],
            "http_host": http_host,
            "url": url,
            "status": int(match["status"]),
            "response_bytes": int(match["bytes"]),
            "content_type": _none(match["type"]),
            "action": match["code"],
            "user_name": _none(match["user"]),
            "duration_ms": float(match["elapsed"]),
        }


# -- formats ---------------------------------------------------------------------------------------


def _first_lines(head: bytes, count: int = 5) -> list[str]:
    return [
        x
        for x in head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").splitlines()
        if x.strip()
    ][:count]


def sniff_w3c(head: bytes) -> bool:
    lines = _first_lines(head, 10)
    return bool(lines) and lines[0].startswith("#") and any(x.startswith("#Fields:") for x in lines)


def sniff_access(head: bytes) -> bool:
    lines = _first_lines(head)
    return bool(lines) and access_match(lines[0]) is not None


def sniff_squid(head: bytes) -> bool:
    lines = _first_lines(head)
    return bool(lines) and _SQUID.match(lines[0]) is not None


register(
    LogFormat("w3c", "IIS / W3C extended log (#Fields: in any order)", ("web",), W3C, sniff_w3c)
)
register(
    LogFormat(
        "access",
        "Apache, nginx and Tomcat access logs: combined or common (vhost prefix allowed)",
        ("web",),
        AccessLog,
        sniff_access,
    )
)
register(LogFormat("squid", "Squid native access.log", ("http",), Squid, sniff_squid))
