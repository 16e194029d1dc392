"""Zeek log columns to the case's tables, vectorised over Arrow columns.

A block of one Zeek log (TSV or JSON) arrives as an Arrow table of its own field names, every
value as text (lists as lists of text), with the line number of each row. :class:`Cols` converts
a field to a table column in one Arrow pass: Zeek's escapes (``\\xHH``, ``\\\\``) undone, the
unset field as NULL, the empty field as an empty string or list, numbers and times parsed (a
value that is not one becomes NULL with a warning at its line, and the row is kept). Each known
log has a :class:`ZeekMap` (the table it fills and the fields it needs); any other log, and the
``weird``, ``x509`` and ``files`` logs, go to ``netlog`` with every field in its ``fields``
JSON, so nothing is dropped.

Zeek writes addresses in canonical form (``addr`` type), so they are taken as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawall.collect.base import Mediator
from seawall.model.columns import UTC_TIME

_TEXT = pa.string()
_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})|\\\\")


def unescape(text: str) -> str:
    """Zeek's escaping undone: ``\\xHH`` is a byte, ``\\\\`` a backslash; bytes that are not
    UTF-8 stay written as ``\\xHH``."""
    if "\\" not in text:
        return text
    raw = _ESCAPE.sub(
        lambda m: bytes([int(m.group(1), 16)]) if m.group(1) else b"\\", text.encode()
    )
    return raw.decode("utf-8", errors="backslashreplace")


class Cols:
    """One block of one Zeek log: its fields as Arrow arrays, converted on demand."""

    def __init__(
        self,
        data: pa.Table,
        lines: np.ndarray[Any, np.dtype[np.int64]],
        label: str,
        mediator: Mediator,
        *,
        empty: str | None = "(empty)",
        set_separator: str = ",",
        types: Mapping[str, str] | None = None,
        objects: list[dict[str, Any]] | None = None,
    ) -> None:
        self.data = data
        self.lines = lines
        self.label = label
        self.mediator = mediator
        self.empty = empty
        self.set_separator = set_separator
        self.types = types or {}
        self.objects = objects
        self.count = data.num_rows

    def raw(self, name: str) -> pa.Array | None:
        if name not in self.data.column_names:
            return None
        column = self.data.column(name)
        return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column

    def nulls(self, kind: pa.DataType = _TEXT) -> pa.Array:
        return pa.nulls(self.count, kind)

    def text(self, name: str, escaped: bool = True) -> pa.Array:
        """Text: the empty-field marker as "", escapes undone (``escaped=False``: a field Zeek
        writes from a fixed vocabulary, such as an enum or a uid, is taken as it is)."""
        column = self.raw(name)
        if column is None:
            return self.nulls()
        if pa.types.is_list(column.type):
            column = pc.binary_join(column, self.set_separator)
        if self.empty is not None:
            column = pc.if_else(pc.equal(column, self.empty), "", column)
        return _unescaped(column) if escaped else column

    def name(self, name: str) -> pa.Array:
        """A DNS name: lower-case, without trailing dots, empty as NULL."""
        column = pc.utf8_rtrim(pc.utf8_lower(self.text(name)), characters=".")
        return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)

    def ip(self, name: str) -> pa.Array:
        return self.raw(name) if name in self.data.column_names else self.nulls()

    def number(self, name: str, kind: pa.DataType) -> pa.Array:
        """A number of ``kind``; a value that is not one is NULL with a warning at its line."""
        column = self.raw(name)
        if column is None:
            return self.nulls(kind)
        if pa.types.is_list(column.type):
            column = pc.list_element(column, 0)
        try:
            return pc.cast(column, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pattern = r"^-?[0-9]+$" if pa.types.is_integer(kind) else r"^-?[0-9.eE+-]+$"
            good = pc.fill_null(pc.match_substring_regex(column, pattern), True)
            self._warn_bad(
                name, column, good, f"a {'whole ' if kind != pa.float64() else ''}number"
            )
            column = pc.if_else(good, column, pa.scalar(None, pa.string()))
            try:
                return pc.cast(column, kind)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # out of range
                floats = pc.cast(column, pa.float64())
                return pc.cast(pc.if_else(pc.less(pc.abs(floats), 2**31), floats, None), kind)

    def time(self, name: str = "ts") -> pa.Array:
        """Zeek's epoch seconds (or an ISO 8601 time, as some JSON writers give) as UTC."""
        column = self.raw(name)
        if column is None:
            return self.nulls(UTC_TIME)
        try:
            seconds = pc.cast(column, pa.float64())
        except pa.ArrowInvalid:
            return self._iso_time(name, column)
        micros = pc.cast(pc.round(pc.multiply(seconds, 1e6)), pa.int64())
        return pc.cast(micros, pa.timestamp("us")).cast(UTC_TIME)

    def _iso_time(self, name: str, column: pa.Array) -> pa.Array:
        out: list[datetime | None] = []
        for index, value in enumerate(column.to_pylist()):
            when = _parse_time(value)
            if when is None and value is not None:
                self.mediator.warn(
                    f"{self.label}:{self.lines[index]}",
                    f"{name} {value!r} is not a time: left empty",
                )
            out.append(when)
        return pa.array(out, UTC_TIME)

    def flag(self, name: str) -> pa.Array:
        """Zeek's ``T``/``F`` (or JSON's true/false) as a boolean."""
        column = self.raw(name)
        if column is None:
            return self.nulls(pa.bool_())
        return pc.if_else(
            pc.is_in(column, pa.array(["T", "true", "True"])),
            True,
            pc.if_else(pc.is_in(column, pa.array(["F", "false", "False"])), False, None),
        )

    def items(self, name: str, kind: pa.DataType = _TEXT) -> pa.Array:
        """A set or vector: split on the set separator, the empty marker as an empty list."""
        column = self.raw(name)
        if column is None:
            return self.nulls(pa.list_(kind))
        if not pa.types.is_list(column.type):
            if self.empty is not None:
                column = pc.if_else(pc.equal(column, self.empty), "", column)
            split = pc.split_pattern(column, self.set_separator)
            # "" splits into [""]: an empty set
            column = pc.if_else(pc.equal(column, ""), pa.scalar([], split.type), split)
        flat = pc.list_flatten(column)
        if pa.types.is_string(kind):
            flat = _unescaped(flat)
        else:
            try:
                flat = pc.cast(flat, kind)
            except pa.ArrowInvalid:
                flat = pc.cast(
                    pc.if_else(pc.match_substring_regex(flat, r"^[0-9.eE+-]+$"), flat, None), kind
                )
        offsets = column.offsets
        return pa.ListArray.from_arrays(offsets, flat, mask=column.is_null())

    def _warn_bad(self, name: str, column: pa.Array, good: pa.Array, what: str) -> None:
        for index in np.flatnonzero(~np.asarray(good.to_numpy(zero_copy_only=False), bool)):
            self.mediator.warn(
                f"{self.label}:{self.lines[index]}",
                f"{name} {column[int(index)].as_py()!r} is not {what}: left empty",
            )

    def json_rows(self) -> pa.Array:
        """Every field of every row as one JSON object (numbers and lists typed by ``#types``)."""
        if self.objects is not None:
            return pa.array([json.dumps(o, default=str) for o in self.objects], pa.string())
        names = self.data.column_names
        columns = [self.data.column(n).to_pylist() for n in names]
        typed = [_typer(self.types.get(n, "string"), self.empty, self.set_separator) for n in names]
        out = []
        for values in zip(*columns, strict=True):
            row = {n: t(v) for n, t, v in zip(names, typed, values, strict=True) if v is not None}
            out.append(json.dumps(row))
        return pa.array(out, pa.string())


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _unescaped(column: pa.Array) -> pa.Array:
    marked = pc.match_substring(column, "\\")
    if not pc.any(marked).as_py():
        return column
    values = column.to_pylist()
    for index in np.flatnonzero(np.asarray(marked.to_numpy(zero_copy_only=False), bool)):
        values[index] = unescape(values[index])
    return pa.array(values, pa.string())


