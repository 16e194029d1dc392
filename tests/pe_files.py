"""PE test files shared by the collect and detect tests."""

from __future__ import annotations

from pathlib import Path

import lief


def flip_in_first_section(source: Path, target: Path) -> None:
    """Copy ``source`` with one byte of its first section's raw data inverted (a signed region)."""
    binary = lief.PE.parse(str(source))
    assert binary is not None
    offset = binary.sections[0].offset + 0x100
    data = bytearray(source.read_bytes())
    data[offset] ^= 0xFF
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bytes(data))
