"""``events`` rows built record by record in Python: JSON exports, and small EVTX batches.

A DuckDB statement has a fixed cost of a few milliseconds, which a batch of thousands of EVTX
records repays many times but a 30-record EVTX file (most of a typical attack-sample folder)
does not; such batches, and every JSON export (whose records have a different shape per
format), are built here. :mod:`seawall.collect.events.table` does the same for large EVTX
batches in SQL; a test checks that both give the same rows for every record of the real EVTX
corpus. The user rule (:func:`user_of`) is stated in ``table``'s docstring.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from seawall.collect.events.fields import Scalar, flatten_event
from seawall.model.tables import EVENTS

_NOBODY = ("", "-")
_NULL_SID = "S-1-0-0"
WELL_KNOWN_SIDS = {
    "S-1-5-18": ("SYSTEM", "NT AUTHORITY"),
    "S-1-5-19": ("LOCAL SERVICE", "NT AUTHORITY"),
    "S-1-5-20": ("NETWORK SERVICE", "NT AUTHORITY"),
}

# The columns a reader fills (the ingest adds the rest of the provenance).
COLUMNS = (
    *(
        name
        for name in EVENTS.columns
        if name not in ("run_id", "host", "source_file", "source_sha256", "record_ref")
    ),
    "host",
    "record_ref",
)
_SCHEMA = pa.schema([EVENTS.schema.field(name) for name in COLUMNS])


def text_of(value: Any) -> str | None:
    """A field value as SQL's ``->>`` reads it (None for null)."""
    kind = type(value)
    if kind is str or value is None:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _named(value: str | None) -> bool:
    return value is not None and value not in _NOBODY


def _sid(value: str | None) -> str | None:
    return value if _named(value) and value != _NULL_SID else None


def user_of(
    data: Mapping[str, Any],
    security_user_id: str | None,
    security_user_name: str | None = None,
    security_user_domain: str | None = None,
) -> tuple[str | None, str | None, str | None]:
    """(user_sid, user_name, user_domain): see :mod:`seawall.collect.events.table`."""
    target = text_of(data.get("TargetUserName"))
    if _named(target):
        sid = _sid(text_of(data.get("TargetUserSid"))) or _sid(text_of(data.get("TargetSid")))
        domain = text_of(data.get("TargetDomainName"))
        return sid, target, domain if _named(domain) else None
    subject = text_of(data.get("SubjectUserName"))
    if _named(subject):
        domain = text_of(data.get("SubjectDomainName"))
        return (
            _sid(text_of(data.get("SubjectUserSid"))),
            subject,
            domain if _named(domain) else None,
        )
    user = text_of(data.get("User"))
    if user is not None and _named(user):
        domain, slash, name = user.partition("\\")
        return (None, name, domain) if slash else (None, user, None)
    sid = security_user_id or None
    known = WELL_KNOWN_SIDS.get(sid or "", (None, None))
    return sid, security_user_name or known[0], security_user_domain or known[1]


