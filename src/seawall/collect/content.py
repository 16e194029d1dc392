"""Content features of one file, extracted in the same open as its hashes.

The sweep reads every file once to hash it; typing it by content and, for a PE, reading its
version info and signature must not cost a second open (nor a second access-time risk, nor a
second chance for the file to change in between). So the hashing pass keeps the file's head, the
head decides the type, and only a PE file (MZ and a PE header: a small share of most trees) is
read again, in full, through the same descriptor for lief and signify.

A server-side script under a well-known web root is also assessed as a possible web shell (its
bytes are small and already at hand), so a hunt can judge it from the case alone. The files the
YARA policy selects (server-side scripts, executables outside the system's folders; see
:mod:`seawall.features.yara`) are scanned with the shipped signature-base set, from the bytes
already read where they suffice.

``CONTENT_COLUMNS`` lists the ``files`` columns this fills: they depend on the bytes (and, for
the web-shell assessment and YARA, on where the file lies), so an incremental re-sweep re-uses
them for an unchanged file exactly like its hashes (YARA's only under the same policy and set
version: ``seawall.collect.previous``).
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
from seawall.features.yara import (
    YaraPolicy,
    externals_for,
    not_scanned,
    scan,
    scope_for,
    selected,
    size_cap,
    windows_of,
)

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
    "yara",
)


@dataclass(slots=True)  # not frozen: built once per file, and a frozen one costs more
class ContentFeatures:
    file_type: FileType
    pe: PeInfo | None = None
    webshell: str | None = None
    """The web-shell assessment (JSON) of a server-side script under a web root."""
    yara: str | None = None
    """The shipped YARA set's matches (JSON) of a file the policy selects."""
    yara_scanned: bool = False
    yara_matched: bool = False
    yara_warning: str | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        found = self.pe.warnings if self.pe is not None else ()
        return (*found, self.yara_warning) if self.yara_warning else found

    def columns(self) -> dict[str, str | None]:
        """The ``CONTENT_COLUMNS`` values of this file."""
        return dict(zip(CONTENT_COLUMNS, self.values(), strict=True))

    def values(self) -> tuple[str | None, ...]:
        """The ``CONTENT_COLUMNS`` values of this file, in that order."""
        pe = self.pe
        if pe is None:
            return (
                self.file_type.label,
                *(None,) * 7,
                self.webshell,
                self.yara,
            )
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
            self.yara,
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


class _Bytes:
    """The file's bytes, read at most once however many features want them."""

    def __init__(self, fd: int, digests: Digests) -> None:
        self.fd, self.digests = fd, digests
        self.data: bytes | None = digests.head if digests.size <= len(digests.head) else None

    def upto(self, limit: int) -> bytes:
        """The first ``min(size, limit)`` bytes."""
        size = min(self.digests.size, limit)
        if self.data is None or len(self.data) < size:
            self.data = _read_all(self.fd, size)
        return self.data[:size]


def features_of(
    fd: int,
    digests: Digests,
    path: bytes = b"",
    *,
    webshells: bool = True,
    yara: YaraPolicy | None = None,
    owner: str | None = None,
) -> ContentFeatures:
    """Type the file from ``digests.head``; for a PE, re-read it through ``fd`` and inspect it;
    for a server-side script under a web root, assess it as a possible web shell; scan what the
    YARA policy selects (``owner``: for YARA's ``owner`` variable)."""
    file_type = identify(digests.head)
    content = _Bytes(fd, digests)
    if not is_pe(digests.head):
        webshell = _webshell(content, path) if webshells else None
        features = ContentFeatures(file_type, webshell=webshell)
    elif digests.size > MAX_PE_BYTES:
        note = f"PE of {digests.size} bytes, over {MAX_PE_BYTES}: not parsed"
        features = ContentFeatures(file_type, PeInfo(warnings=(note,)))
    else:
        features = ContentFeatures(file_type, inspect_pe(content.upto(digests.size)))
    if yara is not None and yara.mode != "off":
        _yara(features, content, path, yara, owner)
    return features


def _webshell(content: _Bytes, path: bytes) -> str | None:
    """The stored assessment of a web-root script (its head, or up to ``MAX_BYTES`` re-read)."""
    text = os.fsdecode(path)
    if not text or not is_web_script(text):
        return None
    data = content.upto(WEBSHELL_MAX_BYTES)
    return assessment_to_json(assess(data, text.rsplit("/", 1)[-1]))


def _yara(
    features: ContentFeatures, content: _Bytes, path: bytes, policy: YaraPolicy, owner: str | None
) -> None:
    """Scan the file with the shipped set if the policy selects it (the rules are loaded on the
    first file selected: a sweep that selects none never loads them)."""
    digests, label = content.digests, features.file_type.label
    text = os.fsdecode(path)
    windows = windows_of(path, policy)
    if not selected(policy, text, windows, label, digests.head, digests.size):
        return
    cap = size_cap(label, digests.head, policy.mode)
    scope = scope_for(label, digests.head, policy.mode)
    if digests.size > cap:
        features.yara = not_scanned(f"{digests.size} bytes, over {cap}: not scanned", scope)
        return
    externals = externals_for(text, windows, label, digests.head, owner, digests.md5)
    outcome = scan(content.upto(digests.size), externals, scope)
    features.yara, features.yara_matched = outcome.value, outcome.matched
    features.yara_scanned = True
    features.yara_warning = outcome.warning


def examine_file(
    path: bytes,
    *,
    follow_symlinks: bool = False,
    webshells: bool = True,
    yara: YaraPolicy | None = None,
    owner: str | None = None,
) -> tuple[Digests, ContentFeatures]:
    """Hash ``path`` and extract its content features in one open, read-only and ``O_NOATIME``."""
    fd = open_evidence(path, follow_symlinks=follow_symlinks)
    try:
        ensure_regular(fd, path)
        digests = hash_fd(fd)
        features = features_of(fd, digests, path, webshells=webshells, yara=yara, owner=owner)
        return digests, features
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
    yara_scanned: int = 0
    """Files scanned with the shipped YARA set, and of those, files with a match."""
    yara_matched: int = 0


def examine_chunk(
    paths: list[bytes],
    followed: list[bool],
    sizes: list[int],
    owners: list[str | None],
    webshells: bool = True,
    yara: YaraPolicy | None = None,
) -> Examined:
    """``examine_file`` for each path (``followed``: a symlink to open, ``sizes`` and ``owners``:
    what the walk saw): run in a sweep's worker process, so that small files (whose Python
    overhead exceeds their hashing) are typed and hashed off the walking process's GIL."""
    rows: list[tuple[str | None, ...]] = []
    notes: list[str | None] = [None] * len(paths)
    out = Examined([], notes)
    for i, (path, follow, size, owner) in enumerate(
        zip(paths, followed, sizes, owners, strict=True)
    ):
        try:
            digests, features = examine_file(
                path, follow_symlinks=follow, webshells=webshells, yara=yara, owner=owner
            )
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
        out.warnings.extend((i, w, False) for w in features.warnings)
        out.yara_scanned += features.yara_scanned
        out.yara_matched += features.yara_matched
        if digests.size != size:
            out.warnings.append((i, "changed while being read: hashes may not match", False))
            notes[i] = "changed while being read"
        out.hashed += 1
        out.nbytes += digests.size
    # Transposed in C: one list per column.
    out.columns = list(zip(*rows, strict=True)) if rows else [() for _ in _UNREAD]
    return out
