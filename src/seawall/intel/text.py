"""Readers for the indicator lists people keep by hand: plain text, CSV and Loki/THOR IOC files.

These files come from everywhere (pasted advisories, spreadsheet exports, years-old Loki
signature sets), so the readers are lenient per line and strict per file: a line they cannot
understand is a warning with its ``origin:line`` and the rest is still read, while a file that is
not a text list at all (invalid UTF-8, a 200 MB "line") is refused at once with a
:class:`~seawall.errors.BadInputError` instead of being half-read or exhausting memory.

The format is chosen from the content, never from the file name: the same ``iocs.txt`` is plain
text on one system and Loki's ``VALUE;COMMENT`` on another.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime

from seawall.errors import BadInputError, UsageError
from seawall.intel import textcheck
from seawall.intel.loki import HASH_LENGTHS, HEX, INTEGER, read_loki, shown
from seawall.intel.normalize import detect_type, normalise, refang
from seawall.model.indicator import IndicatorType, IntelDocument, RawIndicator

__all__ = ["FORMATS", "MAX_LINE_BYTES", "read", "sniff"]

FORMATS = ("text", "csv", "loki-hash", "loki-c2", "loki-filename")
MAX_LINE_BYTES = 1024 * 1024
_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 200

_COMMENT_PREFIXES = ("#", "//", ";")
_INLINE_COMMENT = re.compile(r"\s+#\s*")
_FIRST_FIELD = re.compile(r"\s*[\t,;|]\s*|\s+")
_TECHNIQUE = re.compile(r"\bT\d{4}(?:\.\d{3})?\b")
_T = IndicatorType
_REGEX_HINT = re.compile(r"\\|\.\*|\[|\(|\$|\^|\|")


# --- decoding ---------------------------------------------------------------------------------


def _check_line_lengths(data: bytes, origin: str) -> None:
    """Refuse a file with a line over :data:`MAX_LINE_BYTES` before decoding or splitting it.

    Each step looks for the *last* newline within one line's allowance: every line before it is
    short enough, so the scan advances about 1 MiB per step, and a 200 MB file without newlines
    fails after looking at 1 MiB of it rather than after copying it into a string and a list.
    """
    start, size = 0, len(data)
    while size - start > MAX_LINE_BYTES:
        end = data.rfind(b"\n", start, start + MAX_LINE_BYTES + 1)
        if end < 0:
            number = data.count(b"\n", 0, start) + 1
            next_end = data.find(b"\n", start)
            length = (size if next_end < 0 else next_end) - start
            raise BadInputError(
                f"line {number} is {length} bytes long; not an indicator list "
                f"(lines are at most {MAX_LINE_BYTES} bytes)",
                f"{origin}:{number}",
            )
        start = end + 1


def _decode(data: bytes, origin: str) -> str:
    """Strict UTF-8 (a BOM is allowed): a wrong guess at an encoding would corrupt indicators."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise BadInputError("the file is UTF-16; save it as UTF-8", origin)
    _check_line_lengths(data, origin)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise BadInputError(
            f"invalid UTF-8 on line {line} at byte offset {error.start} ({error.reason}); "
            "save the file as UTF-8",
            f"{origin}:{line}",
        ) from None
    return text.removeprefix("\ufeff")


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Numbered lines, found one at a time (never a second copy of a big list); ``\\n`` only."""
    start, number, size = 0, 1, len(text)
    while start <= size:
        end = text.find("\n", start)
        if end < 0:
            end = size
        yield number, text[start:end].removesuffix("\r")
        start, number = end + 1, number + 1


def _is_comment(line: str) -> bool:
    return line.startswith(_COMMENT_PREFIXES)


# --- sniffing ---------------------------------------------------------------------------------


def sniff(data: bytes) -> str:
    """Pick one of :data:`FORMATS` from the first lines of the content.

    Semicolon lines are Loki's: a hash first → ``loki-hash``; a regex and an integer score →
    ``loki-filename``; anything else recognisable first → ``loki-c2``. A recognised header row or
    a consistent delimiter makes CSV. Everything else is plain text, the most forgiving reader.
    """
    sample = data[:_SNIFF_BYTES].decode("utf-8", errors="replace").removeprefix("\ufeff")
    raw_lines = sample.split("\n")
    if len(data) > _SNIFF_BYTES:
        raw_lines = raw_lines[:-1]  # the last line may be cut
    lines = [line.strip() for line in raw_lines if line.strip()][:_SNIFF_LINES]
    content = [line for line in lines if not line.startswith(("#", "//"))]
    if not content:
        return "text"
    delimiter = _delimiter(content)
    # abuse.ch feeds put the header in the last comment line before the data.
    leading = [line.lstrip("#").strip() for line in lines[: lines.index(content[0])]]
    for candidate in [*leading[-1:], content[0]]:
        if _header_columns(_split_row(candidate, delimiter)) is not None:
            return "csv"
    loki = _sniff_loki(content)
    if loki is not None:
        return loki
    if _looks_delimited(content, delimiter):
        return "csv"
    return "text"


def _split_row(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # e.g. a field over the csv module's size limit: not a header
        return []


def _sniff_loki(lines: list[str]) -> str | None:
    semicolon = [line for line in lines if ";" in line]
    if len(semicolon) < max(1, int(len(lines) * 0.8)):
        return None
    fields = [line.split(";") for line in semicolon]
    votes = {"loki-hash": 0, "loki-filename": 0, "loki-c2": 0}
    for parts in fields:
        first = parts[0].strip()
        if len(first) in HASH_LENGTHS and HEX.fullmatch(first):
            votes["loki-hash"] += 1
        elif len(parts) >= 2 and INTEGER.fullmatch(parts[1].strip()) and _REGEX_HINT.search(first):
            votes["loki-filename"] += 1
        elif detect_type(refang(first)) is not None:
            votes["loki-c2"] += 1
    best = max(votes, key=lambda key: votes[key])
    return best if votes[best] * 2 > len(fields) else None


def _delimiter(lines: list[str]) -> str:
    """The field delimiter; quoting stays Excel's, since the sniffer guesses that part badly."""
    sample: list[str] = []
    size = 0
    for line in lines[:50]:
        sample.append(line[:_SNIFF_BYTES])
        size += len(sample[-1])
        if size >= _SNIFF_BYTES:
            break
    try:
        return csv.Sniffer().sniff("\n".join(sample), delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def _looks_delimited(lines: list[str], delimiter: str) -> bool:
    """Every sampled line splits into the same number (>1) of fields, most led by an indicator."""
    rows = [_split_row(line, delimiter) for line in lines]
    widths = {len(row) for row in rows}
    if len(widths) != 1 or widths == {1} or widths == {0}:
        return False
    recognised = sum(1 for row in rows if detect_type(refang(row[0])) is not None)
    return recognised * 2 > len(rows)


# --- reading ----------------------------------------------------------------------------------


def read(data: bytes, origin: str, format: str | None = None) -> IntelDocument:
    """Read one file's bytes; ``origin`` names it in locations (``origin:line``).

    ``format`` is one of :data:`FORMATS`, or ``None`` to :func:`sniff` it; a sniffed file that
    is not an indicator list (prose, a checksum list, a log…) is refused (see
    :mod:`seawall.intel.textcheck`), a named format is read as told.
    """
    chosen = format or sniff(data)
    if chosen not in FORMATS:
        raise UsageError(f"unknown text intel format {chosen!r}; expected one of {FORMATS}")
    text = _decode(data, origin)
    head = [line.strip() for line in text[:_SNIFF_BYTES].split("\n")]
    if format is None:
        textcheck.refuse_recognised(head, origin)
    document = IntelDocument(format=chosen)
    if chosen == "text":
        content, understood = _read_plain(text, origin, document), 0
    elif chosen == "csv":
        content, understood = _read_csv(text, origin, document)
    else:
        content, understood = read_loki(_lines(text), origin, chosen, document), 0
    if format is None:
        understood += len({raw.location for raw in document.indicators})
        textcheck.refuse_unless_indicators(head, understood, content, origin)
    return document


def _read_plain(text: str, origin: str, document: IntelDocument) -> int:
    """Read a plain list; return how many content lines (not blank, not comments) it has."""
    content = 0
    for number, raw in _lines(text):
        line = raw.strip()
        if not line or _is_comment(line):
            continue
        content += 1
        location = f"{origin}:{number}"
        value, *comments = _INLINE_COMMENT.split(line, maxsplit=1)
        comment = comments[0].strip() if comments else ""
        value = refang(value)
        kind = detect_type(value)
        if kind is None:
            # "1.2.3.4   scanner seen in May": a value, then words about it.
            first, *rest = _FIRST_FIELD.split(value, maxsplit=1)
            candidate = refang(first)
            if rest and (kind := detect_type(candidate)) is not None:
                comment = " ".join(filter(None, [rest[0].strip(), comment]))
                value = candidate
        if kind is None:
            document.warn(location, f"cannot tell what kind of indicator {shown(value)!r} is")
            continue
        document.indicators.append(
            RawIndicator(value=value, type=kind, location=location, description=comment or None)
        )
    return content


# --- CSV --------------------------------------------------------------------------------------

# fmt: off
_ROLES: dict[str, tuple[str, ...]] = {
    "value": ("indicator", "value", "ioc", "observable", "ioc_value", "indicator_value", "data"),
    "type": ("type", "indicator_type", "ioc_type", "observable_type", "category_type"),
    "description": ("comment", "comments", "description", "desc", "note", "notes", "context"),
    "title": ("title", "event_info", "info", "name"),
    "confidence": ("confidence", "score", "threat_score", "confidence_score"),
    "first_seen": ("first_seen", "firstseen", "first_seen_utc", "date_added", "dateadded"),
    "last_seen": ("last_seen", "lastseen", "last_seen_utc"),
    "valid_from": ("valid_from",),
    "valid_until": ("valid_until", "expiration", "expires", "valid_to"),
    "tags": ("tags", "tag", "labels", "malware", "threat"),
    "techniques": ("techniques", "technique", "technique_id", "attack", "attack_id", "mitre",
                   "ttps"),
    "external_id": ("id", "uuid", "indicator_id", "ioc_id"),
}
_COLUMN_ROLE = {name: role for role, names in _ROLES.items() for name in names}

_HASHES = (_T.MD5, _T.SHA1, _T.SHA256, _T.SHA512)
_IPS = (_T.IPV4, _T.IPV6)
# Type names from MISP, OTX, STIX and hand-made sheets (lower-case, '_' and ' ' read as '-').
_TYPE_NAMES: dict[str, tuple[IndicatorType, ...]] = {
    **dict.fromkeys(("md5", "filehash-md5", "hash-md5"), (_T.MD5,)),
    **dict.fromkeys(("sha1", "sha-1", "filehash-sha1", "hash-sha1"), (_T.SHA1,)),
    **dict.fromkeys(("sha256", "sha-256", "filehash-sha256", "hash-sha256"), (_T.SHA256,)),
    **dict.fromkeys(("sha512", "sha-512", "filehash-sha512"), (_T.SHA512,)),
    **dict.fromkeys(("hash", "filehash", "file-hash"), _HASHES),
    "ssdeep": (_T.SSDEEP,),
    **dict.fromkeys(("domain", "hostname", "host", "fqdn", "domain-name", "dns"), (_T.DOMAIN,)),
    **dict.fromkeys(("ip", "ip-dst", "ip-src", "ip-address", "ipaddress", "address"), _IPS),
    **dict.fromkeys(("ipv4", "ipv4-addr", "ipv4-address", "ip4"), (_T.IPV4,)),
    **dict.fromkeys(("ipv6", "ipv6-addr", "ipv6-address", "ip6"), (_T.IPV6,)),
    **dict.fromkeys(("cidr", "ip-range", "netblock", "network", "subnet"), (_T.CIDR,)),
    **dict.fromkeys(("url", "uri", "link-url"), (_T.URL,)),
    **dict.fromkeys(("email", "email-src", "email-dst", "email-addr", "email-address"),
                    (_T.EMAIL,)),
    **dict.fromkeys(("email-subject", "subject"), (_T.EMAIL_SUBJECT,)),
    **dict.fromkeys(("filename", "file-name", "file"), (_T.FILE_NAME,)),
    **dict.fromkeys(("filepath", "file-path", "path"), (_T.FILE_PATH,)),
    **dict.fromkeys(("regex", "path-regex", "filename-regex"), (_T.PATH_REGEX,)),
    **dict.fromkeys(("mutex", "mutant", "mutex-name"), (_T.MUTEX,)),
    **dict.fromkeys(("regkey", "registry", "registry-key", "windows-registry-key"), (_T.REGISTRY,)),
    **dict.fromkeys(("cve", "vulnerability"), (_T.CVE,)),
}
# MISP attribute types that are context, not indicators: skipped and counted in one warning.
_NOT_INDICATORS = frozenset({
    "comment", "text", "other", "link", "attachment", "datetime", "port", "size-in-bytes",
    "counter", "float", "hex", "boolean", "yara", "sigma", "snort", "pattern-in-file",
    "pattern-in-traffic", "whois-registrant-name", "as",
})
# fmt: on
_REFANGED = frozenset({_T.DOMAIN, _T.IPV4, _T.IPV6, _T.CIDR, _T.URL, _T.EMAIL})
_CONFIDENCE_WORDS = {"none": 0, "low": 15, "medium": 50, "med": 50, "high": 85}  # STIX 2.1 scale


def _column_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _type_names(name: str) -> tuple[IndicatorType, ...]:
    """Indicator types a type name (or a typed column: ``sha256_hash``, ``dst_ip``) stands for."""
    key = _column_key(name).replace("_", "-")
    stripped = key.removesuffix("-hash").removeprefix("dst-").removeprefix("src-")
    return _TYPE_NAMES.get(key) or _TYPE_NAMES.get(stripped, ())


def _header_columns(row: list[str]) -> dict[str, int] | None:
    """Column index by role when ``row`` is a header; ``None`` when it is data.

    A header names a value or type column, or columns named after a type (``url``,
    ``sha256_hash``: abuse.ch feeds), and none of its cells is itself an indicator.
    """
    roles: dict[str, int] = {}
    for index, name in enumerate(row):
        role = _COLUMN_ROLE.get(_column_key(name))
        if role is None and _type_names(name):
            role = "as:" + name  # a typed column
        elif role == "tags" and role in roles:
            role = "tags:" + name  # every tag-like column contributes
        if role is not None and role not in roles:
            roles[role] = index
    named = "value" in roles or "type" in roles or any(role[:3] == "as:" for role in roles)
    if not named or any(detect_type(refang(cell)) is not None for cell in row):
        return None
    return roles


def _read_csv(text: str, origin: str, document: IntelDocument) -> tuple[int, int]:
    """Read a CSV list; return its data rows and the rows skipped as not indicators."""
    sample = [line for line in text[:_SNIFF_BYTES].split("\n")[:_SNIFF_LINES] if line.strip()]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(sample))
    columns: dict[str, int] | None = None
    skipped: dict[str, int] = {}
    line = rows = 0
    first = True
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            document.warn(f"{origin}:{start}", f"unreadable CSV row: {error}")
            if reader.line_num <= line:
                break
            line = reader.line_num
            continue
        line = reader.line_num
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        header = None
        if first:
            # abuse.ch feeds write the header as a comment ("# id,dateadded,url,...").
            commented = _is_comment(cells[0])
            names = [cells[0].lstrip("#/;").strip(), *cells[1:]] if commented else cells
            header = _header_columns(names)
            if header is not None:
                columns = _with_value_column(header, f"{origin}:{start}", document)
            first = commented
        if header is not None or _is_comment(cells[0]):
            continue
        rows += 1
        _csv_row(cells, columns, f"{origin}:{start}", document, skipped)
    if skipped:
        listed = ", ".join(f"{name} ({count})" for name, count in sorted(skipped.items()))
        document.warn(origin, f"skipped rows whose type is not an indicator: {listed}")
    return rows, sum(skipped.values())