def _int(value: Any) -> int | None:
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is dict:  # <EventID Qualifiers="16384">4097</EventID>
        value = value.get("#text")
        kind = type(value)
        if kind is int:
            return value  # type: ignore[no-any-return]
    if value is None or kind is bool:
        return None
    text = str(value).strip()
    try:
        return int(text, 16) if text[:2].lower() == "0x" else int(text)
    except ValueError:
        return None


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time as UTC (a time without an offset is taken as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().removesuffix(" UTC")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _attribute(element: Any, name: str) -> Any:
    if type(element) is dict:
        attributes = element.get("#attributes")
        if type(attributes) is dict:
            return attributes.get(name)
    return None


def dumps(data: Mapping[str, Scalar]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class RowBuilder:
    """Rows of the ``events`` table, one ``add`` at a time, as an Arrow table."""

    def __init__(self) -> None:
        self._columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
        self.source_files: list[str | None] | None = None

    def __len__(self) -> int:
        return len(self._columns["record_ref"])

    def add(
        self,
        *,
        time: datetime | None,
        computer: str | None,
        channel: str | None,
        provider: str | None,
        event_id: int | None,
        record_id: int | None,
        level: int | None,
        process_id: int | None,
        thread_id: int | None,
        data: Mapping[str, Scalar],
        raw: str,
        fmt: str,
        record_ref: str,
        security_user_id: str | None = None,
        security_user_name: str | None = None,
        security_user_domain: str | None = None,
        source_file: str | None = None,
    ) -> None:
        sid, name, domain = user_of(
            data, security_user_id, security_user_name, security_user_domain
        )
        values = {
            "time": time,
            "computer": computer,
            "channel": channel,
            "provider": provider,
            "event_id": event_id,
            "record_id": record_id if record_id is None or record_id >= 0 else None,
            "level": level,
            "process_id": process_id,
            "thread_id": thread_id,
            "user_sid": sid,
            "user_name": name,
            "user_domain": domain,
            "data": dumps(data),
            "raw": raw,
            "format": fmt,
            "host": computer,
            "record_ref": record_ref,
        }
        for column, value in values.items():
            self._columns[column].append(value)
        if source_file is not None and self.source_files is None:
            self.source_files = [None] * (len(self) - 1)
        if self.source_files is not None:
            self.source_files.append(source_file)

    def add_evtx(self, ref: int, stamp: str, text: str, fmt: str = "evtx") -> str | None:
        """One record as the EVTX parser renders it (``{"Event": {"System": …}}``); returns
        what is wrong with it, if anything (it is then added as far as it can be, or not)."""
        problem = None
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            # A damaged record's strings can hold control characters the parser does not
            # escape: read them as they are, and store the record re-encoded (valid JSON).
            try:
                document = json.loads(text, strict=False)
            except json.JSONDecodeError as error:
                return f"the parser's rendering of the record is not JSON ({error}): skipped"
            text = dumps(document)
            problem = "control characters in the record's text (damaged?): kept, escaped"
        event = document.get("Event") if isinstance(document, dict) else None
        self.add_event(
            event if isinstance(event, Mapping) else {},
            text,
            fmt,
            str(ref),
            fallback_time=stamp,
            fallback_record=ref,
        )
        return problem

    def add_event(
        self,
        event: Mapping[str, Any],
        raw: str,
        fmt: str,
        record_ref: str,
        *,
        fallback_time: str | None = None,
        fallback_record: int | None = None,
        source_file: str | None = None,
    ) -> None:
        """An event in the EVTX parser's JSON shape (also what ``evtx_dump`` writes)."""
        system = event.get("System")
        if type(system) is not dict:
            system = {}
        execution = system.get("Execution")
        record_id = _int(system.get("EventRecordID"))
        self.add(
            time=parse_time(_attribute(system.get("TimeCreated"), "SystemTime"))
            or parse_time(fallback_time),
            computer=text_of(system.get("Computer")),
            channel=text_of(system.get("Channel")),
            provider=text_of(_attribute(system.get("Provider"), "Name")),
            event_id=_int(system.get("EventID")),
            record_id=record_id if record_id is not None else fallback_record,
            level=_int(system.get("Level")),
            process_id=_int(_attribute(execution, "ProcessID")),
            thread_id=_int(_attribute(execution, "ThreadID")),
            data=flatten_event(event),
            raw=raw,
            fmt=fmt,
            record_ref=record_ref,
            security_user_id=text_of(_attribute(system.get("Security"), "UserID")),
            source_file=source_file,
        )

    def take(self) -> pa.Table:
        """The rows added so far, which the builder then forgets."""
        table = self.table()
        self._columns = {name: [] for name in COLUMNS}
        self.source_files = None
        return table

    def table(self) -> pa.Table:
        table = pa.table(
            {
                name: pa.array(values, _SCHEMA.field(name).type)
                for name, values in self._columns.items()
            }
        )
        if self.source_files is not None:
            table = table.append_column("source_file", pa.array(self.source_files, pa.string()))
        return table
