"""Evidence inside compressed files: gzip, zip and tar (plain or gzip), told by content.

Exports arrive compressed (``dns.log.gz``, a zip of a Velociraptor collection, a KAPE
``.tar.gz``): a reader sees each logical stream the same way through :func:`streams`. Archives
are told by their magic bytes, never by their name. Everything is streamed (memory stays flat
whatever the decompressed size), members are read in archive order, and an archive inside an
archive is *not* opened (a nested zip bomb cannot unfold); such a member is passed on as it is.
Member names come from the archive (hostile): they are only ever used as labels, never as paths
to write to. A corrupt archive costs what is left of it, with a warning.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from seawall.collect.base import Mediator

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
_TAR_MAGIC_OFFSET = 257
# Streams are buffered this much, so a reader can peek at a stream's head to tell its format.
BUFFER_BYTES = 1 << 20


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Stream:
    """One logical evidence stream: ``label`` names it in locations (``file`` or
    ``file!member``); ``handle`` reads its decompressed bytes."""

    label: str
    member: str | None
    handle: io.BufferedReader[Any]


def _is_tar(head: bytes) -> bool:
    return head[_TAR_MAGIC_OFFSET : _TAR_MAGIC_OFFSET + 5] == b"ustar"


def kind_of(path: Path) -> str:
    """``gzip``, ``zip`` or ``plain`` by the file's first bytes."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    return "plain"


def streams(path: Path, display: str, mediator: Mediator) -> Iterator[Stream]:
    """Every logical stream of ``path``: the file itself, a gzip's content, each regular member
    of a zip or of a (gzipped) tar. Corruption is a warning at the member and the rest goes on."""
    kind = kind_of(path)
    if kind == "zip":
        yield from _zip_members(path, display, mediator)
        return
    if kind == "plain":
        with path.open("rb", buffering=0) as raw, io.BufferedReader(raw, BUFFER_BYTES) as handle:
            yield Stream(display, None, handle)
        return
    with gzip.open(path, "rb") as inner:
        head = _peek(inner, 512)
        if _is_tar(head):
            yield from _tar_members(path, display, mediator)
        else:
            yield Stream(display, None, guarded(inner, display, mediator))


def _peek(handle: gzip.GzipFile, size: int) -> bytes:
    try:
        head = handle.read(size)
    except (OSError, EOFError, zlib.error):
        head = b""
    handle.seek(0)
    return head


def _zip_members(path: Path, display: str, mediator: Mediator) -> Iterator[Stream]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        mediator.warn(display, f"not a readable zip archive: {error}")
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            label = f"{display}!{info.filename}"
            try:
                with archive.open(info) as member:
                    yield Stream(label, info.filename, guarded(member, label, mediator))
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as error:
                mediator.warn(label, f"cannot read this member: {error}")


def _tar_members(path: Path, display: str, mediator: Mediator) -> Iterator[Stream]:
    try:  # a stream: members in order, nothing cached
        archive = tarfile.open(path, mode="r|*")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError, EOFError) as error:
        mediator.warn(display, f"not a readable tar archive: {error}")
        return
    with archive:
        try:
            for info in archive:
                if not info.isfile():
                    continue
                label = f"{display}!{info.name}"
                member: IO[bytes] | None = archive.extractfile(info)
                if member is not None:
                    yield Stream(label, info.name, guarded(member, label, mediator))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            mediator.warn(display, f"archive ends early or is corrupt: {error}")


class _Guarded(io.RawIOBase):
    """A decompressing stream whose corruption or truncation ends it with a warning instead of
    an exception in the middle of a reader."""

    def __init__(self, inner: Readable, label: str, mediator: Mediator) -> None:
        super().__init__()
        self.inner = inner
        self.label = label
        self.mediator = mediator
        self.broken = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.broken:
            return 0
        try:
            data = self.inner.read(len(buffer))
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError) as error:
            self.broken = True
            self.mediator.warn(self.label, f"compressed data ends early or is corrupt: {error}")
            return 0
        buffer[: len(data)] = data
        return len(data)


def guarded(inner: Readable, label: str, mediator: Mediator) -> io.BufferedReader[Any]:
    """``inner`` buffered, its decompression errors turned into one warning and an end."""
    return io.BufferedReader(_Guarded(inner, label, mediator), buffer_size=BUFFER_BYTES)
