"""Firewall and flow exports as CSV into ``conn``, by a column mapping file (``--mapping``).

Every firewall writes its own columns, so none is guessed: a YAML file maps CSV columns (by the
header's names) to ``conn`` columns, optionally translates values (``6`` → ``tcp``), and says how
times are written. The format is only used by name: ``--format flow-csv --mapping FILE``.
Example (see the README's "Network logs")::

    delimiter: ","            # default ","
    time_format: auto         # auto (epoch s/ms or ISO 8601), epoch, epoch_ms, iso, or strftime
    columns:                  # conn column: CSV column
      time: start_time
      end_time: end_time      # optional: the duration is end - start
      client_ip: src
      client_port: sport
      server_ip: dst
      server_port: dport
      proto: protocol
      bytes_out: sent_bytes
      bytes_in: rcvd_bytes
      action: action
    values:
      proto: {"6": tcp, "17": udp, "1": icmp}

A mapping error is a bad-input error at ``mapping.yml:line``; a CSV line that does not fit (wrong
number of fields, a bad number, address or time) is a warning at ``file:line``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from seawall.collect.archives import Stream
from seawall.collect.base import Batch, Mediator
from seawall.collect.lines import Lines
from seawall.collect.logs import LogFormat, LogOptions, register
from seawall.collect.logs.common import Clock, Rows, TimeOptions, canonical_ip, flushed, text_lines
from seawall.errors import BadInputError, UsageError
from seawall.yamldoc import parse_model, read_bounded_utf8

ConnColumn = Literal[
    "time", "end_time", "client_ip", "client_port", "server_ip", "server_port", "proto",
    "service", "duration", "bytes_out", "bytes_in", "packets_out", "packets_in", "state",
    "action", "uid",
]  # fmt: skip
_INTEGERS = {"client_port", "server_port", "bytes_out", "bytes_in", "packets_out", "packets_in"}
_ADDRESSES = {"client_ip", "server_ip"}
MAX_MAPPING_BYTES = 1 << 20


class FlowMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: str = ","
    time_format: str = "auto"
    timezone: str | None = None
    columns: dict[ConnColumn, str]
    values: dict[ConnColumn, dict[str, str]] = {}

    @model_validator(mode="after")
    def _required(self) -> FlowMapping:
        missing = [c for c in ("time", "client_ip", "server_ip") if c not in self.columns]
        if missing:
            raise ValueError(f"columns must map {', '.join(missing)}")
        if len(self.delimiter) != 1:
            raise ValueError("delimiter must be one character")
        return self


def load_mapping(path: Path) -> FlowMapping:
    display = str(path)
    try:
        data = path.read_bytes()[: MAX_MAPPING_BYTES + 1]
    except OSError as error:
        raise BadInputError(f"cannot read the mapping: {error.strerror}", display) from None
    text = read_bounded_utf8(data, display, MAX_MAPPING_BYTES, noun="mapping")
    return parse_model(
        text,
        display,
        FlowMapping,
        max_nodes=10_000,
        noun="mapping",
        not_mapping="a flow mapping must be a YAML mapping (columns: …)",
    )


def _time(text: str, how: str, clock: Clock) -> datetime:
    value = text.strip()
    if how in ("epoch", "epoch_ms") or (how == "auto" and value.replace(".", "", 1).isdigit()):
        seconds = float(value)
        if how == "epoch_ms" or (how == "auto" and seconds > 1e11):
            seconds /= 1000
        return datetime.fromtimestamp(seconds, UTC)
    if how in ("auto", "iso"):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        parsed = datetime.strptime(value, how)
    return parsed.astimezone(UTC) if parsed.tzinfo else clock.local(parsed)


class FlowCsvReader:
    def __init__(self, options: LogOptions) -> None:
        path = options.settings.get("mapping")
        if path is None:
            raise UsageError("--format flow-csv needs --mapping FILE (see the README)")
        self.mapping = load_mapping(Path(path))
        settings = dict(options.settings)
        if self.mapping.timezone and "timezone" not in settings:
            settings["timezone"] = self.mapping.timezone
        self.time_options = TimeOptions.of(settings)

    def read_stream(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]:
        mapping = self.mapping
        rows = Rows("conn", stream.label if stream.member is not None else None)
        clock = Clock(self.time_options, stream.label, mediator)
        lines = Lines(stream.handle, stream.label, mediator)
        index: dict[str, int] = {}
        for line in text_lines(lines):
            try:
                fields = next(csv.reader([line], delimiter=mapping.delimiter), [])
            except csv.Error as error:
                mediator.warn(lines.where, f"not CSV ({error}): line skipped")
                continue
            if not index:
                names = [f.strip() for f in fields]
                missing = [c for c in mapping.columns.values() if c not in names]
                if missing:
                    raise BadInputError(
                        f"the header has no column {', '.join(map(repr, missing))} that the"
                        " mapping names",
                        lines.where,
                    )
                index = {n: i for i, n in enumerate(names)}
                width = len(names)
                continue
            if not line.strip():
                mediator.warn(lines.where, "empty line: skipped")
                continue
            if len(fields) != width:
                mediator.warn(lines.where, f"{len(fields)} fields where the header has {width}")
                continue
            try:
                row = self._row(fields, index, clock)
            except ValueError as error:
                mediator.warn(lines.where, f"{error}: line skipped")
                continue
            row["record_ref"] = str(lines.number)
            rows.add(row)
            if rows.full():
                yield from flushed([rows], lines.position)
        yield from flushed([rows], lines.position)

    def _row(self, fields: list[str], index: dict[str, int], clock: Clock) -> dict[str, Any]:
        mapping = self.mapping
        row: dict[str, Any] = {}
        for column, name in mapping.columns.items():
            raw = fields[index[name]].strip()
            value: Any = mapping.values.get(column, {}).get(raw, raw)
            if value in ("", "-"):
                continue
            if column in ("time", "end_time"):
                try:
                    value = _time(value, mapping.time_format, clock)
                except ValueError:
                    raise ValueError(f"{name} {raw!r} is not a time") from None
            elif column in _ADDRESSES:
                address = canonical_ip(value)
                if address is None:
                    raise ValueError(f"{name} {raw!r} is not an IP address")
                value = address
            elif column in _INTEGERS:
                if not value.isdigit():
                    raise ValueError(f"{name} {raw!r} is not a whole number")
                value = int(value)
            elif column == "duration":
                value = float(value)
            elif column == "proto":
                value = value.lower()
            row[column] = value
        end = row.pop("end_time", None)
        if end is not None and "time" in row and "duration" not in row:
            row["duration"] = (end - row["time"]).total_seconds()
        return row


register(
    LogFormat(
        "flow-csv",
        "firewall / flow CSV with a column mapping file (--mapping): by name only",
        ("conn",),
        FlowCsvReader,
        None,
    )
)
