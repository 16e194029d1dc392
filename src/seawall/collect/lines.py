"""Text evidence read line by line: strictly decoded, bounded, every bad line a warning.

Text logs from a compromised host are hostile input: invalid UTF-8, giant lines, binary junk. A
line that is not UTF-8 or is longer than the bound becomes a warning at ``file:line`` and is
dropped, so one bad line never stops the file (the ``csv`` module would otherwise raise
mid-file), and memory is bounded by the longest line allowed, not by the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from seawall.collect.base import Mediator

MAX_LINE_BYTES = 1024 * 1024


class Lines:
    """The decoded lines of ``handle``; ``number`` is the last physical line read (1-based) and
    ``position`` the bytes consumed so far."""

    def __init__(
        self,
        handle: BinaryIO,
        location: str,
        mediator: Mediator,
        *,
        max_bytes: int = MAX_LINE_BYTES,
        encoding: str = "utf-8",
    ) -> None:
        self.handle = handle
        self.location = location
        self.mediator = mediator
        self.max_bytes = max_bytes
        self.encoding = encoding
        self.number = 0
        self.position = 0

    def __iter__(self) -> Iterator[str]:
        limit = self.max_bytes
        while True:
            raw: bytes = self.handle.readline(limit + 1)
            if not raw:
                return
            self.number += 1
            self.position += len(raw)
            if len(raw) > limit and not raw.endswith(b"\n"):
                while (rest := self.handle.readline(limit)) and not rest.endswith(b"\n"):
                    self.position += len(rest)
                self.position += len(rest)
                self.mediator.warn(self.where, f"line longer than {limit} bytes: skipped")
                continue
            if self.number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode(self.encoding).rstrip("\r\n")
            except UnicodeDecodeError as error:
                self.mediator.warn(self.where, f"not {self.encoding.upper()}: {error.reason}")

    @property
    def where(self) -> str:
        return f"{self.location}:{self.number}"
