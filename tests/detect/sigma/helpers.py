"""Events the tests build, written through the real ingest path; ways to run rules on them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.collect.base import IngestRun, SourceFile
from seawall.detect.sigma.execute import register_functions
from seawall.detect.sigma.hunt import event_sources, plan, rule_matches
from seawall.detect.sigma.rules import CompiledRule, RuleCache, load_rules
from seawall.detect.sigma.sql import rule_query
from seawall.model.tables import EVENTS

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def write_events(store: CaseStore, events: list[dict[str, Any]], name: str = "built.json") -> None:
    """``events`` rows: system columns and ``data`` (a dict); ``record_id`` tags each event."""
    rows = []
    for event in events:
        row = dict(event)
        row["data"] = json.dumps(row.get("data", {}))
        row.setdefault("record_ref", str(row.get("record_id")))
        rows.append(row)
    columns = sorted({k for row in rows for k in row})
    schema = pa.schema([EVENTS.schema.field(c) for c in columns])
    table = pa.Table.from_pylist(rows, schema)
    content = json.dumps(rows, default=str).encode()
    source = SourceFile(Path(name), name, hashlib.sha256(content).hexdigest(), len(content))
    with IngestRun(store, "collect test-events", {}) as run:
        run.write("events", table, source)
        run.finish({})


def sysmon(record_id: int, event_id: int = 1, **data: Any) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "event_id": event_id,
        "channel": SYSMON,
        "provider": "Microsoft-Windows-Sysmon",
        "computer": "WS1",
        "data": data,
    }


def security(record_id: int, event_id: int, **data: Any) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "event_id": event_id,
        "channel": "Security",
        "provider": "Microsoft-Windows-Security-Auditing",
        "computer": "DC1",
        "data": data,
    }


def write_rule(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def compiled(folder: Path, cache_dir: Path) -> list[CompiledRule]:
    return load_rules([folder], RuleCache(cache_dir))


def record_ids(store: CaseStore, rows: set[int]) -> set[int]:
    """The record ids of ``events`` rows (the tests tag events by record id)."""
    if not rows:
        return set()
    found = store.con.execute(
        "SELECT record_id FROM events WHERE rowid IN (SELECT unnest(?))", [sorted(rows)]
    ).fetchall()
    return {int(r[0]) for r in found}


def hunt_hits(store: CaseStore, rules: list[CompiledRule]) -> dict[str, set[int]]:
    """Record ids each rule matched, by the hunt's own evaluation."""
    planned = plan(rules, event_sources(store))
    by_rule, errors = rule_matches(store, planned.jobs)
    assert not errors, errors
    return {rule_id: record_ids(store, rows) for rule_id, rows in by_rule.items()}


def sql_hits(store: CaseStore, rules: list[CompiledRule]) -> dict[str, set[int]]:
    """Record ids each rule matched, by its portable SQL (one query per variant) in DuckDB."""
    register_functions(store.con)
    planned = plan(rules, event_sources(store))
    found: dict[str, set[int]] = {}
    for job in planned.jobs:
        store.con.complete()
        rows = store.con.sql(f"SELECT record_id FROM ({rule_query(job.variant.tree)})").fetchall()
        found.setdefault(job.rule.id, set()).update(int(r[0]) for r in rows)
    return found
