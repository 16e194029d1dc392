"""Typing by content without libmagic where the first bytes settle it: the labels must be the
ones libmagic's description would give (``label_of``), so that detections see the same label
whichever way a file was typed."""

from __future__ import annotations

import struct

import pytest

from seawall.features import filetype
from seawall.features.filetype import identify, label_of


def _terminfo(names: bytes) -> bytes:
    header = struct.pack("<6h", 0o432, len(names) + 1, 2, 3, 4, 5)
    return header + names + b"\x00" + b"\x01\x00" + b"\xff\xff" * 3


@pytest.mark.parametrize(
    ("head", "label"),
    [
        (b'" codepage 1255 keymap\n\xe0\xe1\xe2 = a\n' * 3, "text"),  # ISO-8859 text
        (b"Vim menu \x85 with NEL\n\x92quotes\x93\n", "text"),  # "Non-ISO extended-ASCII"
        (b"<!DOCTYPE html><p>caf\xe9</p>\n", "html"),  # HTML in ISO-8859-1
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="1"/>\n', "image"),
        (b"wOF2\x00\x01\x00\x00" + bytes(64), "data"),
        (_terminfo(b"altos3|altos5|altos 3, altos 5"), "data"),
        (b"plain words\n", "text"),
    ],
)
def test_signature_labels(head: bytes, label: str) -> None:
    assert identify(head).label == label
    assert filetype._by_signature(head) is not None  # settled without libmagic


@pytest.mark.parametrize(
    "head",
    [
        b"text with a control byte \x01 is left to libmagic\n",
        b"\x1a\x01" + bytes(30),  # terminfo magic without a names field
        b"<ul>\n  <li>an HTML fragment</li>\n</ul>\n",
    ],
)
def test_ambiguous_heads_are_left_to_libmagic(head: bytes) -> None:
    assert filetype._by_signature(head) is None
    assert identify(head).label == label_of(identify(head).description)


def test_libmagic_agrees_on_the_new_signatures() -> None:
    """The same heads given to libmagic directly label the same (the rules' premise)."""
    for head in (
        b'" codepage 1255 keymap\n\xe0\xe1\xe2 = a\n' * 3,
        b'<svg xmlns="http://www.w3.org/2000/svg" width="1"/>\n',
        _terminfo(b"altos3|altos5|altos 3, altos 5"),
    ):
        description = filetype._magic().from_buffer(head)
        assert label_of(description) == identify(head).label, description