def _with_value_column(columns: dict[str, int], where: str, doc: IntelDocument) -> dict[str, int]:
    """A header must say where the values are; when it does not, the first column is assumed."""
    if "value" not in columns and not any(role[:3] == "as:" for role in columns):
        doc.warn(where, "no value column named; using the first")
        columns["value"] = 0
    return columns


def _csv_row(
    cells: list[str],
    columns: dict[str, int] | None,
    location: str,
    document: IntelDocument,
    skipped: dict[str, int],
) -> None:
    if columns is None:
        typed = _typed(cells[0], None, location, document)
        if typed is not None:  # no header: the first cell is the value, the rest describes it
            extra = "; ".join(cell for cell in cells[1:] if cell) or None
            document.indicators.append(
                RawIndicator(typed[1], typed[0], location, description=extra)
            )
        return

    def cell(role: str) -> str:
        index = columns.get(role)
        return cells[index] if index is not None and index < len(cells) else ""

    type_name = cell("type")
    if "value" in columns:
        values, type_names = [cell("value")], [type_name]
        if "|" in type_name and values[0].count("|") == type_name.count("|"):
            values, type_names = values[0].split("|"), type_name.split("|")  # MISP filename|md5
    else:  # one indicator per typed column
        typed_columns = [role for role in columns if role[:3] == "as:"]
        values, type_names = [cell(role) for role in typed_columns], [r[3:] for r in typed_columns]
    tag_text = ",".join(cell(role) for role in columns if role.startswith("tags"))
    tags = tuple(dict.fromkeys(tag.strip() for tag in re.split(r"[,;|]", tag_text) if tag.strip()))
    techniques = tuple(dict.fromkeys(_TECHNIQUE.findall(cell("techniques") + " " + tag_text)))
    for value, name in zip(values, type_names, strict=True):
        key = _column_key(name).replace("_", "-")
        if key in _NOT_INDICATORS:
            skipped[key] = skipped.get(key, 0) + 1
            continue
        if not value:
            continue
        typed = _typed(value, name or None, location, document)
        if typed is None:
            continue
        document.indicators.append(
            RawIndicator(
                value=typed[1],
                type=typed[0],
                location=location,
                external_id=cell("external_id") or None,
                title=cell("title") or None,
                description=cell("description") or None,
                confidence=_confidence(cell("confidence"), location, document),
                valid_from=_timestamp(cell("valid_from"), location, document),
                valid_until=_timestamp(cell("valid_until"), location, document),
                first_seen=_timestamp(cell("first_seen"), location, document),
                last_seen=_timestamp(cell("last_seen"), location, document),
                techniques=techniques,
                tags=tags,
            )
        )