def _typer(kind: str, empty: str | None, separator: str) -> Callable[[str], Any]:
    def scalar(base: str, value: str) -> Any:
        value = unescape(value)
        try:
            if base in ("count", "int", "port"):
                return int(value)
            if base in ("double", "interval", "time"):
                return float(value)
        except ValueError:
            return value
        if base == "bool":
            return {"T": True, "F": False}.get(value, value)
        return value

    if kind.startswith(("set[", "vector[")):
        base = kind[kind.index("[") + 1 : -1]
        return lambda v: [] if v in (empty, "") else [scalar(base, x) for x in v.split(separator)]
    return lambda v: "" if v == empty else scalar(kind, v)


# -- the logs ------------------------------------------------------------------------------------

Build = Callable[[Cols], dict[str, pa.Array]]


@dataclass(frozen=True, slots=True)
class ZeekMap:
    table: str
    fields: tuple[str, ...] | None
    """The Zeek fields it reads (None: all of them)."""
    build: Build

    def wanted(self, present: Sequence[str]) -> list[str]:
        """The fields of a log to parse: those the map reads, less a fallback whose preferred
        field is there (``qtype`` when ``qtype_name`` is)."""
        if self.fields is None:
            return list(present)
        have = set(present)
        return [
            f for f in present if f in self.fields and not (f in FALLBACKS and FALLBACKS[f] in have)
        ]


# A numeric field read only when its name field is absent.
FALLBACKS = {"qtype": "qtype_name", "rcode": "rcode_name"}


