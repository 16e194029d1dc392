"""Content features of one file, extracted in the same open as its hashes.

The sweep reads every file once to hash it; typing it by content and, for a PE, reading its
version info and signature must not cost a second open (nor a second access-time risk, nor a
second chance for the file to change in between). So the hashing pass keeps the file's head, the
head decides the type, and only a PE file (MZ and a PE header: a small share of most trees) is
read again, in full, through the same descriptor for lief and signify.

``CONTENT_COLUMNS`` lists the ``files`` columns this fills: they depend on the bytes alone, so an
incremental re-sweep re-uses them for an unchanged file exactly like its hashes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from seawall.collect.filetype import FileType, identify, is_pe
from seawall.collect.hashing import Digests, ensure_regular, hash_fd, open_evidence
from seawall.collect.pe import MAX_PE_BYTES, PeInfo, inspect_pe

CONTENT_COLUMNS = (
    "file_type",
    "pe_original_name",
    "pe_company",
    "pe_product",
    "pe_description",
    "imphash",
    "signature_status",
    "signer",
)


@dataclass(frozen=True, slots=True)
class ContentFeatures:
    file_type: FileType
    pe: PeInfo | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.pe.warnings if self.pe is not None else ()

    def columns(self) -> dict[str, str | None]:
        """The ``CONTENT_COLUMNS`` values of this file."""
        pe = self.pe or PeInfo()
        return {
            "file_type": self.file_type.label,
            "pe_original_name": pe.original_name,
            "pe_company": pe.company,
            "pe_product": pe.product,
            "pe_description": pe.description,
            "imphash": pe.imphash,
            "signature_status": pe.signature_status,
            "signer": pe.signer,
        }


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


def features_of(fd: int, digests: Digests) -> ContentFeatures:
    """Type the file from ``digests.head``; for a PE, re-read it through ``fd`` and inspect it."""
    file_type = identify(digests.head)
    if not is_pe(digests.head):
        return ContentFeatures(file_type)
    if digests.size > MAX_PE_BYTES:
        note = f"PE of {digests.size} bytes, over {MAX_PE_BYTES}: not parsed"
        return ContentFeatures(file_type, PeInfo(warnings=(note,)))
    return ContentFeatures(file_type, inspect_pe(_read_all(fd, digests.size)))


def examine_file(path: bytes, *, follow_symlinks: bool = False) -> tuple[Digests, ContentFeatures]:
    """Hash ``path`` and extract its content features in one open, read-only and ``O_NOATIME``."""
    fd = open_evidence(path, follow_symlinks=follow_symlinks)
    try:
        ensure_regular(fd, path)
        digests = hash_fd(fd)
        return digests, features_of(fd, digests)
    finally:
        os.close(fd)


# What a sweep worker sends back per file, kept small for pickling: (md5, sha1, sha256, bytes
# read, CONTENT_COLUMNS values, PE warnings), or (None, errno, message) when it could not be read.
Examined = tuple[str, str, str, int, tuple[str | None, ...], tuple[str, ...]]
Failed = tuple[None, int | None, str]


def examine_batch(items: list[tuple[bytes, bool]]) -> list[Examined | Failed]:
    """``examine_file`` for each ``(path, follow_symlinks)``: run in a sweep's worker process, so
    that small files (whose Python overhead exceeds their hashing) are typed and hashed off the
    walking process's GIL."""
    results: list[Examined | Failed] = []
    for path, follow in items:
        try:
            digests, features = examine_file(path, follow_symlinks=follow)
        except OSError as error:
            results.append((None, error.errno, str(error.strerror or error)))
            continue
        values = tuple(features.columns().values())
        results.append(
            (digests.md5, digests.sha1, digests.sha256, digests.size, values, features.warnings)
        )
    return results
