"""Text that is not an indicator list is refused with what it looks like; real lists still import.

(The real files a responder meets beside an advisory are refused through the CLI in
``tests/cli/test_intel_refusal_cli.py``.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.errors import BadInputError
from seawall.intel.readers import read_document
from tests.conftest import SHARED_DATA, TEST_DATA, shared


def _lists() -> list[Path]:
    ours = sorted((TEST_DATA / "text").iterdir())
    loki = [
        SHARED_DATA / "yara/signature-base/iocs" / name
        for name in ("hash-iocs.txt", "c2-iocs.txt", "filename-iocs.txt")
    ]
    return ours + loki


@pytest.mark.parametrize("path", _lists(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_indicator_lists_still_import(path: Path) -> None:
    if not path.exists():
        shared(str(path.relative_to(SHARED_DATA)))  # skips, or fails under CI
    document = read_document(path.read_bytes(), path.name)
    assert document.indicators


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "SHA256 (a.xml) = " + "ab" * 32 + "\nSHA256 (b.json) = " + "cd" * 32 + "\n",
            "it is a checksum list",
        ),
        ("0123456789abcdef" * 2 + " *setup.exe\n", "it is a checksum list"),
        (
            "2026-01-02T03:04:05 GET /index.html 200\n2026-01-02T03:04:06 GET /a.php 404\n",
            "it looks like a log",
        ),
        ("hello world\n", "0 of 1 lines are indicators"),
        ("# notes\nsee the report\nask the team\nevil.example.net\n", "1 of 3 lines"),
    ],
)
def test_small_texts_that_are_not_lists(text: str, fragment: str) -> None:
    with pytest.raises(BadInputError, match="not an indicator list") as raised:
        read_document(text.encode(), "f.txt")
    assert fragment in raised.value.message and raised.value.location == "f.txt"


def test_a_list_under_section_headings_imports() -> None:
    """CISA's text lists put the indicators under headings: most lines are still indicators."""
    text = (
        "Indicators of Compromise\nDomains\nevil-one.example.net\nevil-two.example.net\n"
        "login.evil.example.org\nIP addresses\n203.0.113.5\n198.51.100.7\n"
        "44d88612fea8a8f36de82e1278abb02f  dropper, seen July 2021\n"
    )
    document = read_document(text.encode(), "list.txt")
    assert len(document.indicators) == 6
    assert len(document.warnings) == 3  # the headings, each a warning with its line
