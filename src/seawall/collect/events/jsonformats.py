"""The JSON exports of Windows events ``collect events`` reads, each mapped onto the ``events``
columns and the EVTX reader's ``data`` field names (:mod:`seawall.collect.events.fields`).

A record's format is told from its keys (:func:`detect`), record by record, so a stream that
mixes exports still reads:

- ``evtx-json``: the EVTX parser's own JSON (``evtx_dump -o jsonl``, Chainsaw/Hayabusa
  inputs): ``{"Event": {"System": …, "EventData": …}}``; exactly the EVTX reader's rules.
- ``winlogbeat``: Winlogbeat/Elastic Agent (ECS): ``winlog.event_data`` and ``winlog.user_data``
  (its ``xml_name`` is the UserData element), ``winlog.channel``, ``winlog.event_id`` (or
  ``event.code``), ``winlog.computer_name`` (or ``host.name``), ``@timestamp``,
  ``winlog.user`` as the event's ``Security/@UserID`` with its resolved name, ``log.level``.
  Winlogbeat names unnamed ``<Data>`` ``param1``…: they stay so (EVTX names them ``Data_1``…).
- ``velociraptor``: Velociraptor's ``parse_evtx`` rows: ``System.EventID.Value``,
  ``System.TimeCreated.SystemTime`` (epoch seconds or ISO), ``EventData``, ``UserData``.
- ``evtxecmd``: EvtxECmd (KAPE) JSON lines: ``EventId``, ``Channel``, ``Computer``,
  ``TimeCreated``, ``UserId``, and ``Payload``, a JSON string of the event's XML converted
  (``EventData.Data`` a list of ``{"@Name", "#text"}``; attributes as ``@name``).
- ``get-winevent``: PowerShell ``Get-WinEvent | ConvertTo-Json`` (also Sysmon exported so):
  ``Id``, ``TimeCreated`` (``/Date(ms)/`` or ISO), ``MachineName``, ``LogName``,
  ``ProviderName``, ``Properties`` (values without names: ``Data_1``…); when the ``Message`` is
  ``Name: value`` lines, one per property (Sysmon's), those names are the fields' names.
- ``flat``: one flat object an event, the event's fields beside system ones: OTRF
  Security-Datasets (nxlog/HELK: ``EventID``, ``Channel``, ``Hostname``, ``SourceName``,
  ``@timestamp``, ``EventTime``, ``RecordNumber``, ``ExecutionProcessID``…) and flat Sysmon JSON
  (``EventID``, ``UtcTime``, ``Image``…). Known system and collector keys are columns or
  dropped; every other key is a field. ``Message`` (rendered text) stays in ``raw`` only.
  Time: ``@timestamp``, else ``UtcTime``, else ``EventTime``/``TimeCreated`` (a time without
  an offset is taken as UTC).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from seawall.collect.events.fields import Scalar, flatten_event, flatten_fields, flatten_user_data
from seawall.collect.events.rows import RowBuilder, parse_time, text_of

Mapper = Callable[[dict[str, Any], str, str, RowBuilder, str | None], None]
"""(record, its text, record_ref, builder, source_file) → one row added."""

# Windows' level numbers for the names exports write instead.
_LEVELS = {
    "logalways": 0,
    "critical": 1,
    "error": 2,
    "warning": 3,
    "information": 4,
    "info": 4,
    "informational": 4,
    "verbose": 5,
}


def _get(record: Mapping[str, Any], *path: str) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _int(value: Any) -> int | None:
    if isinstance(value, Mapping):
        value = value.get("Value", value.get("value", value.get("#text")))
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _level(value: Any) -> int | None:
    number = _int(value)
    if number is not None:
        return number
    return _LEVELS.get(str(value).strip().lower()) if isinstance(value, str) else None


def _time(value: Any) -> datetime | None:
    """ISO text, epoch seconds, or .NET's ``/Date(milliseconds)/``."""
    if isinstance(value, Mapping):  # ConvertTo-Json of a DateTime in some versions
        value = value.get("value", value.get("DateTime"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value  # milliseconds, or seconds
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        found = re.fullmatch(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/", value.strip())
        if found:
            return datetime.fromtimestamp(int(found.group(1)) / 1000, UTC)
    return parse_time(value)


def _text(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("Value", value.get("value"))
    text = text_of(value)
    return text or None


# -- evtx-json ---------------------------------------------------------------------------------


def _evtx_json(
    record: dict[str, Any], raw: str, ref: str, rows: RowBuilder, source: str | None
) -> None:
    rows.add_event(record["Event"], raw, "evtx-json", ref, source_file=source)


# -- winlogbeat --------------------------------------------------------------------------------


def _winlogbeat(
    record: dict[str, Any], raw: str, ref: str, rows: RowBuilder, source: str | None
) -> None:
    winlog = record.get("winlog") or {}
    data: dict[str, Scalar] = {}
    event_data = winlog.get("event_data")
    if isinstance(event_data, Mapping):
        data.update(flatten_fields(event_data))
    user_data = winlog.get("user_data")
    if isinstance(user_data, Mapping):
        fields = dict(user_data)
        element = fields.pop("xml_name", None)
        flatten_user_data({element: fields} if isinstance(element, str) else fields, data)
    rows.add(
        time=_time(record.get("@timestamp")) or _time(_get(record, "event", "created")),
        computer=_text(winlog.get("computer_name")) or _text(_get(record, "host", "name")),
        channel=_text(winlog.get("channel")),
        provider=_text(winlog.get("provider_name")) or _text(_get(record, "event", "provider")),
        event_id=_int(winlog.get("event_id")) or _int(_get(record, "event", "code")),
        record_id=_int(winlog.get("record_id")),
        level=_level(_get(record, "log", "level")),
        process_id=_int(_get(winlog, "process", "pid")),
        thread_id=_int(_get(winlog, "process", "thread", "id")),
        data=data,
        raw=raw,
        fmt="winlogbeat",
        record_ref=ref,
        security_user_id=_text(_get(winlog, "user", "identifier")),
        security_user_name=_text(_get(winlog, "user", "name")),
        security_user_domain=_text(_get(winlog, "user", "domain")),
        source_file=source,
    )


# -- velociraptor ------------------------------------------------------------------------------


def _velociraptor(
    record: dict[str, Any], raw: str, ref: str, rows: RowBuilder, source: str | None
) -> None:
    system = record.get("System") or {}
    event = {k: v for k, v in record.items() if k in ("EventData", "UserData")}
    rows.add(
        time=_time(_get(system, "TimeCreated", "SystemTime")),
        computer=_text(system.get("Computer")),
        channel=_text(system.get("Channel")),
        provider=_text(_get(system, "Provider", "Name")),
        event_id=_int(system.get("EventID")),
        record_id=_int(system.get("EventRecordID")),
        level=_level(system.get("Level")),
        process_id=_int(_get(system, "Execution", "ProcessID")),
        thread_id=_int(_get(system, "Execution", "ThreadID")),
        data=flatten_event(event),
        raw=raw,
        fmt="velociraptor",
        record_ref=ref,
        security_user_id=_text(_get(system, "Security", "UserID")),
        source_file=source,
    )


# -- evtxecmd ----------------------------------------------------------------------------------


def _xml_json(value: Any) -> Any:
    """Newtonsoft's XML-as-JSON (``@attr``, ``#text``) in the EVTX parser's shape
    (``#attributes``); ``<Data Name="X">v</Data>`` items become ``X: v``."""
    if isinstance(value, list):
        return [_xml_json(v) for v in value]
    if not isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    attributes = {k[1:]: v for k, v in value.items() if k.startswith("@")}
    if attributes:
        out["#attributes"] = attributes
    for key, child in value.items():
        if not key.startswith("@"):
            out[key] = _xml_json(child)
    return out


def _evtxecmd_event_data(event_data: Any) -> Any:
    if not isinstance(event_data, Mapping):
        return event_data
    items = event_data.get("Data")
    if isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, list):
        return _xml_json(event_data)
    named: dict[str, Any] = {}
    unnamed: list[Any] = []
    for item in items:
        if isinstance(item, Mapping) and "@Name" in item:
            name = str(item["@Name"])
            key, suffix = name, 1
            while key in named:  # repeated names as the EVTX parser suffixes them
                key, suffix = f"{name}_{suffix}", suffix + 1
            named[key] = item.get("#text")
        else:
            unnamed.append(item.get("#text") if isinstance(item, Mapping) else item)
    out: dict[str, Any] = dict(named)
    if unnamed:
        out["Data"] = {"#text": unnamed}
    for key, child in event_data.items():
        if key != "Data":
            out[key] = _xml_json(child)
    return out


def _evtxecmd(
    record: dict[str, Any], raw: str, ref: str, rows: RowBuilder, source: str | None
) -> None:
    payload = record.get("Payload")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError:
            payload = {"Payload": payload}
    event: dict[str, Any] = {}
    if isinstance(payload, Mapping):
        if "EventData" in payload:
            event["EventData"] = _evtxecmd_event_data(payload["EventData"])
        if "UserData" in payload:
            event["UserData"] = _xml_json(payload["UserData"])
    rows.add(
        time=_time(record.get("TimeCreated")),
        computer=_text(record.get("Computer")),
        channel=_text(record.get("Channel")),
        provider=_text(record.get("Provider")),
        event_id=_int(record.get("EventId")),
        record_id=_int(record.get("EventRecordId")),
        level=_level(record.get("Level")),
        process_id=_int(record.get("ProcessId")),
        thread_id=_int(record.get("ThreadId")),
        data=flatten_event(event),
        raw=raw,
        fmt="evtxecmd",
        record_ref=ref,
        security_user_id=_text(record.get("UserId")),
        source_file=source,
    )


# -- get-winevent ------------------------------------------------------------------------------

_MESSAGE_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9_]*): ?(.*)$")


def _message_names(message: Any, count: int) -> list[str] | None:
    """The field names of a message written as ``Title:`` then ``Name: value`` lines, one per
    property (Sysmon's), else None."""
    if not isinstance(message, str) or not count:
        return None
    lines = message.replace("\r\n", "\n").split("\n")[1:]
    names = []
    for line in lines:
        found = _MESSAGE_FIELD.match(line)
        if found is None:
            return None
        names.append(found.group(1))
    return names if len(names) == count and len(set(names)) == count else None


def _get_winevent(
    record: dict[str, Any], raw: str, ref: str, rows: RowBuilder, source: str | None
) -> None:
    properties = record.get("Properties")
    values = [
        p.get("Value") if isinstance(p, Mapping) else p
        for p in (properties if isinstance(properties, list) else [])
    ]
    names = _message_names(record.get("Message"), len(values))
    if names is not None:
        data = flatten_fields(dict(zip(names, values, strict=True)))
    else:
        data = flatten_event({"EventData": {"Data": {"#text": values}}}) if values else {}
    rows.add(
        time=_time(record.get("TimeCreated")),
        computer=_text(record.get("MachineName")),
        channel=_text(record.get("LogName")),
        provider=_text(record.get("ProviderName")),
        event_id=_int(record.get("Id")),
        record_id=_int(record.get("RecordId")),
        level=_level(record.get("Level")),
        process_id=_int(record.get("ProcessId")),
        thread_id=_int(record.get("ThreadId")),
        data=data,
        raw=raw,
        fmt="get-winevent",
        record_ref=ref,
        security_user_id=_text(record.get("UserId")),
        source_file=source,
    )


# -- flat (OTRF Security-Datasets, nxlog, flat Sysmon JSON) --------------------------------------

# System and collector keys of nxlog's im_msvistalog, HELK/Logstash and Winlogbeat-less
# pipelines: columns or dropped, never event fields.
_FLAT_SYSTEM = frozenset(
    {
        "@timestamp", "@version", "EventTime", "EventReceivedTime", "TimeCreated",
        "Hostname", "Computer", "ComputerName", "host", "port", "tags", "type",
        "Keywords", "EventType", "SeverityValue", "Severity", "EventID", "EventId",
        "SourceName", "ProviderName", "Provider", "ProviderGuid", "Version", "Task",
        "OpcodeValue", "Opcode", "RecordNumber", "EventRecordID", "ActivityID",
        "RelatedActivityID", "ProcessID", "ExecutionProcessID", "ThreadID", "Channel",
        "Domain", "AccountName", "UserID", "AccountType", "Category", "Message",
        "SourceModuleName", "SourceModuleType", "Level", "EventRecordId", "log_name",
        "ERROR_EVT_UNRESOLVED",
    }
)  # fmt: skip


def _first(record: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = record.get(key)
        if value is not None and value != "":
            return value
    return None


def _flat(record: dict[str, Any], raw: str, ref: str, rows: RowBuilder, source: str | None) -> None:
    fields = {k: v for k, v in record.items() if k not in _FLAT_SYSTEM}
    host = record.get("host")
    rows.add(
        time=_time(record.get("@timestamp"))
        or _time(record.get("UtcTime"))
        or _time(_first(record, "EventTime", "TimeCreated")),
        computer=_text(_first(record, "Hostname", "Computer", "ComputerName"))
        or (_text(host) if isinstance(host, str) else None),
        channel=_text(record.get("Channel")),
        provider=_text(_first(record, "SourceName", "ProviderName", "Provider")),
        event_id=_int(_first(record, "EventID", "EventId")),
        record_id=_int(_first(record, "RecordNumber", "EventRecordID", "EventRecordId")),
        level=_level(record.get("Level")),
        process_id=_int(_first(record, "ExecutionProcessID", "ProcessID")),
        thread_id=_int(record.get("ThreadID")),
        data=flatten_fields(fields),
        raw=raw,
        fmt="flat",
        record_ref=ref,
        security_user_id=_text(record.get("UserID")),
        security_user_name=_text(record.get("AccountName")),
        security_user_domain=_text(record.get("Domain")),
        source_file=source,
    )


# -- detection ---------------------------------------------------------------------------------

FORMATS: dict[str, tuple[str, Mapper]] = {
    "evtx-json": ("the EVTX parser's JSON (evtx_dump, Chainsaw/Hayabusa inputs)", _evtx_json),
    "winlogbeat": ("Winlogbeat / Elastic Agent (ECS) JSON", _winlogbeat),
    "velociraptor": ("Velociraptor parse_evtx rows", _velociraptor),
    "evtxecmd": ("EvtxECmd (KAPE) JSON lines", _evtxecmd),
    "get-winevent": ("PowerShell Get-WinEvent | ConvertTo-Json (Sysmon too)", _get_winevent),
    "flat": ("flat JSON: OTRF Security-Datasets, nxlog, flat Sysmon JSON", _flat),
}


def detect(record: Any) -> str | None:
    """The format of one record, from its keys; None when it is not a known event export."""
    if not isinstance(record, dict):
        return None
    event = record.get("Event")
    if isinstance(event, Mapping) and isinstance(event.get("System"), Mapping):
        return "evtx-json"
    if isinstance(record.get("winlog"), Mapping):
        return "winlogbeat"
    system = record.get("System")
    if isinstance(system, Mapping) and "EventID" in system:
        return "velociraptor"
    if "EventId" in record and ("Payload" in record or "MapDescription" in record):
        return "evtxecmd"
    if (
        "Id" in record
        and "TimeCreated" in record
        and ("ProviderName" in record or "LogName" in record)
    ):
        return "get-winevent"
    if ("EventID" in record or "EventId" in record) and (
        "Channel" in record
        or "SourceName" in record
        or "Hostname" in record
        or "UtcTime" in record
        or "Computer" in record
    ):
        return "flat"
    return None
