"""Test helper: real EVTX files into the case's ``events`` table, through the real ingest path.

``seawall collect evtx`` is being built on another branch; until it lands on main, the Sigma tests
and benchmark read EVTX with the ``evtx`` package (the parser the project chose) here, and write
``events`` rows the way the reader contract describes them (system fields as columns, EventData
and UserData flattened into ``data``, nested names joined with '.'; a UserData's single wrapper
element is left out so that its fields keep the names Sigma rules use). Switch to the real reader
when it lands.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from evtx import PyEvtxParser

from seawall.case.store import CaseStore
from seawall.collect.base import (
    Batch,
    IngestReport,
    Mediator,
    Reader,
    SourceFile,
    ingest_files,
)
from seawall.model.tables import EVENTS

_COLUMNS = [
    "time",
    "computer",
    "channel",
    "provider",
    "event_id",
    "record_id",
    "level",
    "process_id",
    "thread_id",
    "user_sid",
    "data",
    "raw",
    "format",
    "record_ref",
]
_SCHEMA = pa.schema([EVENTS.schema.field(name) for name in _COLUMNS])


def _attributes(node: Any) -> dict[str, Any]:
    return node.get("#attributes", {}) if isinstance(node, dict) else {}


def _text(node: Any) -> Any:
    if isinstance(node, dict):
        return node.get("#text")
    return node


def _flatten(value: Any, name: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        if "#text" in value:
            out[name] = value["#text"]
            return
        for key, item in value.items():
            if key != "#attributes":
                _flatten(item, f"{name}.{key}", out)
    else:
        out[name] = value


def event_data(event: dict[str, Any]) -> dict[str, Any]:
    """EventData and UserData as one flat object."""
    out: dict[str, Any] = {}
    data = event.get("EventData")
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "#attributes":
                continue
            _flatten(value, key, out)
    elif data is not None:
        out["Data"] = data
    user = event.get("UserData")
    if isinstance(user, dict):
        inner = [v for k, v in user.items() if k != "#attributes"]
        wrapper = inner[0] if len(inner) == 1 and isinstance(inner[0], dict) else user
        for key, value in wrapper.items():
            if key == "#attributes":
                continue
            _flatten(value, key, out)
    return out


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    text = text.replace(" UTC", "").rstrip("Z")
    base, _, fraction = text.partition(".")
    parsed = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return parsed + timedelta(microseconds=int((fraction + "000000")[:6])) if fraction else parsed


def _int(value: Any) -> int | None:
    value = _text(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def event_row(record: dict[str, Any]) -> dict[str, Any]:
    """One ``events`` row from one record of ``PyEvtxParser.records_json()``."""
    document = json.loads(record["data"])
    event = document.get("Event", document)
    system = event.get("System", {})
    execution = _attributes(system.get("Execution"))
    return {
        "time": _time(_attributes(system.get("TimeCreated")).get("SystemTime"))
        or _time(record.get("timestamp")),
        "computer": _text(system.get("Computer")),
        "channel": _text(system.get("Channel")),
        "provider": _attributes(system.get("Provider")).get("Name"),
        "event_id": _int(system.get("EventID")),
        "record_id": record["event_record_id"],
        "level": _int(system.get("Level")),
        "process_id": _int(execution.get("ProcessID")),
        "thread_id": _int(execution.get("ThreadID")),
        "user_sid": _attributes(system.get("Security")).get("UserID"),
        "data": json.dumps(event_data(event), ensure_ascii=False),
        "raw": record["data"],
        "format": "evtx",
        "record_ref": str(record["event_record_id"]),
    }


class EvtxTestReader:
    """A reader on the ``evtx`` package, as the reader contract describes readers."""

    format = "evtx"

    def read(self, source: SourceFile, mediator: Mediator) -> Iterator[Batch]:
        parser = PyEvtxParser(str(source.path))
        rows: list[dict[str, Any]] = []
        for record in parser.records_json():
            if record is None:
                continue
            try:
                rows.append(event_row(record))
            except (ValueError, KeyError, TypeError) as error:
                mediator.warn(
                    f"{source.display}:record {record.get('event_record_id')}", str(error)
                )
            if len(rows) >= 10_000:
                yield Batch("events", pa.Table.from_pylist(rows, _SCHEMA))
                rows = []
        if rows:
            yield Batch("events", pa.Table.from_pylist(rows, _SCHEMA))


def evtx_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".evtx" and p.is_file())


def collect_evtx(store: CaseStore, paths: Iterable[Path]) -> IngestReport:
    """Collect EVTX files into the case as ``seawall collect evtx`` will."""
    reader: Reader = EvtxTestReader()
    return ingest_files(store, "collect evtx", list(paths), lambda _path: reader)
