"""Small, valid PE32+ executables written byte by byte, for the demo's file trees.

The scenario needs Windows binaries that say what they are: a PuTTY stand-in whose version
info names PuTTY (when the real ``putty.exe`` of ``../shared/data`` is absent), a WinRAR
command-line tool that the actor renames, and the System32 tools every Windows tree holds. A
sweep reads their version info with ``lief`` exactly as it reads a real binary's, so each file
here is a real PE: DOS header and stub, COFF and optional headers, a ``.text`` section, an
import table (``kernel32.dll``), and a ``.rsrc`` section holding one ``VS_VERSIONINFO``
resource. Nothing here is meant to run: the code is a ``ret``, followed by filler bytes drawn
from the caller's seed so that two tools never share a hash.

Layout (file offsets equal RVAs minus 0x1000 per section, file alignment 0x200, section
alignment 0x1000)::

    0x000  DOS header, stub, PE headers, section table   (SizeOfHeaders 0x200)
    .text  code                                           RVA 0x1000
    .rdata import directory, lookup and address tables    RVA after .text
    .rsrc  resource directory -> RT_VERSION/1/0x0409       RVA after .rdata
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

_FILE_ALIGN = 0x200
_SECTION_ALIGN = 0x1000
_IMAGE_BASE = 0x140000000
_RT_VERSION = 16
_LANG_EN_US = 0x0409
_CODEPAGE_UNICODE = 0x04B0
_DOS_STUB = b"This program cannot be run in DOS mode.\r\r\n$"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """The strings a ``VS_VERSIONINFO`` resource carries, and the numeric version."""

    original_name: str
    description: str
    company: str
    product: str
    version: tuple[int, int, int, int]
    file_version: str | None = None
    internal_name: str | None = None
    copyright: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def strings(self) -> list[tuple[str, str]]:
        dotted = ".".join(str(part) for part in self.version)
        pairs = [
            ("CompanyName", self.company),
            ("FileDescription", self.description),
            ("FileVersion", self.file_version or dotted),
            ("InternalName", self.internal_name or self.original_name.rsplit(".", 1)[0]),
            ("LegalCopyright", self.copyright or f"Copyright (C) {self.company}"),
            ("OriginalFilename", self.original_name),
            ("ProductName", self.product),
            ("ProductVersion", dotted),
        ]
        pairs.extend(self.extra)
        return pairs


def _align(value: int, boundary: int) -> int:
    return (value + boundary - 1) // boundary * boundary


def _pad4(data: bytearray) -> None:
    data.extend(b"\0" * (-len(data) % 4))


def _wide(text: str) -> bytes:
    return (text + "\0").encode("utf-16-le")


def _block(key: str, value: bytes, value_length: int, kind: int, children: bytes = b"") -> bytes:
    """One version-info block: wLength, wValueLength, wType, szKey, padding, Value, children."""
    body = bytearray(b"\0\0")  # wLength, filled in below
    body += struct.pack("<HH", value_length, kind)
    body += _wide(key)
    _pad4(body)
    body += value
    if children:
        _pad4(body)
        body += children
    struct.pack_into("<H", body, 0, len(body))
    return bytes(body)


def _string(key: str, value: str) -> bytes:
    encoded = _wide(value)
    block = bytearray(_block(key, encoded, len(encoded) // 2, 1))
    _pad4(block)
    return bytes(block)


def version_resource(info: VersionInfo) -> bytes:
    """The ``VS_VERSIONINFO`` structure as Windows' resource compiler writes it."""
    major, minor, build, revision = info.version
    fixed = struct.pack(
        "<13I",
        0xFEEF04BD,  # dwSignature
        0x00010000,  # dwStrucVersion
        (major << 16) | minor,
        (build << 16) | revision,
        (major << 16) | minor,
        (build << 16) | revision,
        0x3F,  # dwFileFlagsMask
        0,  # dwFileFlags
        0x00040004,  # dwFileOS: VOS_NT_WINDOWS32
        1,  # dwFileType: VFT_APP
        0,
        0,
        0,
    )
    strings = b"".join(_string(key, value) for key, value in info.strings())
    language = f"{_LANG_EN_US:04x}{_CODEPAGE_UNICODE:04x}"
    table = _block(language, b"", 0, 1, strings)
    string_info = _block("StringFileInfo", b"", 0, 1, table)
    translation = _block("Translation", struct.pack("<HH", _LANG_EN_US, _CODEPAGE_UNICODE), 4, 0)
    var_info = _block("VarFileInfo", b"", 0, 1, translation)
    children = bytearray(string_info)
    _pad4(children)
    children += var_info
    return _block("VS_VERSION_INFO", fixed, len(fixed), 0, bytes(children))


def _resource_section(rva: int, info: VersionInfo) -> bytes:
    """A resource tree with one leaf: type RT_VERSION, name 1, language en-US."""
    blob = version_resource(info)
    directory = struct.pack("<IIHHHH", 0, 0, 0, 0, 0, 1)
    level1 = directory + struct.pack("<II", _RT_VERSION, 0x80000000 | 0x18)
    level2 = directory + struct.pack("<II", 1, 0x80000000 | 0x30)
    level3 = directory + struct.pack("<II", _LANG_EN_US, 0x48)
    data_offset = 0x58
    entry = struct.pack("<IIII", rva + data_offset, len(blob), 0, 0)
    return level1 + level2 + level3 + entry + blob


