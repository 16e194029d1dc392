"""JSON values one at a time from a byte stream: NDJSON, a JSON array, or objects one after
another (pretty-printed or not), in bounded memory.

Exports come in every one of these shapes (Winlogbeat and Velociraptor write one object a line,
``ConvertTo-Json`` one indented array, EvtxECmd one object a line), sometimes with a byte-order
mark, and PowerShell 5 writes UTF-16. Each value is decoded with the standard library's scanner
(``raw_decode``) from a sliding text buffer, so memory is one value plus one read, whatever the
file's size. A value that does not parse is a warning at its line (``file:line``) and reading
resumes at the next line that starts a value; a value larger than ``MAX_VALUE`` characters is
skipped the same way (a 1 GB line must not be held).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from seawall.collect.archives import Readable
from seawall.collect.base import Mediator

READ_SIZE = 1 << 20
MAX_VALUE = 64 << 20
_WHITESPACE = " \t\r\n,"
_DECODER = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class Value:
    """One top-level JSON value (or array element): where it starts, its text, and its value."""

    line: int
    text: str
    value: Any


def _decoder_for(head: bytes) -> codecs.IncrementalDecoder:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return codecs.getincrementaldecoder("utf-16")(errors="replace")
    if len(head) >= 4 and head[1:2] == b"\0" and head[3:4] == b"\0":  # UTF-16LE without a BOM
        return codecs.getincrementaldecoder("utf-16-le")(errors="replace")
    return codecs.getincrementaldecoder("utf-8-sig")(errors="replace")


class JsonValues:
    """Iterates the JSON values of ``handle``; ``consumed`` is the bytes read so far."""

    def __init__(self, handle: Readable, label: str, mediator: Mediator, head: bytes) -> None:
        self.handle = handle
        self.label = label
        self.mediator = mediator
        self.decoder = _decoder_for(head)
        self.consumed = 0
        self.buffer = ""
        self.position = 0
        self.line = 1  # the line number at ``position``
        self.eof = False
        self.top_array = False

    def _more(self) -> bool:
        """Append the next read to the buffer (dropping what was consumed); False at the end."""
        if self.eof:
            return False
        data = self.handle.read(READ_SIZE)
        self.consumed += len(data)
        text = self.decoder.decode(data, final=not data)
        if not data:
            self.eof = True
        self.buffer = self.buffer[self.position :] + text
        self.position = 0
        return bool(text) or not self.eof

    def _advance(self, to: int) -> None:
        self.line += self.buffer.count("\n", self.position, to)
        self.position = to

    def _skip_space(self) -> bool:
        """Move past whitespace and separators; False when the stream is exhausted."""
        while True:
            buffer, index = self.buffer, self.position
            while index < len(buffer) and buffer[index] in _WHITESPACE:
                index += 1
            self._advance(index)
            if index < len(buffer):
                return True
            if not self._more():
                return False

    def _resync(self, message: str) -> None:
        """Warn at the current line, then move to the next line that starts a value (counting
        the lines passed over, which the warning names)."""
        where = f"{self.label}:{self.line}"
        passed = 0
        while True:
            newline = self.buffer.find("\n", self.position)
            if newline < 0:
                self._advance(len(self.buffer))
                if self._more():
                    continue
                break
            self._advance(newline + 1)
            if not self._skip_space():
                break
            if self.buffer[self.position] in "{[":
                break
            passed += 1
        if passed:
            message += f" (and {passed} more line{'s' if passed > 1 else ''} before the next value)"
        self.mediator.warn(where, message)

    def __iter__(self) -> Iterator[Value]:
        while self._skip_space():
            char = self.buffer[self.position]
            if char == "[" and not self.top_array:
                self.top_array = True  # an array of events: its elements are the values
                self._advance(self.position + 1)
                continue
            if char == "]" and self.top_array:
                self.top_array = False
                self._advance(self.position + 1)
                continue
            value = self._decode()
            if value is not None:
                yield value

    def _decode(self) -> Value | None:
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as error:
                # cut by the end of the buffer (near it: an escape or a literal may be cut; a
                # string cannot span lines, so an unterminated one ran into the end), or wrong
                # where it stands (a retry with more text fails again, away from the end)
                incomplete = error.pos >= len(self.buffer) - 16 or error.msg.startswith(
                    "Unterminated string"
                )
                room = len(self.buffer) - self.position < MAX_VALUE
                if incomplete and not self.eof and room and self._more():
                    continue
                if len(self.buffer) - self.position >= MAX_VALUE:
                    self._resync(f"a JSON value of more than {MAX_VALUE:,} characters: skipped")
                else:
                    self._resync(f"not valid JSON ({error.msg}): skipped")
                return None
            cut = end >= len(self.buffer) and isinstance(value, int | float)
            if cut and not self.eof and self._more():  # a number cut by the read: read it whole
                continue
            found = Value(self.line, self.buffer[self.position : end], value)
            self._advance(end)
            return found