_CONN_ID = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")


def _endpoints(c: Cols) -> dict[str, pa.Array]:
    return {
        "time": c.time("ts"),
        "client_ip": c.ip("id.orig_h"),
        "client_port": c.number("id.orig_p", pa.int32()),
        "server_ip": c.ip("id.resp_h"),
        "server_port": c.number("id.resp_p", pa.int32()),
        "uid": c.text("uid", escaped=False),
    }


def _first(*columns: pa.Array) -> pa.Array:
    return pc.coalesce(*columns)


def _dns(c: Cols) -> dict[str, pa.Array]:
    rcode = _first(c.text("rcode_name", escaped=False), c.text("rcode", escaped=False))
    answers = c.items("answers")
    answered = pc.or_(pc.is_valid(rcode), pc.is_valid(answers))
    return {
        **_endpoints(c),
        "proto": c.text("proto", escaped=False),
        "query": c.name("query"),
        "qtype": _first(c.text("qtype_name", escaped=False), c.text("qtype", escaped=False)),
        "rcode": rcode,
        "answers": answers,
        "message": pc.if_else(answered, "query+response", "query"),
        "trans_id": c.number("trans_id", pa.int32()),
        "rtt": c.number("rtt", pa.float64()),
        "ttls": c.items("TTLs", pa.float64()),
    }


def _conn(c: Cols) -> dict[str, pa.Array]:
    return {
        **_endpoints(c),
        "proto": c.text("proto"),
        "service": c.text("service"),
        "duration": c.number("duration", pa.float64()),
        "bytes_out": c.number("orig_bytes", pa.int64()),
        "bytes_in": c.number("resp_bytes", pa.int64()),
        "packets_out": c.number("orig_pkts", pa.int64()),
        "packets_in": c.number("resp_pkts", pa.int64()),
        "state": c.text("conn_state"),
    }


def _http(c: Cols) -> dict[str, pa.Array]:
    return {
        **_endpoints(c),
        "method": c.text("method"),
        "http_host": c.name("host"),
        "url": c.text("uri"),
        "user_agent": c.text("user_agent"),
        "referrer": c.text("referrer"),
        "status": c.number("status_code", pa.int32()),
        "request_bytes": c.number("request_body_len", pa.int64()),
        "response_bytes": c.number("response_body_len", pa.int64()),
        "content_type": pc.list_element(c.items("resp_mime_types"), 0)
        if "resp_mime_types" in c.data.column_names
        else c.nulls(),
    }


def _ssl(c: Cols) -> dict[str, pa.Array]:
    return {
        **_endpoints(c),
        "server_name": c.name("server_name"),
        "version": c.text("version"),
        "cipher": c.text("cipher"),
        "subject": c.text("subject"),
        "issuer": c.text("issuer"),
        "ja3": c.text("ja3"),
        "established": c.flag("established"),
    }


def _smb_mapping(c: Cols) -> dict[str, pa.Array]:
    return {
        **_endpoints(c),
        "action": pa.repeat(pa.scalar("TREE_CONNECT"), c.count),
        "share_path": c.text("path"),
        "share_type": c.text("share_type"),
    }


def _smb_files(c: Cols) -> dict[str, pa.Array]:
    return {
        **_endpoints(c),
        "action": pc.replace_substring_regex(c.text("action"), "^SMB::", ""),
        "share_path": c.text("path"),
        "file_name": c.text("name"),
        "size": c.number("size", pa.int64()),
    }


def _auth(c: Cols, method: str, extra: dict[str, pa.Array]) -> dict[str, pa.Array]:
    return {
        "time": c.time("ts"),
        "source_ip": c.ip("id.orig_h"),
        "target": c.ip("id.resp_h"),
        "method": pa.repeat(pa.scalar(method), c.count),
        **extra,
    }


def _result(success: pa.Array) -> pa.Array:
    return pc.if_else(success, "success", "failure")


def _kerberos(c: Cols) -> dict[str, pa.Array]:
    client = c.text("client")  # user/REALM
    parts = pc.split_pattern(client, "/", max_splits=1)
    has_realm = pc.greater(pc.list_value_length(parts), 1)
    return _auth(
        c,
        "kerberos",
        {
            "user_name": pc.if_else(has_realm, pc.list_element(parts, 0), client),
            "user_domain": pc.if_else(
                has_realm, pc.list_element(pc.list_slice(parts, 1, 2), 0), None
            ),
            "service": c.text("service"),
            "logon_type": c.text("request_type"),
            "result": _result(c.flag("success")),
            "reason": c.text("error_msg"),
        },
    )


