"""Zeek's TSV logs, as ``zeekctl`` archives them: one gzip file per log and day.

Each file starts with Zeek's header (``#separator \\x09``, ``#set_separator``,
``#empty_field``, ``#unset_field``, ``#path``, ``#open``, ``#fields``, ``#types``) and ends
with ``#close``; unset values are ``-``, empty sets ``(empty)``, times epoch seconds with
microseconds. The fields are Zeek 6.0's default ones for each log. gzip headers carry no name
and a fixed time, so the same rows give the same bytes.
"""

from __future__ import annotations

import gzip
import io
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from seawall.demo.evidence import write_bytes

FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "conn": (
        ("ts", "time"),
        ("uid", "string"),
        ("id.orig_h", "addr"),
        ("id.orig_p", "port"),
        ("id.resp_h", "addr"),
        ("id.resp_p", "port"),
        ("proto", "enum"),
        ("service", "string"),
        ("duration", "interval"),
        ("orig_bytes", "count"),
        ("resp_bytes", "count"),
        ("conn_state", "string"),
        ("local_orig", "bool"),
        ("local_resp", "bool"),
        ("missed_bytes", "count"),
        ("history", "string"),
        ("orig_pkts", "count"),
        ("orig_ip_bytes", "count"),
        ("resp_pkts", "count"),
        ("resp_ip_bytes", "count"),
        ("tunnel_parents", "set[string]"),
    ),
    "dns": (
        ("ts", "time"),
        ("uid", "string"),
        ("id.orig_h", "addr"),
        ("id.orig_p", "port"),
        ("id.resp_h", "addr"),
        ("id.resp_p", "port"),
        ("proto", "enum"),
        ("trans_id", "count"),
        ("rtt", "interval"),
        ("query", "string"),
        ("qclass", "count"),
        ("qclass_name", "string"),
        ("qtype", "count"),
        ("qtype_name", "string"),
        ("rcode", "count"),
        ("rcode_name", "string"),
        ("AA", "bool"),
        ("TC", "bool"),
        ("RD", "bool"),
        ("RA", "bool"),
        ("Z", "count"),
        ("answers", "vector[string]"),
        ("TTLs", "vector[interval]"),
        ("rejected", "bool"),
    ),
    "http": (
        ("ts", "time"),
        ("uid", "string"),
        ("id.orig_h", "addr"),
        ("id.orig_p", "port"),
        ("id.resp_h", "addr"),
        ("id.resp_p", "port"),
        ("trans_depth", "count"),
        ("method", "string"),
        ("host", "string"),
        ("uri", "string"),
        ("referrer", "string"),
        ("version", "string"),
        ("user_agent", "string"),
        ("origin", "string"),
        ("request_body_len", "count"),
        ("response_body_len", "count"),
        ("status_code", "count"),
        ("status_msg", "string"),
        ("info_code", "count"),
        ("info_msg", "string"),
        ("tags", "set[enum]"),
        ("username", "string"),
        ("password", "string"),
        ("proxied", "set[string]"),
        ("orig_fuids", "vector[string]"),
        ("orig_filenames", "vector[string]"),
        ("orig_mime_types", "vector[string]"),
        ("resp_fuids", "vector[string]"),
        ("resp_filenames", "vector[string]"),
        ("resp_mime_types", "vector[string]"),
    ),
    "ssl": (
        ("ts", "time"),
        ("uid", "string"),
        ("id.orig_h", "addr"),
        ("id.orig_p", "port"),
        ("id.resp_h", "addr"),
        ("id.resp_p", "port"),
        ("version", "string"),
        ("cipher", "string"),
        ("curve", "string"),
        ("server_name", "string"),
        ("resumed", "bool"),
        ("last_alert", "string"),
        ("next_protocol", "string"),
        ("established", "bool"),
        ("ssl_history", "string"),
        ("cert_chain_fps", "vector[string]"),
        ("client_cert_chain_fps", "vector[string]"),
        ("sni_matches_cert", "bool"),
    ),
    "ssh": (
        ("ts", "time"),
        ("uid", "string"),
        ("id.orig_h", "addr"),
        ("id.orig_p", "port"),
        ("id.resp_h", "addr"),
        ("id.resp_p", "port"),
        ("version", "count"),
        ("auth_success", "bool"),
        ("auth_attempts", "count"),
        ("direction", "enum"),
        ("client", "string"),
        ("server", "string"),
        ("cipher_alg", "string"),
        ("mac_alg", "string"),
        ("compression_alg", "string"),
        ("kex_alg", "string"),
        ("host_key_alg", "string"),
        ("host_key", "string"),
    ),
}

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def uid(rng: random.Random) -> str:
    """A connection uid as Zeek writes them (``C`` and 17 base-62 characters)."""
    return "C" + "".join(rng.choices(_BASE62, k=17))


