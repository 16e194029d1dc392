"""Content features of one file, extracted in the same open as its hashes.

The sweep reads every file once to hash it; typing it by content and, for a PE, reading its
version info and signature must not cost a second open (nor a second access-time risk, nor a
second chance for the file to change in between). So the hashing pass keeps the file's head, the
head decides the type, and only a PE file (MZ and a PE header: a small share of most trees) is
read again, in full, through the same descriptor for lief and signify.

A server-side script under a well-known web root is also assessed as a possible web shell (its
bytes are small and already at hand), so a hunt can judge it from the case alone.

``CONTENT_COLUMNS`` lists the ``files`` columns this fills: they depend on the bytes (and, for
the web-shell assessment, on the file lying under a web root), so an incremental re-sweep
re-uses them for an unchanged file exactly like its hashes.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field

from seawall.features.filetype import FileType, identify, is_pe
from seawall.features.hashing import Digests, ensure_regular, hash_fd, open_evidence
from seawall.features.pe import MAX_PE_BYTES, PeInfo, inspect_pe
from seawall.features.webshell import MAX_BYTES as WEBSHELL_MAX_BYTES
from seawall.features.webshell import assess, assessment_to_json, is_web_script

CONTENT_COLUMNS = (
    "file_type",
    "pe_original_name",
    "pe_company",
    "pe_product",
    "pe_description",
    "imphash",
    "signature_status",
    "signer",
    "webshell",
)


@dataclass(slots=True)  # not frozen: built once per file, and a frozen one costs more
class ContentFeatures:
    file_type: FileType
    pe: PeInfo | None = None
    webshell: str | None = None
    """The web-shell assessment (JSON) of a server-side script under a web root."""

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.pe.warnings if self.pe is not None else ()

    def columns(self) -> dict[str, str | None]:
        """The ``CONTENT_COLUMNS`` values of this file."""
        return dict(zip(CONTENT_COLUMNS, self.values(), strict=True))

    def values(self) -> tuple[str | None, ...]:
        """The ``CONTENT_COLUMNS`` values of this file, in that order."""
        pe = self.pe
        if pe is None:
            return (self.file_type.label, None, None, None, None, None, None, None, self.webshell)
        return (
            self.file_type.label,
            pe.original_name,
            pe.company,
            pe.product,
            pe.description,
            pe.imphash,
            pe.signature_status,
            pe.signer,
            self.webshell,
        )


def _read_all(fd: int, size: int) -> bytes:
    """The file's bytes from offset 0 (``pread``: the descriptor's offset does not matter)."""
    parts: list[bytes] = []
    offset = 0
    while offset < size:
        part = os.pread(fd, size - offset, offset)
        if not part:
            break
        parts.append(part)
        offset += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def features_of(
    fd: int, digests: Digests, path: bytes = b"", *, webshells: bool = True
) -> ContentFeatures:
    """Type the file from ``digests.head``; for a PE, re-read it through ``fd`` and inspect it;
    for a server-side script under a web root, assess it as a possible web shell."""
    file_type = identify(digests.head)
    if not is_pe(digests.head):
        webshell = _webshell(fd, digests, path) if webshells else None
        return ContentFeatures(file_type, webshell=webshell)
    if digests.size > MAX_PE_BYTES:
        note = f"PE of {digests.size} bytes, over {MAX_PE_BYTES}: not parsed"
        return ContentFeatures(file_type, PeInfo(warnings=(note,)))
    return ContentFeatures(file_type, inspect_pe(_read_all(fd, digests.size)))


def _webshell(fd: int, digests: Digests, path: bytes) -> str | None:
    """The stored assessment of a web-root script (its head, or up to ``MAX_BYTES`` re-read)."""
    text = os.fsdecode(path)
    if not text or not is_web_script(text):
        return None
    if digests.size <= len(digests.head):
        data = digests.head
    else:
        data = _read_all(fd, min(digests.size, WEBSHELL_MAX_BYTES))
    return assessment_to_json(assess(data, text.rsplit("/", 1)[-1]))


def examine_file(
    path: bytes, *, follow_symlinks: bool = False, webshells: bool = True
) -> tuple[Digests, ContentFeatures]:
    """Hash ``path`` and extract its content features in one open, read-only and ``O_NOATIME``."""
    fd = open_evidence(path, follow_symlinks=follow_symlinks)
    try:
        ensure_regular(fd, path)
        digests = hash_fd(fd)
        return digests, features_of(fd, digests, path, webshells=webshells)
    finally:
        os.close(fd)


_UNREAD: tuple[None, ...] = (None,) * (3 + len(CONTENT_COLUMNS))


@dataclass(slots=True)
class Examined:
    """What a sweep worker sends back for a chunk of files, by column (one pickle per chunk, no
    object per file): the columns ``md5``, ``sha1``, ``sha256`` and ``CONTENT_COLUMNS``, in that
    order (``None`` for a file that could not be read), a ``note`` per file, and the exceptions by
    position: files that vanished before they could be opened (they get no row) and warnings
    ``(position, message, skipped)``."""

    columns: list[tuple[str | None, ...]]
    notes: list[str | None]
    vanished: list[int] = field(default_factory=list)
    warnings: list[tuple[int, str, bool]] = field(default_factory=list)
    hashed: int = 0
    nbytes: int = 0


def examine_chunk(
    paths: list[bytes], followed: list[bool], sizes: list[int], webshells: bool = True
) -> Examined:
    """``examine_file`` for each path (``followed``: a symlink to open, ``sizes``: what the walk
    saw): run in a sweep's worker process, so that small files (whose Python overhead exceeds
    their hashing) are typed and hashed off the walking process's GIL."""
    rows: list[tuple[str | None, ...]] = []
    notes: list[str | None] = [None] * len(paths)
    out = Examined([], notes)
    for i, (path, follow, size) in enumerate(zip(paths, followed, sizes, strict=True)):
        try:
            digests, features = examine_file(path, follow_symlinks=follow, webshells=webshells)
        except OSError as error:
            rows.append(_UNREAD)
            if error.errno == errno.ENOENT:
                out.vanished.append(i)
                continue
            message = str(error.strerror or error)
            out.warnings.append((i, f"cannot read: {message}", True))
            notes[i] = f"unreadable: {message}"
            continue
        rows.append((digests.md5, digests.sha1, digests.sha256, *features.values()))
        if features.pe is not None:
            out.warnings.extend((i, w, False) for w in features.pe.warnings)
        if digests.size != size:
            out.warnings.append((i, "changed while being read: hashes may not match", False))
            notes[i] = "changed while being read"
        out.hashed += 1
        out.nbytes += digests.size
    # Transposed in C: one list per column.
    out.columns = list(zip(*rows, strict=True)) if rows else [() for _ in _UNREAD]
    return out