def _import_section(rva: int, dll: str, functions: Sequence[str]) -> tuple[bytes, int, int]:
    """Import directory for one DLL; returns the bytes, the directory's size and the IAT's RVA."""
    count = len(functions)
    descriptors = 2 * 20  # one descriptor and the null terminator
    lookup = descriptors
    address = lookup + 8 * (count + 1)
    names = address + 8 * (count + 1)
    hint_names = bytearray()
    thunks: list[int] = []
    for function in functions:
        thunks.append(rva + names + len(hint_names))
        hint_names += struct.pack("<H", 0) + function.encode("ascii") + b"\0"
        hint_names += b"\0" * (len(hint_names) % 2)
    dll_name = rva + names + len(hint_names)
    hint_names += dll.encode("ascii") + b"\0"
    table = b"".join(struct.pack("<Q", thunk) for thunk in thunks) + b"\0" * 8
    section = bytearray()
    section += struct.pack("<IIIII", rva + lookup, 0, 0, dll_name, rva + address)
    section += b"\0" * 20
    section += table + table + hint_names
    return bytes(section), descriptors, rva + address


def build_pe(
    info: VersionInfo | None,
    filler: bytes,
    *,
    imports: Sequence[str] = ("ExitProcess", "GetCommandLineW"),
    gui: bool = False,
    timestamp: int = 0x5F000000,
) -> bytes:
    """A PE32+ executable with ``info`` as its version resource (None: no resources) and
    ``filler`` after the code (it sets the file's size and makes its hash its own)."""
    text = b"\xc3" + filler  # ret
    text_rva = _SECTION_ALIGN
    rdata_rva = text_rva + _align(len(text), _SECTION_ALIGN)
    rdata, import_size, iat_rva = _import_section(rdata_rva, "KERNEL32.dll", imports)
    sections: list[tuple[bytes, bytes, int, int]] = [
        (b".text", text, text_rva, 0x60000020),  # code, execute, read
        (b".rdata", rdata, rdata_rva, 0x40000040),  # initialised data, read
    ]
    rsrc_rva = rdata_rva + _align(len(rdata), _SECTION_ALIGN)
    if info is not None:
        rsrc = _resource_section(rsrc_rva, info)
        sections.append((b".rsrc", rsrc, rsrc_rva, 0x40000040))
    image_size = sections[-1][2] + _align(len(sections[-1][1]), _SECTION_ALIGN)

    headers = bytearray()
    headers += b"MZ" + struct.pack("<29H", 0x90, 3, 0, 4, 0, 0xFFFF, 0, 0xB8, *([0] * 21))
    headers += struct.pack("<I", 0x80)  # e_lfanew
    headers += b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21" + _DOS_STUB
    headers += b"\0" * (0x80 - len(headers))
    headers += b"PE\0\0"
    headers += struct.pack("<HHIIIHH", 0x8664, len(sections), timestamp, 0, 0, 0xF0, 0x22)
    code_size = _align(len(text), _FILE_ALIGN)
    data_size = sum(_align(len(s[1]), _FILE_ALIGN) for s in sections[1:])
    headers += struct.pack(
        "<HBBIIIII", 0x20B, 14, 0, code_size, data_size, 0, text_rva, text_rva
    )  # magic PE32+, linker 14.0, sizes, entry point, base of code
    headers += struct.pack("<QII", _IMAGE_BASE, _SECTION_ALIGN, _FILE_ALIGN)
    headers += struct.pack("<HHHHHH", 6, 0, 0, 0, 6, 0)  # OS, image, subsystem versions
    headers += struct.pack("<IIII", 0, image_size, _FILE_ALIGN, 0)  # ..., headers, checksum
    headers += struct.pack("<HH", 2 if gui else 3, 0x8160)  # subsystem; DLL characteristics
    headers += struct.pack("<QQQQ", 0x100000, 0x1000, 0x100000, 0x1000)  # stack and heap
    headers += struct.pack("<II", 0, 16)  # loader flags, number of data directories
    directories = [(0, 0)] * 16
    directories[1] = (rdata_rva, import_size)
    directories[12] = (iat_rva, 8 * (len(imports) + 1))
    if info is not None:
        directories[2] = (rsrc_rva, len(sections[-1][1]))
    for address, size in directories:
        headers += struct.pack("<II", address, size)
    raw_offset = _FILE_ALIGN
    for name, data, rva, characteristics in sections:
        raw_size = _align(len(data), _FILE_ALIGN)
        headers += struct.pack(
            "<8sIIIIIIHHI", name, len(data), rva, raw_size, raw_offset, 0, 0, 0, 0, characteristics
        )
        raw_offset += raw_size
    if len(headers) > _FILE_ALIGN:
        raise ValueError("PE headers do not fit in one file-alignment unit")
    image = bytearray(headers)
    image += b"\0" * (_FILE_ALIGN - len(image))
    for _name, data, _rva, _characteristics in sections:
        image += data
        image += b"\0" * (-len(data) % _FILE_ALIGN)
    return bytes(image)