def _ntlm(c: Cols) -> dict[str, pa.Array]:
    return _auth(
        c,
        "ntlm",
        {
            "user_name": c.text("username"),
            "user_domain": c.text("domainname"),
            "device": c.text("hostname"),
            "service": _first(
                c.text("server_dns_computer_name"), c.text("server_nb_computer_name")
            ),
            "result": _result(c.flag("success")),
            "reason": c.text("status"),
        },
    )


def _rdp(c: Cols) -> dict[str, pa.Array]:
    return _auth(
        c,
        "rdp",
        {
            "user_name": c.text("cookie"),
            "device": c.text("client_name"),
            "service": pa.repeat(pa.scalar("rdp"), c.count),
            "logon_type": c.text("security_protocol"),
            "result": c.text("result"),
        },
    )


def _netlog(log_type: str) -> Build:
    def build(c: Cols) -> dict[str, pa.Array]:
        return {
            "time": c.time("ts"),
            "log_type": pa.repeat(pa.scalar(log_type), c.count),
            "client_ip": c.ip("id.orig_h"),
            "client_port": c.number("id.orig_p", pa.int32()),
            "server_ip": c.ip("id.resp_h"),
            "server_port": c.number("id.resp_p", pa.int32()),
            "uid": c.text("uid"),
            "fields": c.json_rows(),
        }

    return build


MAPS: dict[str, ZeekMap] = {
    "dns": ZeekMap(
        "dns",
        (
            *_CONN_ID,
            "proto",
            "trans_id",
            "rtt",
            "query",
            "qtype",
            "qtype_name",
            "rcode",
            "rcode_name",
            "answers",
            "TTLs",
        ),
        _dns,
    ),
    "conn": ZeekMap(
        "conn",
        (
            *_CONN_ID,
            "proto",
            "service",
            "duration",
            "orig_bytes",
            "resp_bytes",
            "orig_pkts",
            "resp_pkts",
            "conn_state",
        ),
        _conn,
    ),
    "http": ZeekMap(
        "http",
        (
            *_CONN_ID,
            "method",
            "host",
            "uri",
            "user_agent",
            "referrer",
            "status_code",
            "request_body_len",
            "response_body_len",
            "resp_mime_types",
        ),
        _http,
    ),
    "ssl": ZeekMap(
        "tls",
        (*_CONN_ID, "server_name", "version", "cipher", "subject", "issuer", "ja3", "established"),
        _ssl,
    ),
    "smb_mapping": ZeekMap("smb", (*_CONN_ID, "path", "share_type"), _smb_mapping),
    "smb_files": ZeekMap("smb", (*_CONN_ID, "action", "path", "name", "size"), _smb_files),
    "kerberos": ZeekMap(
        "auth",
        (*_CONN_ID, "client", "service", "request_type", "success", "error_msg"),
        _kerberos,
    ),
    "ntlm": ZeekMap(
        "auth",
        (
            *_CONN_ID,
            "username",
            "domainname",
            "hostname",
            "server_dns_computer_name",
            "server_nb_computer_name",
            "success",
            "status",
        ),
        _ntlm,
    ),
    "rdp": ZeekMap(
        "auth",
        (*_CONN_ID, "cookie", "client_name", "security_protocol", "result"),
        _rdp,
    ),
}


def log_map(log_type: str) -> ZeekMap:
    """The map of a log (``netlog`` with all fields for a log no table holds)."""
    return MAPS.get(log_type) or ZeekMap("netlog", None, _netlog(log_type))


# Fields that tell a log without ``#path`` or ``_path`` (first rule that matches wins).
_SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (name, frozenset(keys))
    for name, keys in (
        ("dns", ("query", "qtype_name")),
        ("dns", ("query", "trans_id")),
        ("conn", ("conn_state",)),
        ("conn", ("orig_bytes", "resp_bytes", "history")),
        ("http", ("method", "uri", "status_code")),
        ("http", ("method", "host", "uri")),
        ("ssl", ("ssl_history",)),
        ("ssl", ("server_name", "cipher")),
        ("ssl", ("version", "cipher", "established")),
        ("smb_mapping", ("share_type",)),
        ("smb_files", ("fuid", "action", "name")),
        ("x509", ("certificate.subject",)),
        ("x509", ("fingerprint", "certificate.serial")),
        ("files", ("fuid", "seen_bytes")),
        ("files", ("fuid", "mime_type", "analyzers")),
        ("weird", ("name", "addl", "notice")),
        ("rdp", ("cookie", "security_protocol")),
        ("kerberos", ("request_type", "client", "service")),
        ("ntlm", ("server_nb_computer_name",)),
        ("ntlm", ("username", "hostname", "domainname")),
    )
)


def infer_log_type(fields: Collection[str]) -> str:
    """The Zeek log a set of field names belongs to (``unknown`` when none fits)."""
    present = set(fields)
    for name, keys in _SIGNATURES:
        if keys <= present:
            return name
    return "unknown"
