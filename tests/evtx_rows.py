"""Windows events in the case, for detection tests: real EVTX files through the real reader
(:func:`load_evtx`), and hand-built events (:func:`event`) laid out as the reader lays them out:
system fields as columns, the event's EventData/UserData flattened into ``data``, with field
names exactly as Windows and Sysmon name them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.collect.base import IngestRun, Mediator, SourceFile, sha256_of
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


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    schema = pa.schema([EVENTS.schema.field(c) for c in _COLUMNS])
    return pa.Table.from_pylist([{c: r.get(c) for c in _COLUMNS} for r in rows], schema)


def load_evtx(
    store: CaseStore, paths: Iterable[Path], host: Callable[[Path], str] | None = None
) -> int:
    """Write the events of real EVTX files into the case with the real reader (``collect
    evtx``'s) and ingest; ``host`` names each file's host (default: the events' computer)."""
    from seawall.collect.events.evtx import EvtxReader

    reader = EvtxReader()
    total = 0
    with IngestRun(store, "test evtx", {}) as run:
        for path in paths:
            source = SourceFile(path, str(path), sha256_of(path), path.stat().st_size)
            for batch in reader.read(source, Mediator()):
                data = batch.data
                if host is not None:
                    names = pa.array([host(path)] * data.num_rows, pa.string())
                    index = data.schema.get_field_index("host")
                    data = data.set_column(index, "host", names)
                total += run.write(batch.table, data, source)
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
