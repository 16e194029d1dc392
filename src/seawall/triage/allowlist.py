"""Allowlists as data: who may do what, from where, on which host, when — with a reason.

AA21-200A asks defenders to judge admin-share mapping and remote logons "against an allowlist
or baseline". An allowlist file lists entries, and is used two ways, with the same format:

- at hunt time (``seawall hunt --allowlist FILE``, repeatable): the hunt loads the entries into
  the ``allowlist`` table (:mod:`seawall.detect.sqlhelpers`) and each detection's SQL asks
  ``allowlisted(...)`` for its rows; entries that SQL cannot judge (``path``, ``value``), and
  every entry for detections whose query does not ask, are matched against the findings
  (:mod:`seawall.triage.matching`);
- afterwards (``seawall triage apply FILE``): matched against the findings stored in the case,
  retroactively, without hunting again (:mod:`seawall.triage.state`).

A match is kept as a *suppressed* finding that names the entry (``file:line``) and its reason, so
an allowlist never hides anything without saying so.

Two formats, told by content: YAML (a mapping with an ``allow:`` list) or CSV (a header line
with the same column names, in any order). Every field but ``reason`` is optional and absent
means "any":

=============  ===================================================================================
``detection``  detection id, or a glob (``evtx.*``)
``user``       account glob, case-insensitive; without ``\\`` or ``@`` it matches any domain
               (``svc-backup`` matches ``CORP\\svc-backup``)
``source``     where the activity came from: an address or network (``10.1.0.0/16``), or a
               host-name glob
``host``       the host the activity was on (its full name or first label)
``item``       what was used, glob: the share (``ADMIN$``), the command (``ping``), the service…
``path``       a file path glob (``C:\\Tools\\*``; ``\\`` and ``/`` alike), against the paths
               in the finding's evidence
``value``      an evidence value or indicator, glob (``203.0.113.7``, ``*.corp.example``)
``from``       the activity must be on or after this time (the finding's first record)
``to``         the activity must be on or before this time (the finding's last record)
``until``      the entry itself expires after this time: from then on it is not applied (and
               suppressions it made no longer hold), with a warning naming it
``reason``     why it is allowed (required: a reason is what the analyst reads)
=============  ===================================================================================

Times are ISO 8601, UTC unless an offset is given. Globs use ``*`` (any text) and ``?`` (one
character), case-insensitive. Errors name the file and line.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from seawall.detect.sqlhelpers import ALLOWLIST_SCHEMA
from seawall.errors import BadInputError, UsageError
from seawall.yamldoc import (
    check_node_tree,
    compose,
    construct,
    line_of,
    read_bounded_utf8,
    validation_error,
)

MAX_ALLOWLIST_BYTES = 16 * 1024 * 1024
MAX_YAML_NODES = 500_000
COLUMNS = (
    "detection",
    "user",
    "source",
    "host",
    "item",
    "path",
    "value",
    "from",
    "to",
    "until",
    "reason",
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Entry(BaseModel):
    """One allowlist entry (see the module docstring); ``from`` is ``window_from`` here."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    detection: Text | None = None
    user: Text | None = None
    source: Text | None = None
    host: Text | None = None
    item: Text | None = None
    path: Text | None = None
    value: Text | None = None
    window_from: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None
    until: datetime | None = None
    reason: Text

    @field_validator("to", "until", mode="before")
    @classmethod
    def _whole_day(cls, value: Any) -> Any:
        """A date alone (``to: 2024-03-31``) means the end of that day, not its first instant."""
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time.max)
        if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
            return datetime.combine(date.fromisoformat(value.strip()), time.max)
        return value

    @property
    def judged_in_sql(self) -> bool:
        """Whether a detection's ``allowlisted(...)`` can judge it: it names no path or value."""
        return self.path is None and self.value is None

    def expired(self, now: datetime) -> bool:
        """Whether the entry's ``until`` has passed (``now`` in UTC)."""
        until = utc(self.until)
        return until is not None and until < (now if now.tzinfo else now.replace(tzinfo=UTC))


class AllowlistFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: list[Entry] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Located:
    """An entry and where it was written (``file:line``)."""

    entry: Entry
    origin: str


def glob_regex(pattern: str) -> str:
    """A case-insensitive glob as an RE2 pattern for a full match of lower-case text."""
    parts: list[str] = []
    for char in pattern.lower():
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char.isalnum() or char in " _-":
            parts.append(char)
        else:
            parts.append("\\" + char if char in "\\.^$|+()[]{}/" else char)
    return "".join(parts)


def user_regex(pattern: str) -> str:
    """An account glob; one without a domain matches the account in any domain."""
    body = glob_regex(pattern)
    if "\\" in pattern or "@" in pattern:
        return body
    return rf"(.*\\)?{body}(@.*)?"


