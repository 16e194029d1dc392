"""File type by content, from the first bytes the sweep has already read for hashing.

A name says what a file claims to be; its bytes say what it is. Detections need the latter: a PE
renamed ``report.pdf``, a PHP web shell saved as ``logo.gif``. libmagic (through ``python-magic``)
knows thousands of formats, but its descriptions are long and vary between versions
("PE32+ executable (GUI) x86-64, for MS Windows, 7 sections"), which detection SQL cannot match
reliably. So every file gets a short, stable ``label`` (``pe32``, ``elf``, ``php``, ``zip``…) that
detections use, plus libmagic's own description cut short for the analyst.

libmagic is only given the head of the file (``HEAD_BYTES``, taken from the first chunk the hashing
pass read), never a path: it must not open the evidence a second time, and a bounded buffer keeps
its text-encoding scan bounded on huge files. A libmagic cookie is not thread-safe, and python-magic
serialises one with a lock, so each hashing thread gets its own cookie: the sweep's threads then
type files in parallel (ctypes releases the GIL during the call).
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass

import magic

from seawall.features.hashing import HEAD_BYTES

DESCRIPTION_CHARS = 120

_local = threading.local()


@dataclass(frozen=True, slots=True)
class FileType:
    label: str
    """Short, stable name for detections (see ``_RULES``)."""
    description: str
    """libmagic's description, at most ``DESCRIPTION_CHARS`` characters."""


# First match wins, in order: specific formats before the generic "script" and "text". Each rule is
# (label, substrings of libmagic's lower-cased description any of which selects it).
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pe32+", ("pe32+ executable",)),
    ("pe32", ("pe32 executable",)),
    ("msdos", ("ms-dos executable",)),
    ("elf", ("elf ",)),
    ("macho", ("mach-o",)),
    ("php", ("php script", "php document")),
    ("html", ("html document",)),
    ("xml", ("xml document", "xml 1.")),
    ("java-class", ("compiled java class",)),
    ("jar", ("java archive",)),
    ("office", ("microsoft word", "microsoft excel", "microsoft powerpoint", "microsoft ooxml")),
    ("ole", ("composite document file",)),
    ("zip", ("zip archive",)),
    ("rar", ("rar archive",)),
    ("7z", ("7-zip archive",)),
    ("cab", ("microsoft cabinet",)),
    ("gzip", ("gzip compressed",)),
    ("bzip2", ("bzip2 compressed",)),
    ("xz", ("xz compressed",)),
    ("zstd", ("zstandard compressed",)),
    ("tar", ("tar archive",)),
    ("pdf", ("pdf document",)),
    ("lnk", ("ms windows shortcut",)),
    ("evtx", ("ms windows vista event log",)),
    ("registry", ("ms windows registry file",)),
    ("pcap", ("pcap capture file", "pcapng capture file")),
    ("sqlite", ("sqlite 3.x database",)),
    ("image", ("image data", "jpeg image", "bitmap", "svg scalable vector graphics")),
    ("script", ("script", "batch file", "powershell")),
    ("empty", ("empty",)),
    ("text", ("text",)),
)


def _magic() -> magic.Magic:
    cookie: magic.Magic | None = getattr(_local, "magic", None)
    if cookie is None:
        cookie = _local.magic = magic.Magic()
    return cookie


def label_of(description: str) -> str:
    """The short label of a libmagic description (``data`` when no rule knows it)."""
    lowered = description.lower()
    for label, needles in _RULES:
        if any(needle in lowered for needle in needles):
            return label
    return "data"


# Formats whose first bytes alone settle the label. libmagic costs 2-3 ms a file, which made a
# sweep of /usr 4.5x slower; these signatures cover most files of a system and leave the rest
# (and every ambiguous container: ZIP may be a JAR or OOXML, OLE may be Word or Excel) to it.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "elf"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"%PDF-", "pdf"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"MSCF\x00\x00\x00\x00", "cab"),
    (b"ElfFile\x00", "evtx"),
    (b"regf", "registry"),
    (b"SQLite format 3\x00", "sqlite"),
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"\xca\xfe\xba\xbe", "java-class"),
    (b"<?php", "php"),
    (b"#!", "script"),
    # Common on every system and left to libmagic they cost most of its calls (on /usr/share, 85%
    # of them): the labels are the ones libmagic's descriptions give ("GNU message catalog",
    # "timezone data", "X11 cursor": data; "GIF image data": image).
    (b"\xde\x12\x04\x95", "data"),
    (b"\x95\x04\x12\xde", "data"),
    (b"TZif", "data"),
    (b"Xcur", "data"),
    (b"GIF87a", "image"),
    (b"GIF89a", "image"),
    # Web fonts ("Web Open Font Format": data), common under every web root.
    (b"wOFF", "data"),
    (b"wOF2", "data"),
    # Left to libmagic, these were 80% of its calls on /usr (and 12 CPU-seconds of a sweep):
    # "current ar archive" (static libraries), "LLVM IR bitcode" and CPython's byte code (below).
    (b"!<arch>\n", "data"),
    (b"BC\xc0\xde", "data"),
)
# CPython 3's .pyc files start with a two-byte magic number (3000 for 3.0 up to the 3600s) and
# "\r\n"; libmagic says "Byte-compiled Python module for CPython 3.x", which labels as data.
_PYC_MAGIC = range(3000, 3800)
# The bytes that libmagic accepts in text (its ``text_chars`` table): printable ASCII, BEL to CR,
# ESC, and 0x80-0xFF (UTF-8 sequences; in 8-bit code pages ISO-8859 from 0xA0, "extended ASCII"
# below). Any other control byte makes a file "data" to libmagic, or some binary format.
_TEXT_BYTES = bytes([*range(7, 14), 27, *range(0x20, 0x7F), *range(0x80, 0x100)])
# Compiled terminfo entries (legacy and 32-bit formats): "Compiled terminfo entry", data to
# libmagic, and 2,900 of its 3,700 calls on /usr (~0.4 ms each).
_TERMINFO_MAGIC = (b"\x1a\x01", b"\x1e\x02")
# The signatures by first byte, in ``_SIGNATURES`` order: one dict look-up instead of a scan of all.
_BY_FIRST_BYTE: dict[bytes, tuple[tuple[bytes, str], ...]] = {}
for _prefix, _label in _SIGNATURES:
    _BY_FIRST_BYTE[_prefix[:1]] = (*_BY_FIRST_BYTE.get(_prefix[:1], ()), (_prefix, _label))


