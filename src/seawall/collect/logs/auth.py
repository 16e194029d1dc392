"""External authentication logs into the ``auth`` table: VPN, webmail, SSO, Entra ID sign-ins.

AA21-200A asks defenders to correlate the credentials used on external-facing systems with
those used inside (guidance M-CRED-3). Every product logs sign-ins its own way, so seawall reads
one documented schema (``auth-csv``, ``auth-json``: export or map your product's log to it) and
Microsoft Entra ID's sign-in log as the portal and Microsoft Graph export it (``entra``).

**auth-csv / auth-json** — columns (CSV header, or JSON keys) by name, any order, any case:

============== ======== ===============================================================
column         required meaning
============== ======== ===============================================================
time           yes      ISO 8601 (UTC unless an offset is given) or epoch seconds
user           yes      the account as the service saw it (``alice``, ``CORP\\alice``,
                        ``alice@corp.example``)
domain                  the account's domain, when not part of ``user``
source_ip               the client address
location                free text (``Paris, FR``)
country                 ISO 3166 code of the client's country
latitude,               the client's coordinates (for impossible travel)
longitude
target                  what was signed in to (host, URL, resource)
service                 the service (``vpn``, ``owa``, ``sso``, an application name)
method                  authentication method (``password``, ``certificate``, ``push``…)
result                  ``success`` or ``failure`` (also ok/succeeded/accepted/true,
                        failed/denied/rejected/false); other text is kept
mfa                     whether a second factor was used: yes/no, true/false, mfa/none,
                        single-factor; a method name (``push``, ``totp``) means yes
reason                  failure reason or code
device                  device name or id
logon_type              client kind (``browser``, ``imap``, ``activesync``)
scope                   ``external`` (the default: this schema is for external-facing
                        systems) or ``internal``
============== ======== ===============================================================

Unknown columns are ignored with one warning. JSON may be JSON lines, an array, or
``{"value": [...]}``.

Entra ID sign-in logs (``entra``) are read by :mod:`seawall.collect.logs.entra`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from seawall.collect.archives import Stream
from seawall.collect.base import Batch, Mediator
from seawall.collect.lines import Lines
from seawall.collect.logs import LogFormat, LogOptions, register
from seawall.collect.logs.jsonrecords import json_records
from seawall.errors import BadInputError
from seawall.model.log_tables import AUTH

BATCH_ROWS = 10_000
SCHEMA_COLUMNS = (
    "time",
    "user",
    "domain",
    "source_ip",
    "location",
    "country",
    "latitude",
    "longitude",
    "target",
    "service",
    "method",
    "result",
    "mfa",
    "reason",
    "device",
    "logon_type",
    "scope",
)
# Schema name -> auth table column (the others are the same).
_TABLE_NAMES = {"user": "user_name", "domain": "user_domain", "location": "source_location"}
_ALIASES = {"user_name": "user", "user_domain": "domain", "source_location": "location"}
# The columns a reader fills: the schema's, by their table names, and the provenance.
_FILLED = (
    *(_TABLE_NAMES.get(column, column) for column in SCHEMA_COLUMNS),
    "record_ref",
    "source_file",
)
_SCHEMA = pa.schema([AUTH.schema.field(c) for c in _FILLED])

_SUCCESS = {
    "success",
    "succeeded",
    "successful",
    "ok",
    "allow",
    "allowed",
    "accept",
    "accepted",
    "true",
    "pass",
    "passed",
    "0",
}
_FAILURE = {
    "failure",
    "failed",
    "fail",
    "deny",
    "denied",
    "reject",
    "rejected",
    "false",
    "error",
    "blocked",
}
_MFA_YES = {
    "yes",
    "true",
    "mfa",
    "multi-factor",
    "multifactor",
    "2fa",
    "y",
    "1",
    "multifactorauthentication",
    "multifactor authentication",
}
_MFA_NO = {
    "no",
    "false",
    "none",
    "single-factor",
    "singlefactor",
    "n",
    "0",
    "password",
    "singlefactorauthentication",
    "single-factor authentication",
}


def parse_time(value: Any) -> datetime:
    """ISO 8601 (UTC unless an offset is given) or epoch seconds, as an aware UTC time."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value).strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), UTC)
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    # Python before 3.11 and Graph's 7-digit fractions: keep at most 6 digits.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"time {value!r} is neither ISO 8601 nor epoch seconds") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def normal_result(value: Any) -> str | None:
    text = str(value).strip().lower() if value is not None else ""
    if not text:
        return None
    if text in _SUCCESS:
        return "success"
    if text in _FAILURE:
        return "failure"
    return text


def normal_mfa(value: Any) -> str | None:
    """``mfa``, ``single-factor`` or NULL (the log does not say)."""
    if value is None or isinstance(value, bool):
        return None if value is None else ("mfa" if value else "single-factor")
    text = str(value).strip().lower()
    if not text or text in ("-", "unknown", "notapplicable", "n/a"):
        return None
    if text in _MFA_NO:
        return "single-factor"
    return "mfa" if text in _MFA_YES or text else None


def as_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def country_of(location: str | None) -> str | None:
    """The two-letter code at the end of ``Paris, Ile-de-France, FR``."""
    if not location:
        return None
    last = location.rsplit(",", 1)[-1].strip()
    return last.upper() if re.fullmatch(r"[A-Za-z]{2}", last) else None


