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

**entra** — Entra ID (Azure AD) sign-in logs: the Graph ``signIn`` resource (``createdDateTime``,
``userPrincipalName``, ``ipAddress``, ``location``, ``status.errorCode``,
``authenticationRequirement``, ``mfaDetail``, ``authenticationDetails``, ``appDisplayName``,
``clientAppUsed``, ``deviceDetail``…) as JSON (Graph pages, the portal's JSON download, JSON
lines, Log Analytics ``SigninLogs`` exports: keys in any case), and the portal's CSV download
(``Date (UTC)``, ``Username``, ``IP address``, ``Location``, ``Status``, ``Sign-in error
code``, ``Authentication requirement``, ``Multifactor authentication auth method``…).
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
from seawall.model.tables import AUTH

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
_FILLED = (
    "time",
    "user_name",
    "user_domain",
    "source_ip",
    "source_location",
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


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _country(location: str | None) -> str | None:
    """The two-letter code at the end of ``Paris, Ile-de-France, FR``."""
    if not location:
        return None
    last = location.rsplit(",", 1)[-1].strip()
    return last.upper() if re.fullmatch(r"[A-Za-z]{2}", last) else None


class _Rows:
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
    user = _text(row.get("user_name"))
    if user is None:
        raise ValueError("no user")
    row["user_name"] = user
    row["time"] = parse_time(row.get("time"))
    row["result"] = normal_result(row.get("result"))
    row["mfa"] = normal_mfa(row.get("mfa"))
    row["latitude"] = _float(row.get("latitude"))
    row["longitude"] = _float(row.get("longitude"))
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
        row[name] = _text(row.get(name))
    row["country"] = _text(row.get("country")) or _country(row["source_location"]) or None
    if row["country"]:
        row["country"] = row["country"].upper()
    scope = (_text(row.get("scope")) or "external").lower()
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
        rows = _Rows()
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
        rows = _Rows()
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


# -- Entra ID ---------------------------------------------------------------------------------


def _get(record: Mapping[str, Any], *names: str) -> Any:
    """The first of ``names`` present (keys compared without case; dotted names go down)."""
    for name in names:
        value: Any = record
        for part in name.split("."):
            if not isinstance(value, Mapping):
                value = None
                break
            lowered = {str(k).lower(): v for k, v in value.items()}
            value = lowered.get(part.lower())
        if value not in (None, ""):
            return value
    return None


def _entra_mfa(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(mfa, method): what the sign-in says about its factors."""
    requirement = str(_get(record, "authenticationRequirement") or "").lower()
    method = _get(record, "mfaDetail.authMethod")
    details = _get(record, "authenticationDetails")
    methods: list[str] = []
    if isinstance(details, list):
        for step in details:
            if isinstance(step, Mapping) and step.get("succeeded") is not False:
                name = _text(step.get("authenticationMethod"))
                if name and name.lower() not in ("previously satisfied",):
                    methods.append(name)
    method_text = _text(method) or (", ".join(dict.fromkeys(methods)) or None)
    if requirement == "multifactorauthentication" or _text(method):
        return "mfa", method_text
    if requirement == "singlefactorauthentication":
        return "single-factor", method_text
    return None, method_text


def entra_json_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A Graph ``signIn`` (or a Log Analytics ``SigninLogs`` row) as an auth row."""
    when = _get(record, "createdDateTime", "TimeGenerated")
    user = _text(_get(record, "userPrincipalName", "userDisplayName"))
    if when is None or user is None:
        raise ValueError("no createdDateTime or userPrincipalName")
    location = _get(record, "location", "LocationDetails")
    if isinstance(location, str):
        try:
            location = json.loads(location)
        except ValueError:
            location = {"city": location}
    location = location if isinstance(location, Mapping) else {}
    place = ", ".join(
        str(p)
        for p in (
            _get(location, "city"),
            _get(location, "state"),
            _get(location, "countryOrRegion"),
        )
        if p
    )
    code = _get(record, "status.errorCode", "ResultType")
    try:
        error_code = int(code) if code is not None else None
    except (TypeError, ValueError):
        error_code = None
    mfa, method = _entra_mfa(record)
    device = _get(
        record, "deviceDetail.displayName", "deviceDetail.deviceId", "deviceDetail.operatingSystem"
    )
    reason = _text(_get(record, "status.failureReason", "ResultDescription"))
    return {
        "time": parse_time(when),
        "user_name": user,
        "user_domain": user.split("@", 1)[1] if "@" in user else None,
        "source_ip": _text(_get(record, "ipAddress", "IPAddress")),
        "source_location": place or None,
        "country": (_text(_get(location, "countryOrRegion")) or "").upper() or None,
        "latitude": _float(_get(location, "geoCoordinates.latitude")),
        "longitude": _float(_get(location, "geoCoordinates.longitude")),
        "target": _text(_get(record, "resourceDisplayName")),
        "service": _text(_get(record, "appDisplayName")),
        "method": method,
        "result": None if error_code is None else ("success" if error_code == 0 else "failure"),
        "mfa": mfa,
        "reason": None if error_code in (None, 0) else f"{error_code}: {reason or ''}".strip(": "),
        "device": _text(device),
        "logon_type": _text(_get(record, "clientAppUsed")),
        "scope": "external",
    }


# Entra portal CSV header (lower case) -> what it gives.
_ENTRA_CSV = {
    "date (utc)": "time",
    "username": "user",
    "user principal name": "user",
    "user": "display_name",
    "ip address": "source_ip",
    "location": "location",
    "status": "status",
    "sign-in error code": "error_code",
    "failure reason": "failure_reason",
    "application": "service",
    "resource": "target",
    "client app": "logon_type",
    "authentication requirement": "requirement",
    "multifactor authentication auth method": "method",
    "multifactor authentication result": "mfa_result",
    "device id": "device",
    "operating system": "os",
}


def entra_csv_row(record: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, str] = {}
    for key, value in record.items():
        name = _ENTRA_CSV.get(key.strip().lower())
        if name and value.strip() and name not in found:
            found[name] = value.strip()
    user = found.get("user") or found.get("display_name")
    if not found.get("time") or not user:
        raise ValueError("no Date (UTC) or Username")
    requirement = found.get("requirement", "").lower()
    mfa = None
    if "multi" in requirement:
        mfa = "mfa"
    elif "single" in requirement:
        mfa = "single-factor"
    status = found.get("status", "").lower()
    code = found.get("error_code")
    result = "success" if status == "success" or code == "0" else ("failure" if status else None)
    location = found.get("location")
    return {
        "time": parse_time(found["time"]),
        "user_name": user,
        "user_domain": user.split("@", 1)[1] if "@" in user else None,
        "source_ip": found.get("source_ip"),
        "source_location": location,
        "country": _country(location),
        "latitude": None,
        "longitude": None,
        "target": found.get("target"),
        "service": found.get("service"),
        "method": found.get("method"),
        "result": result,
        "mfa": mfa,
        "reason": None
        if result == "success"
        else (": ".join(p for p in (code, found.get("failure_reason")) if p) or None),
        "device": found.get("device") or found.get("os"),
        "logon_type": found.get("logon_type"),
        "scope": "external",
    }


class EntraReader:
    """``entra``: JSON (Graph, portal, Log Analytics) or the portal's CSV, told by content."""

    def read_stream(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]:
        head = stream.handle.peek(4096)[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
        if head[:1] in (b"{", b"["):
            yield from JsonRecordsReader(entra_json_row).read_stream(stream, mediator)
            return
        lines = Lines(stream.handle, stream.label, mediator)
        reader = csv.DictReader(iter(lines))
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "date (utc)" not in fields:
            raise BadInputError(
                "not an Entra ID sign-in export (JSON, or CSV with a `Date (UTC)` column)",
                f"{stream.label}:1",
            )
        rows = _Rows()
        for record in reader:
            where = lines.where
            try:
                row = entra_csv_row({k: v or "" for k, v in record.items() if k is not None})
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


# -- sniffing ---------------------------------------------------------------------------------


def _first_line(head: bytes) -> str:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    return text.split("\n", 1)[0].strip()


def sniff_auth_csv(head: bytes) -> bool:
    names = [n.strip().strip('"').lower() for n in _first_line(head).split(",")]
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


def sniff_entra(head: bytes) -> bool:
    text = head[:SNIFF_LIMIT].decode("utf-8", errors="replace")
    if '"createdDateTime"' in text and '"userPrincipalName"' in text:
        return True
    first = _first_line(head).lower()
    return "date (utc)" in first and ("username" in first or "user principal name" in first)


SNIFF_LIMIT = 64 * 1024


def _make_csv(_options: LogOptions) -> SchemaCsvReader:
    return SchemaCsvReader()


def _make_json(_options: LogOptions) -> JsonRecordsReader:
    return JsonRecordsReader(schema_json_row)


def _make_entra(_options: LogOptions) -> EntraReader:
    return EntraReader()


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
ENTRA = register(
    LogFormat(
        "entra",
        "Entra ID (Azure AD) sign-in logs: Graph/portal JSON, Log Analytics, portal CSV",
        ("auth",),
        _make_entra,
        sniff_entra,
    )
)
