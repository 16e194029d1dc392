"""JSON records from a stream, one at a time, with bounded memory.

Exports of sign-in logs come in three JSON shapes: JSON lines (one object per line), a JSON
array of objects, and Microsoft Graph's page ``{"@odata.context": …, "value": [ … ]}``. A
Graph export of a busy tenant is hundreds of megabytes in one document, so the records are
decoded one by one from a sliding buffer (the standard library's C decoder on each record), and
memory is bounded by the largest record, not by the file. A record that is not valid JSON in
JSON lines costs that line (a warning); inside an array the rest of the array cannot be
re-synchronised, so reading stops there with a warning at the record.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from seawall.collect.base import Mediator
from seawall.collect.lines import Lines
from seawall.errors import BadInputError

CHUNK_BYTES = 1 << 20
MAX_RECORD_CHARS = 16 * 1024 * 1024
_WHITESPACE = " \t\r\n"


@dataclass(frozen=True, slots=True)
class Record:
    """One JSON value read from the stream; ``where`` locates it (``file:line``, ``file#n``)."""

    value: Any
    where: str
    position: int
    """Bytes of the stream consumed so far (for progress)."""


class _Cursor:
    """Decoded text of a byte stream, read in chunks, that a parser walks forward."""

    def __init__(self, handle: BinaryIO, label: str) -> None:
        self.handle = handle
        self.label = label
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.text = ""
        self.pos = 0
        self.eof = False
        self.consumed = 0
        self.json = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.handle.read(CHUNK_BYTES)
        self.consumed += len(chunk)
        try:
            decoded = self.decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            raise BadInputError(f"not UTF-8: {error.reason}", self.label) from None
        if not chunk:
            self.eof = True
        # Drop what was parsed already, so the buffer holds one record at most.
        self.text = self.text[self.pos :] + decoded
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace ('' at the end)."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._more():
                return ""

    def expect(self, chars: str) -> str:
        found = self.peek()
        if not found or found not in chars:
            what = repr(found) if found else "the end of the input"
            raise ValueError(f"expected one of {chars!r}, found {what}")
        self.pos += 1
        return found

    def value(self) -> Any:
        """Decode the JSON value at the cursor, reading more input until it is complete."""
        self.peek()
        while True:
            try:
                value, end = self.json.raw_decode(self.text, self.pos)
            except json.JSONDecodeError:
                if len(self.text) - self.pos > MAX_RECORD_CHARS:
                    raise ValueError(
                        f"a record longer than {MAX_RECORD_CHARS} characters"
                    ) from None
                if not self._more():
                    raise
                continue
            # A number at the end of the buffer may go on in the next chunk.
            if end < len(self.text) or self.eof:
                self.pos = end
                return value
            if not self._more():
                self.pos = end
                return value


def _array(cursor: _Cursor, label: str, mediator: Mediator) -> Iterator[Record]:
    index = 0
    cursor.expect("[")
    if cursor.peek() == "]":
        cursor.pos += 1
        return
    while True:
        index += 1
        where = f"{label}#{index}"
        try:
            value = cursor.value()
        except ValueError as error:
            mediator.warn(where, f"invalid JSON, the rest of the array is skipped: {error}")
            return
        yield Record(value, where, cursor.consumed)
        try:
            if cursor.expect(",]") == "]":
                return
        except ValueError as error:
            mediator.warn(where, f"invalid JSON after this record, the rest is skipped: {error}")
            return


def _document(cursor: _Cursor, label: str, mediator: Mediator, key: str) -> Iterator[Record]:
    """An object: the records of its ``key`` array (Graph's ``value``), or the object itself
    when it has no such array."""
    start = cursor.pos
    cursor.expect("{")
    if cursor.text.find(f'"{key}"', cursor.pos) < 0 and cursor.eof:
        cursor.pos = start
        yield Record(cursor.value(), f"{label}#1", cursor.consumed)
        return
    found = False
    while True:
        if cursor.peek() == "}":
            cursor.pos += 1
            break
        name = cursor.value()
        cursor.expect(":")
        if name == key and cursor.peek() == "[":
            found = True
            yield from _array(cursor, label, mediator)
        else:
            cursor.value()
        if cursor.expect(",}") == "}":
            break
    if not found:
        mediator.warn(label, f"a JSON object without a {key!r} list of records: nothing read")


def json_records(
    handle: BinaryIO, label: str, mediator: Mediator, *, key: str = "value"
) -> Iterator[Record]:
    """Every record of a JSON-lines, JSON-array or ``{"value": [...]}`` stream.

    Raises ``BadInputError`` before yielding anything when the stream is not JSON at all.
    """
    cursor = _Cursor(handle, label)
    first = cursor.peek()
    if first == "[":
        yield from _array(cursor, label, mediator)
        return
    if first != "{":
        what = repr(first) if first else "it is empty"
        raise BadInputError(f"not JSON records (it starts with {what})", label)
    line_end = cursor.text.find("\n", cursor.pos)
    head = cursor.text[cursor.pos : line_end if line_end >= 0 else len(cursor.text)]
    try:
        json.loads(head)
        lines_mode = True
    except json.JSONDecodeError:
        lines_mode = False
    if not lines_mode:
        try:
            yield from _document(cursor, label, mediator, key)
        except (ValueError, json.JSONDecodeError) as error:
            mediator.warn(label, f"invalid JSON, the rest is skipped: {error}")
        return
    yield from _lines(cursor, label, mediator)


def _lines(cursor: _Cursor, label: str, mediator: Mediator) -> Iterator[Record]:
    """JSON lines, from what the cursor already decoded and the rest of the stream."""
    buffered = cursor.text[cursor.pos :].encode("utf-8")
    rest = _Chained(buffered, cursor.handle)
    lines = Lines(rest, label, mediator)  # type: ignore[arg-type]
    for text in lines:
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            mediator.warn(lines.where, f"invalid JSON: {error.msg}")
            continue
        yield Record(value, lines.where, cursor.consumed - len(buffered) + lines.position)


class _Chained:
    """Bytes already read, then the rest of a stream (for ``Lines``)."""

    def __init__(self, first: bytes, handle: BinaryIO) -> None:
        self.first = first
        self.handle = handle

    def readline(self, limit: int = -1) -> bytes:
        if self.first:
            end = self.first.find(b"\n")
            cut = len(self.first) if end < 0 else end + 1
            if 0 <= limit < cut:
                cut = limit
            line, self.first = self.first[:cut], self.first[cut:]
            if line.endswith(b"\n") or self.first or (0 <= limit <= len(line)):
                return line
            more = self.handle.readline(-1 if limit < 0 else limit - len(line))
            return line + more
        return self.handle.readline(limit)