class AuthRows:
    """Collects rows and hands them out as batches of the auth table."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def batch(self, position: int | None, force: bool = False) -> Batch | None:
        if not self.rows or (len(self.rows) < BATCH_ROWS and not force):
            return None
        table = pa.Table.from_pylist(self.rows, schema=_SCHEMA)
        self.rows = []
        return Batch("auth", table, position)


def _schema_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record of the documented schema (keys already lower-case) as an auth row."""
    row: dict[str, Any] = {}
    for name in SCHEMA_COLUMNS:
        if name in record:
            row[_TABLE_NAMES.get(name, name)] = record[name]
    user = text_or_none(row.get("user_name"))
    if user is None:
        raise ValueError("no user")
    row["user_name"] = user
    row["time"] = parse_time(row.get("time"))
    row["result"] = normal_result(row.get("result"))
    row["mfa"] = normal_mfa(row.get("mfa"))
    row["latitude"] = as_float(row.get("latitude"))
    row["longitude"] = as_float(row.get("longitude"))
    for name in (
        "user_domain",
        "source_ip",
        "source_location",
        "target",
        "service",
        "method",
        "reason",
        "device",
        "logon_type",
    ):
        row[name] = text_or_none(row.get(name))
    row["country"] = text_or_none(row.get("country")) or country_of(row["source_location"]) or None
    if row["country"]:
        row["country"] = row["country"].upper()
    scope = (text_or_none(row.get("scope")) or "external").lower()
    if scope not in ("external", "internal"):
        raise ValueError(f"scope {scope!r} is neither external nor internal")
    row["scope"] = scope
    return row


def _lower_keys(record: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in record.items():
        name = str(key).strip().lower()
        found[_ALIASES.get(name, name)] = value
    return found


class SchemaCsvReader:
    """``auth-csv``: a header naming the documented columns, any order."""

    def read_stream(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]:
        lines = Lines(stream.handle, stream.label, mediator)
        reader = csv.reader(iter(lines))
        header = [h.strip().lower() for h in next(reader, [])]
        header = [_ALIASES.get(h, h) for h in header]
        if "time" not in header or "user" not in header:
            raise BadInputError(
                "auth CSV: the header must name at least `time` and `user` (columns: "
                + ", ".join(SCHEMA_COLUMNS)
                + ")",
                f"{stream.label}:1",
            )
        unknown = [h for h in header if h not in SCHEMA_COLUMNS]
        if unknown:
            mediator.warn(f"{stream.label}:1", f"columns ignored: {', '.join(unknown)}")
        rows = AuthRows()
        for values in reader:
            where = lines.where
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                mediator.warn(where, f"{len(values)} fields where the header has {len(header)}")
                continue
            try:
                row = _schema_row(dict(zip(header, values, strict=True)))
            except ValueError as error:
                mediator.warn(where, f"row skipped: {error}")
                continue
            row["record_ref"] = f"line {lines.number}"
            row["source_file"] = stream.label
            rows.add(row)
            if (batch := rows.batch(lines.position)) is not None:
                yield batch
        if (batch := rows.batch(lines.position, force=True)) is not None:
            yield batch


class JsonRecordsReader:
    """JSON records (lines, array or ``{"value": [...]}``) turned into rows by ``convert``."""

    def __init__(self, convert: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
        self.convert = convert

    def read_stream(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]:
        rows = AuthRows()
        position = 0
        for record in json_records(stream.handle, stream.label, mediator):
            position = record.position
            if not isinstance(record.value, dict):
                mediator.warn(record.where, "not a JSON object: skipped")
                continue
            try:
                row = self.convert(record.value)
            except (ValueError, TypeError, AttributeError) as error:
                mediator.warn(record.where, f"record skipped: {error}")
                continue
            place = record.where.removeprefix(stream.label)
            row["record_ref"] = ("line " if place.startswith(":") else "record ") + place[1:]
            row["source_file"] = stream.label
            rows.add(row)
            if (batch := rows.batch(position)) is not None:
                yield batch
        if (batch := rows.batch(position, force=True)) is not None:
            yield batch


def schema_json_row(record: Mapping[str, Any]) -> dict[str, Any]:
    return _schema_row(_lower_keys(record))


# -- sniffing ---------------------------------------------------------------------------------


def first_line(head: bytes) -> str:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    return text.split("\n", 1)[0].strip()


def sniff_auth_csv(head: bytes) -> bool:
    names = [n.strip().strip('"').lower() for n in first_line(head).split(",")]
    names = [_ALIASES.get(n, n) for n in names]
    return (
        len(names) >= 3
        and "time" in names
        and "user" in names
        and all(n in SCHEMA_COLUMNS for n in names)
    )


def _first_record(head: bytes) -> dict[str, Any] | None:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        text = text[1:].lstrip()
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def sniff_auth_json(head: bytes) -> bool:
    record = _first_record(head)
    if record is None:
        return False
    keys = {_ALIASES.get(str(k).lower(), str(k).lower()) for k in record}
    return "time" in keys and "user" in keys and keys <= set(SCHEMA_COLUMNS)


SNIFF_LIMIT = 64 * 1024


def _make_csv(_options: LogOptions) -> SchemaCsvReader:
    return SchemaCsvReader()


def _make_json(_options: LogOptions) -> JsonRecordsReader:
    return JsonRecordsReader(schema_json_row)


AUTH_CSV = register(
    LogFormat(
        "auth-csv",
        "authentication log (VPN, webmail, SSO) in seawall's CSV schema",
        ("auth",),
        _make_csv,
        sniff_auth_csv,
    )
)
AUTH_JSON = register(
    LogFormat(
        "auth-json",
        "authentication log in seawall's JSON schema (lines, array or {value: []})",
        ("auth",),
        _make_json,
        sniff_auth_json,
    )
)
