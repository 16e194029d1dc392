"""MD5, SHA-1 and SHA-256 of one file in a single read pass, without touching the evidence.

Reading a file three times would triple the I/O on a disk image that may be far bigger than the
page cache, so the three digests are fed from the same reads. ``hashlib`` releases the GIL for
large updates, but a small file's hashing is mostly Python: the sweep runs this in worker
processes. The first bytes read are kept (``Digests.head``) so that typing the file by content
needs no second read.

Evidence is read-only: the file is opened ``O_RDONLY | O_NOATIME`` so that reading does not change
its access time (an artefact a responder may need later). Linux allows ``O_NOATIME`` only to the
file's owner (or root) and answers ``EPERM`` otherwise: the open is then retried without it, which
is the best the OS allows.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from dataclasses import dataclass

CHUNK_SIZE = 1 << 20
HEAD_BYTES = 64 * 1024
"""Bytes of the first chunk kept for content typing (libmagic, the PE header check)."""

_NOATIME = getattr(os, "O_NOATIME", 0)
# O_NONBLOCK: if a FIFO is swapped in between the walk and the open, the open must not hang.
_BASE_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW_FLAGS = _BASE_FLAGS | getattr(os, "O_NOFOLLOW", 0)


_local = threading.local()


def _buffer() -> bytearray:
    """One 1 MiB buffer per thread: allocating (and zeroing) it per file costs more than a small
    file's hashing."""
    buffer: bytearray | None = getattr(_local, "buffer", None)
    if buffer is None:
        buffer = _local.buffer = bytearray(CHUNK_SIZE)
    return buffer


class ChangedWhileReadingError(OSError):
    """The file is no longer the regular file the walk saw (swapped, truncated, replaced)."""


@dataclass(slots=True)  # not frozen: a frozen dataclass costs ~1 µs more per file to build
class Digests:
    md5: str
    sha1: str
    sha256: str
    size: int
    """Bytes actually read: differs from the walked size when the file changed meanwhile."""
    head: bytes = b""
    """The file's first ``HEAD_BYTES`` bytes (all of it when shorter)."""


def open_evidence(path: bytes, *, follow_symlinks: bool = False) -> int:
    """Open ``path`` read-only, without updating its access time where the OS allows it."""
    flags = _BASE_FLAGS if follow_symlinks else _NOFOLLOW_FLAGS
    if _NOATIME:
        try:
            return os.open(path, flags | _NOATIME)
        except PermissionError as error:
            if error.errno != errno.EPERM:  # EACCES is a real denial: retrying cannot help
                raise
    return os.open(path, flags)


def hash_file(path: bytes, *, follow_symlinks: bool = False) -> Digests:
    """Digest ``path`` in one pass of ``CHUNK_SIZE`` reads into a reused buffer."""
    fd = open_evidence(path, follow_symlinks=follow_symlinks)
    try:
        ensure_regular(fd, path)
        return hash_fd(fd)
    finally:
        os.close(fd)


def ensure_regular(fd: int, path: bytes) -> None:
    """Refuse an fd that is no longer the regular file the walk saw (swapped between the two)."""
    if os.fstat(fd).st_mode & 0o170000 != stat.S_IFREG:
        raise ChangedWhileReadingError(errno.EINVAL, "no longer a regular file", os.fsdecode(path))


def hash_fd(fd: int) -> Digests:
    """Digest what ``fd`` reads from its offset to the end of the file.

    The first read takes up to ``HEAD_BYTES`` as a new bytes object: for most files that is all
    of it, fed to the digests' constructors and kept as the head without a copy. The rest (and
    the read that finds the end) goes through the thread's reused 1 MiB buffer.
    """
    head = os.read(fd, HEAD_BYTES)
    md5 = hashlib.md5(head, usedforsecurity=False)
    sha1 = hashlib.sha1(head, usedforsecurity=False)
    sha256 = hashlib.sha256(head)
    total = len(head)
    if total:
        buffer = _buffer()
        buffers = [buffer]
        view = memoryview(buffer)
        while count := os.readv(fd, buffers):
            chunk = view[:count] if count < CHUNK_SIZE else view
            md5.update(chunk)
            sha1.update(chunk)
            sha256.update(chunk)
            total += count
    return Digests(md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest(), total, head)
