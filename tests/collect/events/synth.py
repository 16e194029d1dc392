"""Large EVTX files made of real chunks, for the flat-memory test and the ingest benchmark.

A chunk of an EVTX file is self-contained (its own string and template tables), so real chunks
from the corpus, concatenated after a file header, make a valid file of any size. Each record is
renumbered (record header id, chunk header ranges, both CRC32 checksums recomputed) so that
every generated file, and every record in it, is distinct: the same bytes twice would be one
evidence file to the ingest (known by SHA-256), and duplicated record ids would make the
per-chunk accounting meaningless. What the records *say* (their BinXML, including
``System/EventRecordID``) is left as it was: these are real events, repeated.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

from seawall.collect.events.evtxfile import (
    CHUNK_MAGIC,
    CHUNK_SIZE,
    FILE_MAGIC,
    HEADER_SIZE,
)

_RECORD_MAGIC = b"\x2a\x2a\x00\x00"


def real_chunks(paths: Iterable[Path]) -> list[bytes]:
    """Every whole chunk with records of the given EVTX files."""
    chunks: list[bytes] = []
    for path in paths:
        data = path.read_bytes()
        if not data.startswith(FILE_MAGIC):
            continue
        for offset in range(HEADER_SIZE, len(data) - CHUNK_SIZE + 1, CHUNK_SIZE):
            chunk = data[offset : offset + CHUNK_SIZE]
            first, last = struct.unpack_from("<QQ", chunk, 24)
            if chunk.startswith(CHUNK_MAGIC) and first <= last and _records(chunk):
                chunks.append(chunk)
    return chunks


def _records(chunk: bytes | bytearray) -> list[int]:
    """Offsets of the chunk's records, walked from the first to its free space."""
    free = struct.unpack_from("<I", chunk, 48)[0]
    offsets = []
    position = 512
    while (
        position + 24 <= min(free, CHUNK_SIZE) and chunk[position : position + 4] == _RECORD_MAGIC
    ):
        size = struct.unpack_from("<I", chunk, position + 4)[0]
        if size < 24 or position + size > CHUNK_SIZE:
            break
        offsets.append(position)
        position += size
    return offsets


def renumbered(chunk: bytes, first_id: int) -> tuple[bytes, int]:
    """The chunk with its records numbered from ``first_id``; returns it and its record count."""
    out = bytearray(chunk)
    offsets = _records(out)
    for index, position in enumerate(offsets):
        struct.pack_into("<Q", out, position + 8, first_id + index)
    last_id = first_id + len(offsets) - 1
    struct.pack_into("<QQQQ", out, 8, first_id, last_id, first_id, last_id)
    free = struct.unpack_from("<I", out, 48)[0]
    struct.pack_into("<I", out, 52, zlib.crc32(out[512:free]))
    struct.pack_into("<I", out, 124, zlib.crc32(bytes(out[:120]) + bytes(out[128:512])))
    return bytes(out), len(offsets)


def write_evtx(target: Path, chunks: list[bytes], size: int, first_id: int = 1) -> int:
    """Write an EVTX file of about ``size`` bytes (at least one chunk) cycling ``chunks``;
    returns how many records it holds."""
    count = max(1, (size - HEADER_SIZE) // CHUNK_SIZE)
    next_id = first_id
    with target.open("wb") as handle:
        handle.write(b"\0" * HEADER_SIZE)
        for number in range(count):
            chunk, records = renumbered(chunks[number % len(chunks)], next_id)
            handle.write(chunk)
            next_id += records
        header = bytearray(HEADER_SIZE)
        header[:8] = FILE_MAGIC
        # first and last chunk number, next record id, header size, minor and major version,
        # header block size, chunk count (16 bits: a file over 4 GiB outgrows it), flags
        struct.pack_into(
            "<QQQIHHHH",
            header,
            8,
            0,
            count - 1,
            next_id,
            128,
            1,
            3,
            HEADER_SIZE,
            min(count, 0xFFFF),
        )
        struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
        handle.seek(0)
        handle.write(header)
    return next_id - first_id