def _by_signature(sample: bytes) -> str | None:
    """The label when the first bytes settle it, else ``None`` (then libmagic decides)."""
    if sample.startswith(b"MZ"):
        if not is_pe(sample):
            return None
        (e_lfanew,) = struct.unpack_from("<I", sample, 0x3C)
        if e_lfanew + 26 > len(sample):
            return None
        (optional_magic,) = struct.unpack_from("<H", sample, e_lfanew + 24)
        return {0x10B: "pe32", 0x20B: "pe32+"}.get(optional_magic)
    for prefix, label in _BY_FIRST_BYTE.get(sample[:1], ()):
        if sample.startswith(prefix):
            return label
    if sample[2:4] == b"\r\n" and int.from_bytes(sample[:2], "little") in _PYC_MAGIC:
        return "data"
    if sample[:2] in _TERMINFO_MAGIC and _is_terminfo(sample):
        return "data"
    return _text_label(sample)


def _is_terminfo(sample: bytes) -> bool:
    """A terminfo header: six little-endian counts, then the terminal's names, NUL-terminated at
    the length the header gives (two magic bytes alone could start other binary data)."""
    if len(sample) < 14:
        return False
    names: int = struct.unpack_from("<h", sample, 2)[0]
    return 1 < names <= len(sample) - 12 and sample[12 + names - 1] == 0


def _text_label(sample: bytes) -> str | None:
    """``php``, ``html``, ``xml``, ``image`` (SVG) or ``text`` for text (UTF-8 or an 8-bit code
    page: libmagic's labels are the same); else ``None`` (libmagic decides). Bytes throughout:
    decoding up to ``HEAD_BYTES`` of every text file would cost more than the rest of this."""
    if sample.translate(None, _TEXT_BYTES):
        return None  # a byte that never appears in text: libmagic's "data", or a format
    if b"<?php" in sample:
        return "php"  # also catches PHP appended to an HTML page
    start = sample.lstrip()[:64].lower()
    if start.startswith(b"<?xml"):
        return "xml"
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    if start.startswith(b"<svg"):
        return "image"  # libmagic: "SVG Scalable Vector Graphics image"
    # Other text is "text": libmagic would call some of it a script (JavaScript, or Python
    # without a shebang), not worth ~1 ms a file. Markup that starts otherwise (HTML fragments,
    # SGML) is left to its judgement.
    return "text" if not start.startswith(b"<") else None


_EMPTY = FileType("empty", "empty")
# One (immutable) FileType per label settled by signature: most files of a sweep get one of these.
_BY_SIGNATURE: dict[str, FileType] = {}


def identify(head: bytes | memoryview) -> FileType:
    """The type of a file whose first bytes are ``head`` (only ``HEAD_BYTES`` of it are used)."""
    sample = head if type(head) is bytes and len(head) <= HEAD_BYTES else bytes(head[:HEAD_BYTES])
    if not sample:
        return _EMPTY
    label = _by_signature(sample)
    if label is not None:
        known = _BY_SIGNATURE.get(label)
        if known is None:
            known = _BY_SIGNATURE[label] = FileType(label, f"{label} (by signature)")
        return known
    try:
        description = _magic().from_buffer(sample)
    except magic.MagicException as error:  # libmagic refused this buffer: say so, go on
        return FileType("data", f"libmagic error: {error}"[:DESCRIPTION_CHARS])
    return FileType(label_of(description), description[:DESCRIPTION_CHARS])


def is_pe(head: bytes | memoryview) -> bool:
    """True when ``head`` has an MZ header whose ``e_lfanew`` points at a ``PE\\0\\0`` signature.

    Checked here, not by the label, because libmagic says "MS-DOS executable" for some PE files
    (and a PE is what lief and signify need); a bare MZ stub without a PE header is not one.
    """
    if len(head) < 0x40 or bytes(head[:2]) != b"MZ":
        return False
    (e_lfanew,) = struct.unpack_from("<I", head, 0x3C)
    return e_lfanew + 4 <= len(head) and bytes(head[e_lfanew : e_lfanew + 4]) == b"PE\0\0"
