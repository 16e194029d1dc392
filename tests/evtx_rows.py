"""Windows events as ``events`` rows, for detection tests (a test helper, not a reader).

The EVTX reader is built on another branch; until it is on ``main`` these tests load real EVTX
files with the ``evtx`` package and write the rows through the real ingest (``IngestRun``) into
the real ``events`` table, laid out as the table's spec says: system fields as columns, the
event's EventData/UserData flattened into ``data`` (nested names joined with '.'). Hand-built
events (:func:`event`) use the same layout, with field names exactly as Windows and Sysmon name
them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.collect.base import IngestRun, SourceFile, sha256_of
from seawall.model.tables import EVENTS

SECURITY = "Security"
SYSTEM = "System"
SYSMON = "Microsoft-Windows-Sysmon/Operational"
POWERSHELL = "Microsoft-Windows-PowerShell/Operational"
_PROVIDERS = {
    SECURITY: "Microsoft-Windows-Security-Auditing",
    SYSMON: "Microsoft-Windows-Sysmon",
    POWERSHELL: "Microsoft-Windows-PowerShell",
    SYSTEM: "Service Control Manager",
}
_COLUMNS = [f for f in EVENTS.columns if f not in ("run_id", "source_sha256")]


def _flatten(value: Any, prefix: str, into: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "#attributes":
                continue
            name = prefix if key == "#text" else (f"{prefix}.{key}" if prefix else key)
            _flatten(inner, name, into)
    elif isinstance(value, list) and prefix == "Data":
        # unnamed <Data> values: Data_1..Data_n, and all of them joined in Data
        texts = [v.get("#text") if isinstance(v, Mapping) else v for v in value]
        for index, text in enumerate(texts, 1):
            into[f"Data_{index}"] = text
        into["Data"] = "\n".join("" if t is None else str(t) for t in texts)
    elif prefix:
        into[prefix] = value


def flatten(event_data: Any, user_data: bool = False) -> dict[str, Any]:
    """EventData/UserData as one flat object, by the EVTX reader's rules (its branch): nested
    names joined with '.'; UserData's one element's children both bare and under the element's
    name (``SubjectUserName`` and ``LogFileCleared.SubjectUserName``); unnamed ``<Data>``
    values as ``Data_1``… and joined in ``Data``."""
    found: dict[str, Any] = {}
    _flatten(event_data, "", found)
    if user_data and isinstance(event_data, Mapping):
        for children in event_data.values():
            if isinstance(children, Mapping):
                bare: dict[str, Any] = {}
                _flatten(children, "", bare)
                for key, value in bare.items():
                    found.setdefault(key, value)
    return found


def _text(value: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get("#text")
    return value


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _row(record: Mapping[str, Any], display: str) -> dict[str, Any]:
    event = json.loads(record["data"])["Event"]
    system = event.get("System", {})
    provider = system.get("Provider", {}).get("#attributes", {})
    execution = (system.get("Execution") or {}).get("#attributes", {})
    security = (system.get("Security") or {}) or {}
    user_data = event.get("EventData") is None and event.get("UserData") is not None
    body = event.get("UserData") if user_data else event.get("EventData")
    event_id = _text(system.get("EventID"))
    return {
        "time": _time(system["TimeCreated"]["#attributes"]["SystemTime"]),
        "computer": system.get("Computer"),
        "channel": system.get("Channel"),
        "provider": provider.get("Name"),
        "event_id": int(event_id) if event_id is not None else None,
        "record_id": system.get("EventRecordID"),
        "level": system.get("Level"),
        "process_id": execution.get("ProcessID"),
        "thread_id": execution.get("ThreadID"),
        "user_sid": (security.get("#attributes") or {}).get("UserID")
        if isinstance(security, Mapping)
        else None,
        "data": json.dumps(flatten(body, user_data) if body is not None else {}),
        "raw": json.dumps(event),
        "format": "evtx",
        "host": system.get("Computer"),
        "source_file": display,
        "record_ref": f"record {system.get('EventRecordID')}",
    }


def evtx_rows(path: Path) -> Iterator[dict[str, Any]]:
    import evtx

    parser = evtx.PyEvtxParser(str(path))
    for record in parser.records_json():
        if record is None:
            continue
        try:
            yield _row(record, str(path))
        except (KeyError, ValueError, TypeError):
            continue  # a record the real reader would warn about; these tests do not need it


def _table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    schema = pa.schema([EVENTS.schema.field(c) for c in _COLUMNS])
    return pa.Table.from_pylist([{c: r.get(c) for c in _COLUMNS} for r in rows], schema)


def load_evtx(
    store: CaseStore, paths: Iterable[Path], host: Callable[[Path], str] | None = None
) -> int:
    """Write the events of real EVTX files into the case through the ingest path; ``host``
    names each file's host (default: the events' computer)."""
    total = 0
    with IngestRun(store, "test evtx", {}) as run:
        for path in paths:
            source = SourceFile(path, str(path), sha256_of(path), path.stat().st_size)
            rows = list(evtx_rows(path))
            if host is not None:
                rows = [{**row, "host": host(path)} for row in rows]
            total += run.write("events", _table(rows), source)
        run.finish({"events": total})
    return total


def event(
    event_id: int,
    data: Mapping[str, Any],
    *,
    time: str = "2024-03-01T10:00:00Z",
    channel: str = SECURITY,
    computer: str = "ws1.corp.example",
    provider: str | None = None,
    user_name: str | None = None,
) -> dict[str, Any]:
    """One hand-built event row (``data`` as Windows names the fields)."""
    return {
        "time": _time(time),
        "computer": computer,
        "channel": channel,
        "provider": provider or _PROVIDERS.get(channel),
        "event_id": event_id,
        "user_name": user_name,
        "data": json.dumps(dict(data)),
        "raw": None,
        "format": "test",
        "host": computer,
        "source_file": "built-in-test.evtx",
    }


def load_events(store: CaseStore, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write hand-built events through the ingest path, numbered in the order given."""
    numbered = [
        {**row, "record_id": i, "record_ref": f"record {i}"} for i, row in enumerate(rows, 1)
    ]
    with IngestRun(store, "test events", {}) as run:
        count = run.write("events", _table(numbered), None)
        run.finish({"events": count})
    return count
