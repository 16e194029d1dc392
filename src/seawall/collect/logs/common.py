"""What the network log readers share: row batches, normalised values, times without a zone.

Every network table keeps values in one form, so that analytics join them without caring where
a row came from: IP addresses as canonical text (``ipaddress``'s: dotted IPv4, compressed
lower-case IPv6, no brackets or zone), DNS names lower-case without the trailing dot, times UTC
and time-zone aware.

Many server logs (dnsmasq, BIND, Unbound, Windows DNS debug, syslog-style lines) write local time
without a zone, some without a year. :class:`Clock` turns such times into UTC by the user's
``--timezone`` (default UTC) and ``--year`` (default: the latest year that puts the first line
no later than now; a month that goes backwards, December to January, moves to the next year),
and the reader warns once per stream saying which assumption it made.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from queue import Full, Queue
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from seawall.collect.base import Batch, Mediator
from seawall.collect.lines import Lines
from seawall.errors import UsageError
from seawall.model.tables import table

# Rows per batch a per-line reader yields (the ingest joins batches up to its own size).
BATCH_ROWS = 20_000


class Rows:
    """Rows of one table built line by line, yielded as Arrow batches of ``size`` rows.

    Values are given as Python objects under the table's column names; the batch is built with
    the table's own types, so a reader never spells out a schema.
    """

    def __init__(self, table_name: str, label: str | None = None, size: int = BATCH_ROWS) -> None:
        self.table = table_name
        self.schema = table(table_name).schema
        self.size = size
        self.label = label
        self.rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        if self.label is not None:
            row["source_file"] = self.label
        self.rows.append(row)

    def full(self) -> bool:
        return len(self.rows) >= self.size

    def batch(self, position: int | None) -> Batch | None:
        """The rows so far as one batch (None when there are none); the buffer empties."""
        if not self.rows:
            return None
        names: dict[str, None] = {}
        for row in self.rows:
            names.update(dict.fromkeys(row))
        schema = pa.schema([self.schema.field(n) for n in names])
        data = pa.Table.from_pylist(self.rows, schema)
        self.rows = []
        return Batch(self.table, data, position)


def flushed(buffers: Mapping[str, Rows] | list[Rows], position: int | None) -> Iterator[Batch]:
    """The batches of every buffer (those holding rows)."""
    for rows in buffers.values() if isinstance(buffers, Mapping) else buffers:
        batch = rows.batch(position)
        if batch is not None:
            yield batch


@lru_cache(maxsize=1 << 16)
def canonical_ip(text: str | None) -> str | None:
    """An address as canonical text, or None when ``text`` is not one (brackets, an IPv6 zone
    and an IPv4-mapped IPv6 prefix are removed). Cached: logs name the same few addresses."""
    if not text:
        return None
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    value = value.partition("%")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def dns_name(text: str | None) -> str | None:
    """A DNS name lower-case without its trailing dot(s); None when empty."""
    if text is None:
        return None
    name = text.strip().rstrip(".").lower()
    return name or None


def port(text: str | None) -> int | None:
    """A port number (0-65535) or None."""
    if text is None or not text.isdigit():
        return None
    value = int(text)
    return value if value <= 65535 else None


def integer(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if text.isdigit() or (text[:1] == "-" and text[1:].isdigit()):
        return int(text)
    return None


def zone(name: str | None) -> tzinfo:
    """The zone named by ``--timezone`` (an IANA name such as ``Europe/Paris``, ``UTC``, or a
    fixed offset ``+02:00``); a usage error names a bad one."""
    if not name or name.upper() in ("UTC", "Z"):
        return UTC
    text = name.strip()
    if text[:1] in "+-" and len(text) in (5, 6):
        digits = text[1:].replace(":", "")
        if digits.isdigit() and len(digits) == 4:
            hours, minutes = int(digits[:2]), int(digits[2:])
            sign = 1 if text[0] == "+" else -1
            return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--timezone {name!r} is not a time zone (an IANA name such as Europe/Paris, UTC,"
            " or an offset such as +02:00)"
        ) from None


@dataclass(frozen=True, slots=True)
class TimeOptions:
    """How to read times that carry no zone (and maybe no year)."""

    zone_name: str | None = None
    year: int | None = None

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> TimeOptions:
        year = settings.get("year")
        return cls(settings.get("timezone"), int(year) if year is not None else None)


class Clock:
    """Local times of one stream to UTC, by the options; warns once per stream what it assumed.

    ``local(...)`` takes a naive time that has a year; ``yearless(...)`` one that has none.
    """

    def __init__(self, options: TimeOptions, label: str, mediator: Mediator) -> None:
        self.zone = zone(options.zone_name)
        self.zone_given = options.zone_name is not None
        self.year = options.year
        self.year_given = options.year is not None
        self.label = label
        self.mediator = mediator
        self._told_zone = False
        self._told_year = False
        self._last_month = 0
        self._last: tuple[tuple[int, ...], datetime] | None = None

    def local(self, naive: datetime) -> datetime:
        if not self.zone_given and not self._told_zone:
            self._told_zone = True
            self.mediator.warn(
                self.label,
                "times carry no time zone: read as UTC (give --timezone if the log was written"
                " in another zone)",
            )
        return naive.replace(tzinfo=self.zone).astimezone(UTC)

    def at(
        self, year: int, month: int, day: int, hour: int, minute: int, second: int, micro: int = 0
    ) -> datetime:
        """A local time given by its fields, in UTC (one conversion per second of log: lines
        come in bursts within a second). Raises ``ValueError`` for an impossible date."""
        key = (year, month, day, hour, minute, second)
        if self._last is None or self._last[0] != key:
            self._last = (key, self.local(datetime(year, month, day, hour, minute, second)))
        base = self._last[1]
        return base.replace(microsecond=micro) if micro else base

    def yearless(self, month: int, day: int, hour: int, minute: int, second: float) -> datetime:
        """A ``Mon DD HH:MM:SS`` time: ``--year`` is the year of the stream's first line, else
        it is assumed (and said so)."""
        if self.year is None:
            now = datetime.now(UTC)
            self.year = now.year
            if (month, day) > (now.month, now.day):
                self.year -= 1  # a log is never from the future: last year's
        elif month < self._last_month:
            self.year += 1  # December -> January: the log went on into the next year
        if not self.year_given and not self._told_year:
            self._told_year = True
            self.mediator.warn(
                self.label,
                f"times carry no year: {self.year} assumed from today's date (give --year)",
            )
        self._last_month = month
        whole = int(second)
        return self.at(self.year, month, day, hour, minute, whole, round((second - whole) * 1e6))


MONTHS = {
    name: index
    for index, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def text_lines(lines: Lines) -> Iterator[str]:
    """The lines of ``lines``' stream decoded leniently: bytes that are not UTF-8 are kept as
    ``\\xHH`` (DNS tunnels and scanners put raw bytes in names and URLs: that is evidence, not
    a reason to drop the line). Length bounds and numbering are ``Lines``'."""
    limit = lines.max_bytes
    handle = lines.handle
    while True:
        raw: bytes = handle.readline(limit + 1)
        if not raw:
            return
        lines.number += 1
        lines.position += len(raw)
        if len(raw) > limit and not raw.endswith(b"\n"):
            while (rest := handle.readline(limit)) and not rest.endswith(b"\n"):
                lines.position += len(rest)
            lines.position += len(rest)
            lines.mediator.warn(lines.where, f"line longer than {limit} bytes: skipped")
            continue
        if lines.number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        yield raw.decode("utf-8", errors="backslashreplace").rstrip("\r\n")


_DONE = object()


def prefetched(batches: Iterator[Batch], depth: int) -> Generator[Batch, None, None]:
    """``batches`` produced in a worker thread, at most ``depth`` ahead of the consumer.

    For readers whose work is mostly in libraries that release the GIL (pyarrow's parser and
    compute functions): the next block is parsed while the ingest writes the last one. The
    batches keep their order; an exception in the worker is raised here; a consumer that stops
    early stops the worker.
    """
    queue: Queue[Any] = Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def work() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        queue.put(batch, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            item: Any = _DONE
        except BaseException as error:  # handed to the consumer, raised there
            item = error
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return
            except Full:
                continue

    worker = threading.Thread(target=work, name="seawall-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
