"""The EVTX file structure around the parser: what the file is, and which records it lost.

An EVTX file is a 4 KiB header (``ElfFile\\0``) and 64 KiB chunks (``ElfChnk\\0``), each of
which names the first and last record id it holds. The Rust parser reads the chunks it can and
reports a chunk or record it cannot parse, but some losses it does not report: a file cut short
inside a chunk (the partial chunk is dropped), or the rest of a chunk after a corrupt record
header. Reading the chunk headers ourselves (512 bytes per 64 KiB, a small fraction of the
parse) lets every lost record be counted and placed: a warning per chunk with its offset and
the record ids it should hold. The chunk table is a few bytes per 64 KiB chunk (1.5 MB for a
4 GiB file), the only thing kept for the whole file.

Offsets are Python integers end to end, and the parser iterates chunks until the end of the
file (it does not trust the header's 16-bit chunk count), so files over 4 GiB read whole:
``benchmarks/evtx_ingest.py --large`` builds one and checks it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seawall.errors import BadInputError

FILE_MAGIC = b"ElfFile\0"
CHUNK_MAGIC = b"ElfChnk\0"
HEADER_SIZE = 4096
CHUNK_SIZE = 65536
_CHUNK_HEADER = struct.Struct("<8sQQQQ")  # magic, first/last record number, first/last id
# The most records a 64 KiB chunk can hold (a record is at least 28 bytes); a chunk header that
# claims more is corrupt and its range is not trusted.
_MAX_RECORDS = CHUNK_SIZE // 24


def looks_like(head: bytes) -> str:
    """A few words on what a file that is not EVTX looks like, for the refusal."""
    if not head:
        return "it is empty"
    if head.startswith(FILE_MAGIC):
        return "it is an EVTX file: read it with 'seawall collect evtx'"
    if head.startswith(b"\x1f\x8b"):
        return "it is gzip-compressed"
    if head.startswith(b"PK\x03\x04"):
        return "it is a zip archive"
    if head.startswith(b"MZ"):
        return "it is a Windows executable"
    if head.startswith(b"\xd4\xc3\xb2\xa1") or head.startswith(b"\x0a\x0d\x0d\x0a"):
        return "it is a packet capture"
    if head.startswith(b"LfLe") or head[4:8] == b"LfLe":
        return "it is a legacy Windows XP/2003 .evt log, not EVTX"
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return "it looks like JSON (read JSON exports with 'seawall collect events')"
    if b"\0" in head[:512]:
        return "it looks binary"
    text = head[:512].decode("utf-8", errors="replace")
    first = text.splitlines()[0][:80] if text.splitlines() else ""
    return f"its first line is {first!r}"


def check_header(path: Path, display: str) -> None:
    """Refuse a file that is not EVTX (``BadInputError``, saying what it looks like)."""
    with path.open("rb") as handle:
        head = handle.read(512)
    if not head.startswith(FILE_MAGIC):
        raise BadInputError(f"not an EVTX file ({looks_like(head)})", display)


@dataclass(slots=True)
class Chunk:
    number: int
    offset: int
    first: int
    last: int
    size: int
    """Bytes of the chunk present in the file (less than CHUNK_SIZE: the file is cut short)."""

    @property
    def expected(self) -> int:
        return self.last - self.first + 1


@dataclass(slots=True)
class ChunkMap:
    """Every chunk's record-id range, and how many of its records the parser gave."""

    size: int
    next_record: int = 0
    """The file header's next record id: ids below it should be in the file (a header only
    lags behind its chunks in a file copied while in use, never runs ahead)."""
    chunks: list[Chunk] = field(default_factory=list)
    unreadable: list[tuple[int, int]] = field(default_factory=list)
    """(number, offset) of chunks whose header is neither a chunk nor empty."""
    _firsts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    _seen: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def read(cls, path: Path) -> ChunkMap:
        size = path.stat().st_size
        table = cls(size)
        with path.open("rb", buffering=0) as handle:
            header = handle.read(32)
            if len(header) == 32:
                table.next_record = struct.unpack_from("<Q", header, 24)[0]
            number = 0
            offset = HEADER_SIZE
            while offset < size:
                handle.seek(offset)
                head = handle.read(_CHUNK_HEADER.size)
                present = min(CHUNK_SIZE, size - offset)
                if head.startswith(CHUNK_MAGIC) and len(head) == _CHUNK_HEADER.size:
                    _, _, _, first, last = _CHUNK_HEADER.unpack(head)
                    if first <= last and last - first < _MAX_RECORDS:
                        table.chunks.append(Chunk(number, offset, first, last, present))
                    else:
                        table.unreadable.append((number, offset))
                elif head.strip(b"\0"):
                    table.unreadable.append((number, offset))
                number += 1
                offset += CHUNK_SIZE
        table.chunks.sort(key=lambda c: c.first)
        table._firsts = np.array([c.first for c in table.chunks], np.uint64)
        table._seen = np.zeros(len(table.chunks), np.int64)
        return table

    def offset_of(self, number: int) -> int:
        return HEADER_SIZE + number * CHUNK_SIZE

    def count(self, ids: np.ndarray) -> int:
        """Count records the parser gave (by record id) against their chunks; returns the
        file offset reached (the end of the chunk of the last id), for progress."""
        if not len(ids) or not len(self.chunks):
            return 0
        where = np.searchsorted(self._firsts, ids, side="right") - 1
        inside = where >= 0
        where = where[inside]
        np.add.at(self._seen, where, 1)
        last = int(where[-1]) if len(where) else 0
        return self.chunks[last].offset + self.chunks[last].size

    def losses(self, warned: dict[int, int]) -> list[tuple[str, str]]:
        """(location suffix, message) for each chunk that gave fewer records than it holds,
        beyond the ``warned`` records the parser already reported (count per chunk index)."""
        found: list[tuple[str, str]] = []
        for index, chunk in enumerate(self.chunks):
            missing = chunk.expected - int(self._seen[index]) - warned.get(index, 0)
            if missing <= 0:
                continue
            where = f"@{chunk.offset:#x}"
            if chunk.size < CHUNK_SIZE:
                message = (
                    f"the file ends inside chunk {chunk.number} ({chunk.size:,} of"
                    f" {CHUNK_SIZE:,} bytes): {missing:,} of its {chunk.expected:,} records"
                    f" (ids {chunk.first}-{chunk.last}) are lost"
                )
            else:
                message = (
                    f"chunk {chunk.number}: {missing:,} of its {chunk.expected:,} records (ids"
                    f" {chunk.first}-{chunk.last}) could not be read"
                )
            found.append((where, message))
        last = max((c.last for c in self.chunks), default=0)
        # (a corrupt header claiming billions more is not believed)
        if self.chunks and last + 1 < self.next_record < last + (1 << 32):
            found.append(
                (
                    "",
                    f"the file header names records up to {self.next_record - 1} but its chunks"
                    f" end at {last}: the file was cut short, {self.next_record - 1 - last:,}"
                    " records are missing",
                )
            )
        return found

    def index_of_number(self, number: int) -> int | None:
        """The index in ``chunks`` of the chunk numbered ``number`` (its place in the file)."""
        for index, chunk in enumerate(self.chunks):
            if chunk.number == number:
                return index
        return None

    def chunk_index_of(self, record_id: int) -> int | None:
        index = int(np.searchsorted(self._firsts, np.uint64(record_id), side="right")) - 1
        if index < 0 or record_id > self.chunks[index].last:
            return None
        return index
