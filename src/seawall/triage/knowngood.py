"""Known-good binaries by hash: the shipped xcyclopedia set plus the user's own CSV files.

AA21-200A's hash indicators mix malware with legitimate tools the actors ran from odd folders
(PuTTY, cmd.exe). Such a hash is a real indicator, but a hit on it only matters where the tool
never lives, so seawall must recognise it at import and say so instead of either trusting or
dismissing it. This module answers "is this hash a known-good binary, and which one?" offline.

The shipped set is built by ``tools/build_knowngood.py`` (see its ATTRIBUTION.md). Users extend
it with CSV files that have at least one hash column; the shipped columns are accepted too. A bad
row is a warning with ``file:line`` and the rest of the file is still read; a file that is not a
CSV of hashes at all is a :class:`~seawall.errors.BadInputError`.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from seawall.errors import BadInputError, SeawallError
from seawall.model.indicator import IndicatorType, IntelWarning

SHIPPED_NAME = "xcyclopedia.csv.gz"
SHIPPED_SOURCE = "xcyclopedia"
DUAL_USE_TAG = "dual-use"

HASH_COLUMNS = ("md5", "sha1", "sha256")
TEXT_COLUMNS = ("file_name", "standard_path", "signer", "company", "product", "original_name")
# A generic ``hash`` column is typed by length, as people export whatever their tool gave them.
_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
# xcyclopedia's own column names, so that a user can point at a full upstream export as is.
_ALIASES = {
    "hash_md5": "md5",
    "hash_sha1": "sha1",
    "hash_sha256": "sha256",
    "file_path": "standard_path",
    "path": "standard_path",
    "meta_company_name": "company",
    "meta_product_name": "product",
    "meta_original_filename": "original_name",
}
_KNOWN_COLUMNS = frozenset((*HASH_COLUMNS, *TEXT_COLUMNS, "hash"))
_HEX = re.compile(r"[0-9a-f]+")
# Hashes of zero bytes: an empty file proves nothing about any binary.
_EMPTY = frozenset(
    {
        "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }
)
_LOOKUP_TYPES = frozenset({IndicatorType.MD5, IndicatorType.SHA1, IndicatorType.SHA256})
_WINDOWS_PATH = re.compile(r"^(?:[a-zA-Z]:[\\/]|\\\\|%[^%]+%)")


@dataclass(frozen=True, slots=True)
class KnownBinary:
    """What the known-good set says about one binary; ``source`` names the set that said it."""

    file_name: str
    standard_path: str
    signer: str
    company: str
    product: str
    original_name: str
    source: str


class KnownGood:
    """Hash (md5, sha1 or sha256, lower-case) to known binary; the first set to name a hash wins.

    The shipped set comes first, so a user file cannot silently re-describe a shipped binary;
    it can only add hashes that are not known yet.
    """

    __slots__ = ("_by_hash", "warnings")

    def __init__(
        self, by_hash: Mapping[str, KnownBinary], warnings: Sequence[IntelWarning] = ()
    ) -> None:
        self._by_hash = dict(by_hash)
        self.warnings: tuple[IntelWarning, ...] = tuple(warnings)

    @classmethod
    def load(cls, extra: Sequence[Path] = ()) -> KnownGood:
        """The shipped set plus ``extra`` CSV files (read in order); cached when ``extra`` is empty.

        Raises :class:`BadInputError` when an extra file cannot be read or is not a CSV of hashes.
        """
        if not extra:
            return _shipped()
        by_hash = dict(_shipped()._by_hash)
        warnings: list[IntelWarning] = []
        for path in extra:
            for hashes, binary in _read_user_file(path, warnings):
                for value in hashes:
                    by_hash.setdefault(value, binary)
        return cls(by_hash, warnings)

    def lookup(self, value: str) -> KnownBinary | None:
        """The known binary with this md5, sha1 or sha256 (any case), or ``None``."""
        return self._by_hash.get(value.strip().lower())

    def __len__(self) -> int:
        """How many hashes (of all three kinds) are indexed."""
        return len(self._by_hash)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and self.lookup(value) is not None


def dual_use_note(kind: IndicatorType, value: str, known: KnownGood | None = None) -> str | None:
    """Why a hash indicator is a *dual-use* one, or ``None`` when it names no known-good binary.

    The note never makes the indicator benign: a legitimate tool's hash in an advisory means
    the actors used that tool, and a hit is suspicious exactly when the file sits elsewhere.
    """
    if kind not in _LOOKUP_TYPES:
        return None
    binary = (known if known is not None else KnownGood.load()).lookup(value)
    if binary is None:
        return None
    platform = "Windows " if _WINDOWS_PATH.match(binary.standard_path) else ""
    name = binary.file_name or binary.original_name or "(unnamed)"
    details = [part for part in (binary.standard_path, binary.signer or binary.company) if part]
    where = f" ({', '.join(details)})" if details else ""
    return (
        f"dual-use: the known-good {platform}binary {name}{where}; a hit is judged by its location"
    )


@lru_cache(maxsize=1)
def _shipped() -> KnownGood:
    """Parse the package data once per process: every import and hunt asks the same set."""
    resource = resources.files("seawall.data").joinpath("knowngood", SHIPPED_NAME)
    try:
        text = gzip.decompress(resource.read_bytes()).decode("utf-8")
    except FileNotFoundError as error:
        raise SeawallError(f"known-good set {SHIPPED_NAME} is missing from the package") from error
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise SeawallError(f"known-good set {SHIPPED_NAME} is damaged: {error}") from error
    warnings: list[IntelWarning] = []
    by_hash: dict[str, KnownBinary] = {}
    try:
        rows = list(_parse(io.StringIO(text, newline=""), SHIPPED_NAME, SHIPPED_SOURCE, warnings))
    except BadInputError as error:
        raise SeawallError(f"known-good set {SHIPPED_NAME} is damaged: {error}") from error
    if warnings:
        raise SeawallError(f"known-good set {SHIPPED_NAME} is damaged: {warnings[0].message}")
    for hashes, binary in rows:
        for value in hashes:
            by_hash.setdefault(value, binary)
    return KnownGood(by_hash)


def _read_user_file(
    path: Path, warnings: list[IntelWarning]
) -> list[tuple[tuple[str, ...], KnownBinary]]:
    """Every good row of one user CSV; the whole file fails if it is not readable CSV text."""
    try:
        # utf-8-sig: spreadsheets put a BOM in front of the header.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(_parse(handle, str(path), str(path), warnings))
    except UnicodeDecodeError as error:
        raise BadInputError(
            f"not a CSV text file (not UTF-8: {error.reason})", str(path)
        ) from error
    except OSError as error:
        raise BadInputError(f"cannot read: {error.strerror or error}", str(path)) from error


def _parse(
    lines: Iterable[str], name: str, source: str, warnings: list[IntelWarning]
) -> Iterator[tuple[tuple[str, ...], KnownBinary]]:
    """(hashes, binary) per good row; bad rows become warnings located at ``name:line``."""
    header: list[str] | None = None
    for line, row in _rows(lines, name):
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = _header(row, name, line)
            continue
        where = f"{name}:{line}"
        if len(row) > len(header):
            warnings.append(
                IntelWarning(where, f"row has {len(row)} fields, the header has {len(header)}")
            )
            continue
        record = {column: cell.strip() for column, cell in zip(header, row, strict=False)}
        hashes, problem = _hashes(record)
        if problem:
            warnings.append(IntelWarning(where, problem))
            continue
        yield hashes, _binary(record, source)
    if header is None:
        raise BadInputError("empty file: a known-good CSV needs a header and rows", name)


def _rows(lines: Iterable[str], name: str) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on (a quoted field may span several lines)."""
    reader = csv.reader(lines, strict=True)  # an unclosed quote must not swallow the rest
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise BadInputError(f"not a readable CSV file: {error}", f"{name}:{line}") from error
        yield line, row


