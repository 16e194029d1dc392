"""Zeek logs, TSV and JSON, into ``dns``, ``conn``, ``http``, ``tls``, ``smb``, ``auth`` and
``netlog`` (see :mod:`seawall.collect.logs.zeekmaps` for which log goes where).

**TSV** is read in blocks of ``BLOCK_BYTES`` with pyarrow's CSV parser (tab-separated, no
quoting, every value as text, only the fields the log's table needs), so a 10M-line ``dns.log``
is parsed on every core without a Python loop per line. Header lines (``#separator``,
``#fields``, ``#path``, ``#close``…) are found with ``bytes.find`` and cut out, so the parser only
sees data lines and row *i* of a segment is line *first + i*: that is the row's ``record_ref``.
A segment with a bad line (wrong number of fields, not UTF-8, empty) is read again line by line
in Python: the bad lines become warnings at ``file:line`` and the rest is parsed as before.
Several header blocks in one file (``cat`` of rotated logs) are followed, each with its fields.

**JSON** (one object per line, as Zeek's JSON writer and the json-streaming-logs package write)
is read line by line; the log is ``_path`` when present, else told from the fields. Nested
objects (``{"id": {"orig_h": …}}``) are flattened with ``.``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from seawall.collect.archives import Stream
from seawall.collect.base import Batch, Mediator
from seawall.collect.lines import MAX_LINE_BYTES, Lines
from seawall.collect.logs import LogFormat, LogOptions, register
from seawall.collect.logs.common import prefetched
from seawall.collect.logs.zeekmaps import Cols, ZeekMap, infer_log_type, log_map

BLOCK_BYTES = 64 << 20
# Blocks parsed ahead of the ingest.
PREFETCH = 2
# JSON rows of one log type gathered before they become a batch.
JSON_ROWS = 20_000


class _Header:
    """The state Zeek's ``#`` lines set: separators, markers, the log's path and fields."""

    def __init__(self) -> None:
        self.separator = "\t"
        self.set_separator = ","
        self.empty = "(empty)"
        self.unset = "-"
        self.path: str | None = None
        self.fields: tuple[str, ...] | None = None
        self.types: dict[str, str] = {}

    def line(self, text: str) -> None:
        if text.startswith("#separator"):
            value = text[len("#separator") :].strip()
            self.separator = value.encode().decode("unicode_escape") if value else "\t"
            return
        key, _, value = text.partition(self.separator)
        if key == "#set_separator":
            self.set_separator = value
        elif key == "#empty_field":
            self.empty = value
        elif key == "#unset_field":
            self.unset = value
        elif key == "#path":
            self.path = value
        elif key == "#fields":
            self.fields = tuple(value.split(self.separator))
            self.types = {}
        elif key == "#types" and self.fields is not None:
            self.types = dict(zip(self.fields, value.split(self.separator), strict=False))

    @property
    def log_type(self) -> str:
        return self.path or infer_log_type(self.fields or ())


class ZeekTsvReader:
    def read_stream(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]:
        # Parsing the next block overlaps with the ingest writing the last one (pyarrow and
        # DuckDB both release the GIL): a bounded queue keeps memory at a few blocks.
        return prefetched(self._batches(stream, mediator), PREFETCH)

    def _batches(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]:
        header = _Header()
        line = [0]  # lines read so far (the blocks advance it)
        position = 0
        rest = b""
        skipping = False  # inside a line longer than MAX_LINE_BYTES
        while True:
            chunk = stream.handle.read(BLOCK_BYTES)
            if skipping and chunk:
                cut = chunk.find(b"\n")
                if cut < 0:
                    position += len(chunk)
                    continue
                position += cut + 1
                chunk = chunk[cut + 1 :]
                skipping = False
            data = rest + chunk if rest else chunk
            if chunk:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    if len(data) > MAX_LINE_BYTES:
                        line[0] += 1
                        position += len(data)
                        mediator.warn(
                            f"{stream.label}:{line[0]}",
                            f"line longer than {MAX_LINE_BYTES} bytes: skipped",
                        )
                        rest, skipping = b"", True
                    else:
                        rest = data
                    continue
                rest, data = data[cut:], data[:cut]
            elif not data:
                return
            else:
                rest = b""
            position += len(data)
            yield from self._block(data, line, header, stream, mediator, position)

    def _block(
        self,
        data: bytes,
        line: list[int],
        header: _Header,
        stream: Stream,
        mediator: Mediator,
        position: int,
    ) -> Iterator[Batch]:
        at, size = 0, len(data)
        while at < size:
            if data[at] == 0x23:  # '#': a header line
                end = data.find(b"\n", at)
                end = size if end < 0 else end + 1
                line[0] += 1
                header.line(data[at:end].decode("utf-8", "replace").rstrip("\r\n"))
                at = end
                continue
            found = data.find(b"\n#", at)
            end = size if found < 0 else found + 1
            yield from self._segment(
                memoryview(data)[at:end], line, header, stream, mediator, position
            )
            at = end

    def _segment(
        self,
        segment: memoryview,
        line: list[int],
        header: _Header,
        stream: Stream,
        mediator: Mediator,
        position: int,
    ) -> Iterator[Batch]:
        """One run of data lines; ``line`` moves past them."""
        where, first = stream.label, line[0] + 1
        if header.fields is None:
            count = _count_lines(segment)
            line[0] += count
            for offset in range(count):
                mediator.warn(f"{where}:{first + offset}", "data line before any #fields line")
            return
        fields = header.fields
        zeek_map = log_map(header.log_type)
        wanted = zeek_map.wanted(fields)
        if fields[0] not in wanted:
            wanted.insert(0, fields[0])  # an empty line shows as an empty first field
        table = _parse(segment, header, wanted)
        if table is not None and not _has_blank(table.column(fields[0])):
            line[0] += table.num_rows
            numbers = np.arange(first, first + table.num_rows, dtype=np.int64)
        else:  # a bad line somewhere: find it, warn, and parse the others
            line[0] += _count_lines(segment)
            clean, numbers = _clean_lines(bytes(segment), first, header, where, mediator)
            if not numbers.size:
                return
            table = _parse(memoryview(clean), header, wanted)
            if table is None or table.num_rows != numbers.size:  # pragma: no cover (a bug)
                raise RuntimeError(f"{where}: Zeek lines checked clean did not parse")
        yield from _batches(table, numbers, zeek_map, header, stream, mediator, position)


def _count_lines(segment: memoryview) -> int:
    data = bytes(segment)
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _has_blank(first: pa.ChunkedArray) -> bool:
    return bool(pc.any(pc.equal(first, "")).as_py())


def _parse(segment: memoryview, header: _Header, wanted: list[str]) -> pa.Table | None:
    """The segment's rows with the ``wanted`` fields as text; None when a line is bad."""
    fields = header.fields or ()
    invalid = 0

    def skip(_row: Any) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(segment)),
            read_options=pacsv.ReadOptions(column_names=list(fields), block_size=4 << 20),
            parse_options=pacsv.ParseOptions(
                delimiter=header.separator,
                quote_char=False,
                double_quote=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
                invalid_row_handler=skip,
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types=dict.fromkeys(wanted, pa.string()),
                null_values=[header.unset],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    return None if invalid else table


def _clean_lines(
    segment: bytes, first: int, header: _Header, where: str, mediator: Mediator
) -> tuple[bytes, np.ndarray[Any, np.dtype[np.int64]]]:
    """The segment's good lines (and their numbers); each bad one is a warning."""
    expected = len(header.fields or ())
    separator = header.separator.encode()
    good: list[bytes] = []
    numbers: list[int] = []
    for offset, line in enumerate(segment.rstrip(b"\n").split(b"\n")):
        number = first + offset
        line = line.rstrip(b"\r")
        problem = None
        if not line:
            problem = "empty line"
        elif line.count(separator) != expected - 1:
            problem = f"{line.count(separator) + 1} fields where #fields names {expected}"
        else:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                problem = f"not UTF-8: {error.reason}"
        if problem is not None:
            mediator.warn(f"{where}:{number}", f"{problem}: line skipped")
            continue
        good.append(line)
        numbers.append(number)
    return b"\n".join(good) + b"\n", np.array(numbers, dtype=np.int64)


def _batches(
    table: pa.Table,
    numbers: np.ndarray[Any, np.dtype[np.int64]],
    zeek_map: ZeekMap,
    header: _Header,
    stream: Stream,
    mediator: Mediator,
    position: int,
) -> Iterator[Batch]:
    cols = Cols(
        table,
        numbers,
        stream.label,
        mediator,
        empty=header.empty,
        set_separator=header.set_separator,
        types=header.types,
    )
    yield _batch(zeek_map, cols, numbers, stream, position)


def _batch(
    zeek_map: ZeekMap,
    cols: Cols,
    numbers: np.ndarray[Any, np.dtype[np.int64]],
    stream: Stream,
    position: int | None,
) -> Batch:
    columns = zeek_map.build(cols)
    columns["record_ref"] = pa.array(numbers).cast(pa.string())
    if stream.member is not None:
        columns["source_file"] = pa.repeat(pa.scalar(stream.label), cols.count)
    return Batch(zeek_map.table, pa.table(columns), position)


# -- JSON ------------------------------------------------------------------------------------------


def _flat(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _json_column(values: list[Any]) -> pa.Array:
    """One field's JSON values as Zeek's text (lists as lists of text): by Arrow when the
    values share a type, else value by value."""
    try:
        column = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        column = None
    if column is not None:
        kind = column.type
        if pa.types.is_boolean(kind):
            return pc.if_else(column, "T", "F")
        if pa.types.is_list(kind) and not pa.types.is_nested(kind.value_type):
            flat = pc.list_flatten(column)
            if pa.types.is_boolean(flat.type):
                flat = pc.if_else(flat, "T", "F")
            return pa.ListArray.from_arrays(
                column.offsets, flat.cast(pa.string()), mask=column.is_null()
            )
        if not pa.types.is_nested(kind):
            return column.cast(pa.string())
    if any(isinstance(v, list) for v in values):
        return pa.array(
            [
                None if v is None else [_text(x) for x in (v if isinstance(v, list) else [v])]
                for v in values
            ],
            pa.list_(pa.string()),
        )
    return pa.array([_text(v) for v in values], pa.string())


class ZeekJsonReader:
    def read_stream(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]:
        lines = Lines(stream.handle, stream.label, mediator)
        pending: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for text in lines:
            if not text.strip():
                mediator.warn(lines.where, "empty line: skipped")
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as error:
                mediator.warn(lines.where, f"not JSON ({error.msg}): line skipped")
                continue
            if not isinstance(obj, dict):
                mediator.warn(lines.where, "not a JSON object: line skipped")
                continue
            flat = _flat(obj) if any(type(v) is dict for v in obj.values()) else obj
            log_type = str(flat.pop("_path", "") or infer_log_type(flat))
            rows = pending.setdefault(log_type, [])
            rows.append((lines.number, flat))
            if len(rows) >= JSON_ROWS:
                yield self._batch(log_type, pending.pop(log_type), stream, mediator, lines.position)
        for log_type, rows in pending.items():
            yield self._batch(log_type, rows, stream, mediator, lines.position)

    def _batch(
        self,
        log_type: str,
        rows: list[tuple[int, dict[str, Any]]],
        stream: Stream,
        mediator: Mediator,
        position: int,
    ) -> Batch:
        zeek_map = log_map(log_type)
        names: dict[str, None] = {}
        for _, row in rows:
            names.update(dict.fromkeys(row))
        wanted = zeek_map.wanted(list(names))
        columns = {name: _json_column([row.get(name) for _, row in rows]) for name in wanted}
        numbers = np.array([n for n, _ in rows], dtype=np.int64)
        objects = [row for _, row in rows] if zeek_map.fields is None else None
        cols = Cols(pa.table(columns), numbers, stream.label, mediator, empty=None, objects=objects)
        return _batch(zeek_map, cols, numbers, stream, position)


# -- formats -------------------------------------------------------------------------------------


def sniff_tsv(head: bytes) -> bool:
    return head.startswith(b"#separator")


def sniff_json(head: bytes) -> bool:
    first = head.lstrip().split(b"\n", 1)[0]
    if not first.startswith(b"{"):
        return False
    try:
        obj = json.loads(first)
    except ValueError:
        return False
    if not isinstance(obj, dict) or "ts" not in obj:
        return False
    keys = set(_flat(obj))
    return bool(keys & {"_path", "uid", "id.orig_h", "fuid"}) or "fingerprint" in keys


def _tsv(_options: LogOptions) -> ZeekTsvReader:
    return ZeekTsvReader()


def _json(_options: LogOptions) -> ZeekJsonReader:
    return ZeekJsonReader()


_TABLES = ("dns", "conn", "http", "tls", "smb", "auth", "netlog")

register(
    LogFormat(
        "zeek",
        "Zeek TSV logs (#separator header): dns conn http ssl smb kerberos ntlm rdp; others kept"
        " whole in netlog",
        _TABLES,
        _tsv,
        sniff_tsv,
    )
)
register(
    LogFormat(
        "zeek-json",
        "Zeek JSON logs (one object per line, _path or told from the fields)",
        _TABLES,
        _json,
        sniff_json,
    )
)
