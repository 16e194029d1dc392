"""Refuse text that is not an indicator list, and say what it looks like instead.

To a lenient per-line reader everything is text: importing a folder of advisory material once
turned a README, a ``SHA256SUMS`` file and ATT&CK CSV exports into "indicator sources" (the
advisory's own URL became ``malicious``, the STIX files' own hashes became sha256 indicators), and
a Zeek ``dns.log`` imported with 53,615 warnings and exit 0. An intel file is therefore judged by
its content before anything is written:

- some formats are recognised outright and refused: a checksum list (``<hex>  <file>`` lines as
  ``sha256sum`` writes them, or BSD ``SHA256 (file) = <hex>``: it says which file is which, not
  that anything is malicious) and a Zeek log (``#separator`` / ``#fields``: evidence to collect,
  not intel);
- otherwise most lines must be indicators: a file in which fewer than half of the lines that are
  not blank or comments gave an indicator (prose, Markdown, a table whose columns are not
  indicators, a log) is refused, with a description of what it looks like.

The user can force a file through with ``seawall intel import --format text``: the per-line
reader then takes what it can, and warns for the rest.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence

from seawall.errors import BadInputError

# A file is an indicator list when at least this share of its content lines gave an indicator.
MIN_INDICATOR_SHARE = 0.5
_SAMPLE_LINES = 200
_CHECKSUM_SHARE = 0.8
_FORCE = "import it anyway with --format text if it really is an indicator list"

_HASH_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})
# GNU coreutils: "<hex>  <name>" (text mode) or "<hex> *<name>" (binary mode); a leading "\"
# marks an escaped name.
_GNU_CHECKSUM = re.compile(r"^\\?([0-9a-fA-F]{32,128})(?:  | \*)\S")
_BSD_CHECKSUM = re.compile(
    r"^(?:MD5|SHA1|SHA224|SHA256|SHA384|SHA512|SHA3-\d+|BLAKE2b(?:-\d+)?) ?\(.+\) ?= ?[0-9a-fA-F]+$"
)
# Markdown that a list's "# comment" lines cannot fake: lists, fences, tables, quotes, links.
_MARKDOWN = re.compile(r"^(?:[-*+] \S|\d+\. \S|```|\|.*\|$|> )|\]\(|\*\*|`[^`]+`")
_HEADING = re.compile(r"^#{1,6} \S")
_TIMESTAMP = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d"  # ISO 8601
    r"|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"  # syslog
    r"|\d{10}(?:\.\d+)?\s"  # Unix seconds (Zeek, Squid)
    r"|\[\d\d/[A-Z][a-z]{2}/\d{4}:)"  # common log format
)
_COMMENTS = ("#", "//", ";")


def _content(lines: Sequence[str]) -> list[str]:
    return [line for line in lines if line and not line.startswith(_COMMENTS)]


def refuse_recognised(lines: Sequence[str], origin: str) -> None:
    """Refuse a checksum list or a Zeek log from its first lines (stripped, ``\\n``-split)."""
    head = [line for line in lines[:_SAMPLE_LINES] if line]
    if head and (
        head[0].startswith("#separator") or any(x.startswith("#fields") for x in head[:20])
    ):
        raise BadInputError(
            "not an indicator list: it is a Zeek log (#separator/#fields header): network"
            " evidence to collect, not intel to import",
            origin,
        )
    content = _content(head)
    sums = sum(1 for line in content if _is_checksum(line))
    if content and sums >= _CHECKSUM_SHARE * len(content):
        raise BadInputError(
            "not an indicator list: it is a checksum list (`<hash>  <file>` lines as sha256sum"
            " writes them): it records which file is which, not that anything is malicious;"
            f" {_FORCE}",
            origin,
        )


def _is_checksum(line: str) -> bool:
    gnu = _GNU_CHECKSUM.match(line)
    return bool(gnu and len(gnu.group(1)) in _HASH_LENGTHS) or bool(_BSD_CHECKSUM.match(line))


def refuse_unless_indicators(
    lines: Sequence[str], recognised: int, content_lines: int, origin: str
) -> None:
    """Refuse a file whose content lines are mostly not indicators.

    ``recognised`` counts the content lines that gave an indicator (or that the reader
    understood and skipped on purpose, such as a MISP ``comment`` row); ``content_lines`` the
    lines that are not blank or comments (a CSV header excluded); ``lines`` are the first
    lines, used to describe what the file looks like.
    """
    if content_lines == 0 or recognised >= MIN_INDICATOR_SHARE * content_lines:
        return
    raise BadInputError(
        f"not an indicator list: it looks like {describe(lines)}"
        f" ({recognised:,} of {content_lines:,} lines are indicators); {_FORCE}",
        origin,
    )


def describe(lines: Sequence[str]) -> str:
    """What text that is not an indicator list looks like, in a few words."""
    head = [line for line in lines[:_SAMPLE_LINES] if line]
    content = _content(head)
    if not content:
        return "comments only"
    if sum(1 for line in content if _TIMESTAMP.match(line)) * 2 > len(content):
        return "a log (its lines begin with a time): evidence to collect, not intel"
    columns = _table_columns(content)
    if columns:
        shown = ", ".join(columns[:6]) + (", …" if len(columns) > 6 else "")
        return f"a table whose columns are not indicators (columns: {shown})"
    markdown = sum(1 for line in head if _MARKDOWN.search(line))
    if markdown >= 3 or (markdown and any(_HEADING.match(line) for line in head)):
        return "Markdown: a document, not a list"
    words = sum(len(line.split()) for line in content) / len(content)
    if words >= 4:
        return f"prose ({words:.0f} words a line on average)"
    letters = sum(1 for line in content for char in line if char.isalpha())
    characters = sum(len(line) for line in content)
    if characters >= 40 * len(content) and letters * 2 >= characters:
        # scripts written without spaces between words (Japanese, Chinese) count by length
        return f"prose ({characters // len(content)} characters a line on average)"
    return "text whose lines are mostly not indicators"


def _table_columns(content: Sequence[str]) -> list[str]:
    """The first row's cells, when every sampled line has the same number (>1) of fields."""
    sample = list(content[:50])
    try:
        dialect = csv.Sniffer().sniff("\n".join(sample), delimiters=",\t;|")
    except csv.Error:
        return []
    try:
        rows = list(csv.reader(sample, dialect))
    except csv.Error:
        return []
    widths = {len(row) for row in rows}
    if len(rows) < 2 or len(widths) != 1 or widths == {1}:
        return []
    return [cell.strip() for cell in rows[0]]
