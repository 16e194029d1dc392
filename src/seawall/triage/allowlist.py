"""Allowlists as data: who may do what, from where, on which host — with a reason.

AA21-200A asks defenders to judge admin-share mapping and remote logons "against an allowlist
or baseline". An allowlist file (``seawall hunt --allowlist FILE``, repeatable) lists entries;
the hunt loads them into the ``allowlist`` table (:mod:`seawall.detect.sqlhelpers`) and each
detection's SQL asks ``allowlisted(...)`` for its rows: a match is kept as a *suppressed*
finding that names the entry (``file:line``) and its reason, so an allowlist never hides
anything without saying so.

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
``until``      the entry expires after this time (ISO 8601; UTC unless an offset is given)
``reason``     why it is allowed (required: a reason is what the analyst reads)
=============  ===================================================================================

Globs use ``*`` (any text) and ``?`` (one character). Errors name the file and line.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

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
COLUMNS = ("detection", "user", "source", "host", "item", "until", "reason")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Entry(BaseModel):
    """One allowlist entry (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    detection: Text | None = None
    user: Text | None = None
    source: Text | None = None
    host: Text | None = None
    item: Text | None = None
    until: datetime | None = None
    reason: Text


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


def _utc(value: datetime | None) -> datetime | None:
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
        "until": _utc(entry.until),
    }


def as_table(entries: Iterable[Located]) -> pa.Table:
    """The entries as rows of the hunt's ``allowlist`` table."""
    return pa.Table.from_pylist([_row(e) for e in entries], schema=ALLOWLIST_SCHEMA)


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
