"""The hand-built PE files: parsed as real ones, version info read back."""

from __future__ import annotations

import lief

from seawall.demo.pe import VersionInfo, build_pe, version_resource
from seawall.features.pe import inspect_pe

INFO = VersionInfo(
    "Tool.exe",
    "A tool",
    "Example Vendor",
    "Example Suite",
    (1, 2, 3, 4),
    extra=(("Comments", "built by the demo"),),
)


def test_version_info_is_read_back_by_the_sweep_s_parser() -> None:
    data = build_pe(INFO, b"\x90" * 3000)
    info = inspect_pe(data)
    assert (info.original_name, info.description, info.company, info.product) == (
        "Tool.exe",
        "A tool",
        "Example Vendor",
        "Example Suite",
    )
    assert info.signature_status == "unsigned"
    assert info.imphash  # the import table is real
    binary = lief.PE.parse(list(data))
    assert binary is not None
    assert [entry.name for entry in binary.imports[0].entries] == ["ExitProcess", "GetCommandLineW"]
    assert binary.optional_header.sizeof_image % 0x1000 == 0
    manager = binary.resources_manager
    assert isinstance(manager, lief.PE.ResourcesManager)
    fixed = manager.version[0].file_info
    assert (fixed.file_version_ms, fixed.file_version_ls) == ((1 << 16) | 2, (3 << 16) | 4)


def test_no_version_info_and_different_filler_give_different_files() -> None:
    bare = build_pe(None, b"\x00" * 100)
    assert inspect_pe(bare).original_name is None
    assert inspect_pe(bare).warnings == ()
    assert build_pe(INFO, b"a") != build_pe(INFO, b"b")
    assert len(version_resource(INFO)) % 4 == 0
