"""Entra ID (Azure AD) sign-in logs into the ``auth`` table (format ``entra``), with the
schema readers' rows and conventions (:mod:`seawall.collect.logs.auth`).

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
from collections.abc import Iterator, Mapping
from typing import Any

from seawall.collect.archives import Stream
from seawall.collect.base import Batch, Mediator
from seawall.collect.lines import Lines
from seawall.collect.logs import LogFormat, LogOptions, register
from seawall.collect.logs.auth import (
    SNIFF_LIMIT,
    AuthRows,
    JsonRecordsReader,
    as_float,
    country_of,
    first_line,
    parse_time,
    text_or_none,
)
from seawall.errors import BadInputError


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
                name = text_or_none(step.get("authenticationMethod"))
                if name and name.lower() not in ("previously satisfied",):
                    methods.append(name)
    method_text = text_or_none(method) or (", ".join(dict.fromkeys(methods)) or None)
    if requirement == "multifactorauthentication" or text_or_none(method):
        return "mfa", method_text
    if requirement == "singlefactorauthentication":
        return "single-factor", method_text
    return None, method_text


def entra_json_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A Graph ``signIn`` (or a Log Analytics ``SigninLogs`` row) as an auth row."""
    when = _get(record, "createdDateTime", "TimeGenerated")
    user = text_or_none(_get(record, "userPrincipalName", "userDisplayName"))
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
    reason = text_or_none(_get(record, "status.failureReason", "ResultDescription"))
    return {
        "time": parse_time(when),
        "user_name": user,
        "user_domain": user.split("@", 1)[1] if "@" in user else None,
        "source_ip": text_or_none(_get(record, "ipAddress", "IPAddress")),
        "source_location": place or None,
        "country": (text_or_none(_get(location, "countryOrRegion")) or "").upper() or None,
        "latitude": as_float(_get(location, "geoCoordinates.latitude")),
        "longitude": as_float(_get(location, "geoCoordinates.longitude")),
        "target": text_or_none(_get(record, "resourceDisplayName")),
        "service": text_or_none(_get(record, "appDisplayName")),
        "method": method,
        "result": None if error_code is None else ("success" if error_code == 0 else "failure"),
        "mfa": mfa,
        "reason": None if error_code in (None, 0) else f"{error_code}: {reason or ''}".strip(": "),
        "device": text_or_none(device),
        "logon_type": text_or_none(_get(record, "clientAppUsed")),
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
        "country": country_of(location),
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
        rows = AuthRows()
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


def sniff_entra(head: bytes) -> bool:
    text = head[:SNIFF_LIMIT].decode("utf-8", errors="replace")
    if '"createdDateTime"' in text and '"userPrincipalName"' in text:
        return True
    first = first_line(head).lower()
    return "date (utc)" in first and ("username" in first or "user principal name" in first)


def _make_entra(_options: LogOptions) -> EntraReader:
    return EntraReader()


ENTRA = register(
    LogFormat(
        "entra",
        "Entra ID (Azure AD) sign-in logs: Graph/portal JSON, Log Analytics, portal CSV",
        ("auth",),
        _make_entra,
        sniff_entra,
    )
)