def utc(value: datetime | None) -> datetime | None:
    """A time as aware UTC (a time without an offset is taken as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row(located: Located) -> dict[str, Any]:
    entry = located.entry
    source_net = False
    source_re: str | None = None
    if entry.source is not None:
        try:
            ipaddress.ip_network(entry.source.strip(), strict=False)
            source_net = True
        except ValueError:
            source_re = glob_regex(entry.source)
    return {
        "origin": located.origin,
        "reason": entry.reason,
        "detection_re": glob_regex(entry.detection) if entry.detection else ".*",
        "user_re": user_regex(entry.user) if entry.user else None,
        "source": entry.source,
        "source_re": source_re,
        "source_net": source_net,
        "host_re": glob_regex(entry.host) if entry.host else None,
        "item_re": glob_regex(entry.item) if entry.item else None,
        "window_from": utc(entry.window_from),
        "window_to": utc(entry.to),
    }


def as_table(entries: Iterable[Located]) -> pa.Table:
    """The entries SQL can judge (no ``path`` or ``value``) as rows of the hunt's ``allowlist``
    table; expired entries must have been left out (:func:`split_expired`)."""
    rows = [_row(e) for e in entries if e.entry.judged_in_sql]
    return pa.Table.from_pylist(rows, schema=ALLOWLIST_SCHEMA)


def split_expired(entries: Iterable[Located], now: datetime) -> tuple[list[Located], list[str]]:
    """The entries still in force, and a warning for each one whose ``until`` has passed."""
    live: list[Located] = []
    warnings: list[str] = []
    for located in entries:
        if located.entry.expired(now):
            until = utc(located.entry.until)
            shown = until.isoformat() if until else "?"
            warnings.append(f"{located.origin}: expired on {shown}: not applied")
        else:
            live.append(located)
    return live, warnings


def _parse_yaml(text: str, display: str) -> list[Located]:
    root = compose(text, display, empty_message="allowlist is empty")
    check_node_tree(root, display, MAX_YAML_NODES, noun="allowlist")
    data = construct(root, display)
    if not isinstance(data, dict):
        raise BadInputError("expected a mapping with an `allow:` list", f"{display}:1")
    try:
        parsed = AllowlistFile.model_validate(data)
    except ValidationError as error:
        raise validation_error(error, root, display, root_name="allowlist") from None
    return [
        Located(entry, f"{display}:{line_of(root, ('allow', index))}")
        for index, entry in enumerate(parsed.allow)
    ]


def _parse_csv(text: str, display: str) -> list[Located]:
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown or "reason" not in header:
        problem = f"unknown column(s) {', '.join(unknown)}" if unknown else "no `reason` column"
        raise BadInputError(
            f"allowlist CSV: {problem} (columns: {', '.join(COLUMNS)})", f"{display}:1"
        )
    found: list[Located] = []
    for values in reader:
        number = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise BadInputError(
                f"{len(values)} fields where the header has {len(header)}", f"{display}:{number}"
            )
        record = {k: v.strip() for k, v in zip(header, values, strict=True) if v.strip()}
        try:
            entry = Entry.model_validate(record)
        except ValidationError as error:
            detail = error.errors(include_url=False)[0]
            where = ".".join(str(step) for step in detail["loc"]) or "entry"
            raise BadInputError(f"{where}: {detail['msg']}", f"{display}:{number}") from None
        found.append(Located(entry, f"{display}:{number}"))
    return found


def load_allowlist(path: Path) -> list[Located]:
    """Every entry of an allowlist file (YAML or CSV, told by content); errors at file:line."""
    if not path.is_file():
        raise UsageError(f"no such allowlist file: {path}")
    display = str(path)
    with path.open("rb") as handle:
        data = handle.read(MAX_ALLOWLIST_BYTES + 1)
    text = read_bounded_utf8(data, display, MAX_ALLOWLIST_BYTES, noun="allowlist")
    text = text.removeprefix("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    header = [h.strip().lower() for h in first.split(",")]
    if "," in first and "reason" in header and not first.lstrip().startswith(("allow", "#")):
        return _parse_csv(text, display)
    return _parse_yaml(text, display)


def load_allowlists(paths: Iterable[Path]) -> list[Located]:
    return [entry for path in paths for entry in load_allowlist(path)]


def matches_detection(entries: Iterable[Located], detection_id: str) -> bool:
    """Whether any entry applies to ``detection_id`` (for the "no allowlist given" note)."""
    return any(
        re.fullmatch(glob_regex(e.entry.detection) if e.entry.detection else ".*", detection_id)
        for e in entries
    )