def _typed(
    value: str, type_name: str | None, location: str, document: IntelDocument
) -> tuple[IndicatorType, str] | None:
    """The type a row's value is read as; the declared type wins whenever the value fits it."""
    declared: tuple[IndicatorType, ...] = ()
    if type_name is not None:
        declared = _type_names(type_name)
        for kind in declared if len(declared) == 1 else ():
            try:
                normalise(kind, value)
            except ValueError:
                break
            return kind, refang(value) if kind in _REFANGED else value
    live = refang(value)
    detected = detect_type(live)
    if detected is None:
        said = f" (type {type_name!r})" if type_name else ""
        document.warn(location, f"cannot tell what kind of indicator {shown(value)!r} is{said}")
        return None
    if type_name is not None and detected not in declared:
        problem = "is not a type seawall knows" if not declared else "does not fit the value"
        document.warn(
            location,
            f"type {type_name!r} {problem}; {shown(value)!r} read as {detected.value}",
        )
    return detected, live


def _confidence(text: str, location: str, document: IntelDocument) -> int | None:
    """0..100 from an integer, a 0..1 fraction, or the STIX words low/medium/high."""
    if not text:
        return None
    word = _CONFIDENCE_WORDS.get(text.lower())
    if word is not None:
        return word
    try:
        number = float(text)
    except ValueError:
        document.warn(location, f"confidence {shown(text)!r} is not a number; ignored")
        return None
    if not math.isfinite(number):
        document.warn(location, f"confidence {shown(text)!r} is not a finite number; ignored")
        return None
    if "." in text and 0 <= number <= 1:
        number *= 100
    return max(0, min(100, round(number)))


def _timestamp(text: str, location: str, document: IntelDocument) -> datetime | None:
    """ISO 8601 or Unix seconds; a time without zone is taken as UTC (what feeds mean)."""
    if not text:
        return None
    try:
        if INTEGER.fullmatch(text):
            return datetime.fromtimestamp(int(text), tz=UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        document.warn(location, f"time {shown(text)!r} is not ISO 8601 or Unix seconds; ignored")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