def epoch(time: datetime) -> str:
    return f"{time.timestamp():.6f}"


def _stamp(time: datetime) -> str:
    return time.astimezone(UTC).strftime("%Y-%m-%d-%H-%M-%S")


def value(item: object) -> str:
    """One field as Zeek writes it: ``-`` unset, ``(empty)`` an empty container, booleans as
    T/F, containers joined by commas, tabs and backslashes escaped."""
    kind = type(item)
    if kind is str:
        text = str(item)
        if not text:
            return "(empty)"
        if "\\" in text or "\t" in text or "\n" in text:
            return text.replace("\\", "\\\\").replace("\t", "\\x09").replace("\n", "\\x0a")
        return text
    if kind is int:
        return str(item)
    if item is None:
        return "-"
    if kind is bool:
        return "T" if item else "F"
    if kind is float:
        return f"{item:.6f}"
    if isinstance(item, (list, tuple)):
        return ",".join(value(part) for part in item) if item else "(empty)"
    return value(str(item))


def render(
    path: str, rows: Iterable[Sequence[object]], opened: datetime, closed: datetime
) -> bytes:
    """A whole Zeek TSV log (header, rows, ``#close``)."""
    fields = FIELDS[path]
    out = io.StringIO()
    out.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n")
    out.write(f"#path\t{path}\n#open\t{_stamp(opened)}\n")
    out.write("#fields\t" + "\t".join(name for name, _ in fields) + "\n")
    out.write("#types\t" + "\t".join(kind for _, kind in fields) + "\n")
    for row in rows:
        if len(row) != len(fields):
            raise ValueError(f"{path}: {len(row)} values for {len(fields)} fields")
        out.write("\t".join(value(item) for item in row) + "\n")
    out.write(f"#close\t{_stamp(closed)}\n")
    return out.getvalue().encode("utf-8")


def gzipped(data: bytes, mtime: datetime) -> bytes:
    """gzip as ``zeekctl`` archives logs, without a file name and with a fixed time."""
    buffer = io.BytesIO()
    with gzip.GzipFile(
        filename="", mode="wb", fileobj=buffer, compresslevel=1, mtime=int(mtime.timestamp())
    ) as handle:
        handle.write(data)
    return buffer.getvalue()


Tagged = tuple[Sequence[object], str | None]
"""A row, and the ground-truth item it is evidence of (or None)."""


def write_log(
    target: Path, path: str, rows: list[Tagged], opened: datetime, closed: datetime
) -> dict[str, list[int]]:
    """Write one archived log, its rows in time order (their first value); returns the line
    numbers of each item's rows (in the uncompressed log)."""
    rows.sort(key=lambda tagged: str(tagged[0][0]))
    lines: dict[str, list[int]] = {}
    for number, (_row, item) in enumerate(rows, start=9):  # after the eight header lines
        if item is not None:
            lines.setdefault(item, []).append(number)
    data = render(path, (row for row, _item in rows), opened, closed)
    write_bytes(target, gzipped(data, closed), closed)
    return lines