def _header(row: list[str], name: str, line: int) -> list[str]:
    """Canonical column names; a header without any hash column means this is not our CSV."""
    columns = [_ALIASES.get(cell.strip().lower(), cell.strip().lower()) for cell in row]
    if not any(column in HASH_COLUMNS or column == "hash" for column in columns):
        shown = ", ".join(cell[:40] for cell in row[:5])
        raise BadInputError(
            "not a known-good CSV: the first row must be a header naming a hash column"
            f" (md5, sha1, sha256 or hash); it is {shown!r}",
            f"{name}:{line}",
        )
    return [column if column in _KNOWN_COLUMNS else "" for column in columns]


def _hashes(record: Mapping[str, str]) -> tuple[tuple[str, ...], str]:
    """The row's valid hashes, or an explanation of why the row is not usable."""
    found: list[str] = []
    for column in (*HASH_COLUMNS, "hash"):
        value = record.get(column, "").lower()
        if not value:
            continue
        kind = _BY_LENGTH.get(len(value)) if column == "hash" else column
        if kind is None or not _HEX.fullmatch(value) or _BY_LENGTH.get(len(value)) != kind:
            return (), f"invalid {kind or 'hash'} {value[:80]!r} in column {column!r}"
        if value in _EMPTY:
            return (), f"{value} is the hash of an empty file, not of a binary"
        found.append(value)
    if not found:
        return (), "no hash in this row"
    return tuple(found), ""


def _binary(record: Mapping[str, str], source: str) -> KnownBinary:
    path = record.get("standard_path", "")
    file_name = record.get("file_name", "") or re.split(r"[\\/]", path)[-1]
    return KnownBinary(
        file_name=file_name.lower(),
        standard_path=path,
        signer=record.get("signer", ""),
        company=record.get("company", ""),
        product=record.get("product", ""),
        original_name=record.get("original_name", ""),
        source=source,
    )
