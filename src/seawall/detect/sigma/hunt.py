"""Sigma rules in a hunt: one coverage entry per rule, one finding per matched event.

Each rule is ``sigma.<rule id>`` in the coverage report. A rule runs when the case holds events of
its log source (as the pipelines map it: ``process_creation`` is Sysmon 1 or Security 4688); when
it does not, the rule is *not evaluable* and says which events are missing, never "ran, found
nothing". Rules that cannot be compiled carry their reason from loading (unsupported modifier,
log source without Windows events, broken YAML with its line…).

A finding carries the rule's id, title, level (as the severity), its tags (``attack.tNNNN`` as
ATT&CK techniques) and the matched event with its provenance. A rule that matches very many events
lists the first ``max_findings`` (by time) and says how many more matched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.detect.evidence import jsonable
from seawall.detect.sigma.execute import Job, Matches, Source, evaluate
from seawall.detect.sigma.logsource import describe_source
from seawall.detect.sigma.rules import CompiledRule, RuleCache, Variant, load_rules
from seawall.detect.techniques import current_techniques
from seawall.model.finding import (
    SEVERITY_SCORES,
    CoverageEntry,
    Evidence,
    Finding,
    Provenance,
    finding_id,
)

MAX_FINDINGS_PER_RULE = 1_000
_EVENT_COLUMNS = (
    "time",
    "computer",
    "channel",
    "provider",
    "event_id",
    "record_id",
    "user_name",
    "host",
    "data",
    "source_file",
    "source_sha256",
    "record_ref",
)


@dataclass(frozen=True, slots=True)
class SigmaOutcome:
    """One rule's coverage entry and findings."""

    entry: CoverageEntry
    findings: list[Finding]


def detection_id(rule: CompiledRule) -> str:
    return f"sigma.{rule.id}"


def event_sources(store: CaseStore) -> dict[Source, int]:
    """Events in the case by (channel as stored, event id)."""
    store.con.complete()
    rows = store.con.execute("SELECT channel, event_id, count(*) FROM events GROUP BY ALL")
    found = {
        (None if c is None else str(c), None if e is None else int(e)): int(n)
        for c, e, n in rows.fetchall()
    }
    store.con.complete()
    return found


def available(variant: Variant, sources: dict[Source, int]) -> int:
    """How many events of the case the variant's log source covers."""
    channels = None if variant.channels is None else {c.lower() for c in variant.channels}
    ids = None if variant.event_ids is None else set(variant.event_ids)
    return sum(
        count
        for (channel, event_id), count in sources.items()
        if (channels is None or (channel or "").lower() in channels)
        and (ids is None or event_id in ids)
    )


def run_sigma(
    store: CaseStore,
    directories: Sequence[Path],
    *,
    max_findings: int = MAX_FINDINGS_PER_RULE,
    cache: RuleCache | None = None,
) -> list[SigmaOutcome]:
    """Load, compile and run every Sigma rule under ``directories`` on the case."""
    rules = load_rules(directories, cache)
    return run_rules(store, rules, max_findings=max_findings)


@dataclass(slots=True)
class Plan:
    """The rule variants to evaluate, and why the other rules will not run."""

    jobs: list[Job]
    not_run: dict[str, str]
    notes: dict[str, list[str]]


def plan(rules: Sequence[CompiledRule], sources: dict[Source, int]) -> Plan:
    """A job per variant whose events the case holds; a rule with none is not evaluable."""
    result = Plan([], {}, {})
    for rule in rules:
        if rule.reason is not None:
            continue
        runnable = [v for v in rule.variants if available(v, sources)]
        missing = [describe_source(_set(v.channels), _set(v.event_ids)) for v in rule.variants]
        if not runnable:
            what = " or ".join(dict.fromkeys(missing))
            result.not_run[rule.id] = f"not evaluable: no {what} events in the case"
            continue
        if len(runnable) < len(rule.variants):
            result.notes[rule.id] = [
                f"no {m} events in the case: that form of the rule was not run"
                for v, m in zip(rule.variants, missing, strict=True)
                if v not in runnable
            ]
        for variant in runnable:
            result.jobs.append(Job(len(result.jobs), rule, variant))
    return result


def rule_matches(
    store: CaseStore, jobs: Sequence[Job], sources: Iterable[Source] | None = None
) -> tuple[dict[str, set[int]], dict[str, str]]:
    """The ``events`` row ids each rule matched (any of its variants), and rules that failed."""
    kinds = list(sources if sources is not None else event_sources(store))
    matches = evaluate(store, jobs, kinds) if jobs else Matches()
    by_rule: dict[str, set[int]] = {}
    errors: dict[str, str] = {}
    for job in jobs:
        by_rule.setdefault(job.rule.id, set()).update(matches.rows.get(job.number, ()))
        if job.number in matches.errors:
            errors[job.rule.id] = f"{job.variant.name}: {matches.errors[job.number]}"
    return by_rule, errors


def run_rules(
    store: CaseStore, rules: Sequence[CompiledRule], *, max_findings: int = MAX_FINDINGS_PER_RULE
) -> list[SigmaOutcome]:
    """Every rule's coverage entry and findings (see the module docstring)."""
    sources = event_sources(store)
    planned = plan(rules, sources)
    by_rule, errors = rule_matches(store, planned.jobs, sources)
    matched = {rid: rows for rid, rows in by_rule.items() if rid not in errors and rows}
    chosen = _first_records(store, matched, max_findings)
    events = _events(store, set().union(*(rows for rows, _ in chosen.values())))
    return [
        _outcome(rule, planned.not_run, errors, planned.notes, chosen.get(rule.id), events)
        for rule in rules
    ]


def _first_records(
    store: CaseStore, matched: dict[str, set[int]], limit: int
) -> dict[str, tuple[list[int], int]]:
    """Per rule, the rows of its first ``limit`` distinct event records by time, and how many
    distinct records it matched (a record collected twice is one finding)."""
    wanted = sorted(set().union(*matched.values())) if matched else []
    keys: dict[int, tuple[Any, ...]] = {}
    if wanted:
        ids = pa.table({"_row": pa.array(wanted, pa.int64())})
        with store.registered("_sigma_keys", ids) as name:
            reader = store.con.sql(
                f"SELECT w._row, epoch_us(e.time), e.source_sha256, e.record_ref, e.record_id"
                f" FROM {name} w JOIN events e ON e.rowid = w._row"
            ).to_arrow_reader(100_000)
            for batch in reader:
                for row, *key in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                    keys[int(row)] = tuple(key)
    chosen: dict[str, tuple[list[int], int]] = {}
    for rule_id, rows in matched.items():
        ordered = sorted(rows, key=lambda r: (keys[r][0] is None, keys[r][0] or 0, r))
        seen: set[tuple[Any, ...]] = set()
        first: list[int] = []
        for row in ordered:
            record = keys[row][1:]
            if record not in seen:
                seen.add(record)
                if len(first) < limit:
                    first.append(row)
        chosen[rule_id] = (first, len(seen))
    return chosen


def _set(values: tuple[Any, ...] | None) -> frozenset[Any] | None:
    return None if values is None else frozenset(values)


def _entry(
    rule: CompiledRule, status: Any, reason: str | None = None, **more: Any
) -> CoverageEntry:
    return CoverageEntry(
        detection_id=detection_id(rule),
        title=rule.title,
        techniques=rule.techniques,
        status=status,
        reason=reason,
        **more,
    )


def _outcome(
    rule: CompiledRule,
    not_run: dict[str, str],
    errors: dict[str, str],
    notes: dict[str, list[str]],
    chosen: tuple[list[int], int] | None,
    events: dict[int, dict[str, Any]],
) -> SigmaOutcome:
    if rule.reason is not None:
        return SigmaOutcome(_entry(rule, "not-run", rule.reason), [])
    if rule.id in not_run:
        return SigmaOutcome(_entry(rule, "not-run", not_run[rule.id]), [])
    if rule.id in errors:
        return SigmaOutcome(_entry(rule, "error", errors[rule.id]), [])
    rows, count = chosen if chosen is not None else ([], 0)
    findings = [_finding(rule, events[row]) for row in rows]
    more = list(notes.get(rule.id, []))
    if count > len(findings):
        more.append(f"{count} events matched; the first {len(findings)} by time are findings")
    return SigmaOutcome(
        _entry(rule, "ran", findings=len(findings), notes=more, suppressed=0), findings
    )


def _events(store: CaseStore, rows: set[int]) -> dict[int, dict[str, Any]]:
    """The events (by row id) with the columns a finding shows."""
    wanted = sorted(rows)
    if not wanted:
        return {}
    ids = pa.table({"_row": pa.array(wanted, pa.int64())})
    columns = ", ".join(f"e.{c}" for c in _EVENT_COLUMNS)
    found: dict[int, dict[str, Any]] = {}
    with store.registered("_sigma_rows", ids) as name:
        reader = store.con.sql(
            f"SELECT w._row, {columns} FROM {name} w JOIN events e ON e.rowid = w._row"
        ).to_arrow_reader(10_000)
        for batch in reader:
            for row in batch.to_pylist():
                found[int(row["_row"])] = row
    return found


def _naive(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _finding(rule: CompiledRule, event: dict[str, Any]) -> Finding:
    ident = detection_id(rule)
    techniques, attack = current_techniques(rule.techniques)
    data = event.get("data")
    parsed = json.loads(data) if isinstance(data, str) else data
    row = {
        "time": jsonable(event["time"]),
        "computer": event["computer"],
        "channel": event["channel"],
        "provider": event["provider"],
        "event_id": event["event_id"],
        "record_id": jsonable(event["record_id"]),
        "user_name": event["user_name"],
        "data": jsonable(parsed),
    }
    provenance = Provenance(
        source_file=event["source_file"],
        source_sha256=event["source_sha256"],
        record_ref=event["record_ref"],
    )
    where = event["computer"] or event["host"] or "unknown host"
    summary = f"{rule.title}: {event['channel']} {event['event_id']} on {where}"
    reasons = [f"Sigma rule {rule.id} ({rule.path}) matched; level {rule.level}"]
    if rule.tags:
        reasons.append("tags: " + ", ".join(rule.tags))
    when = _naive(event["time"])
    return Finding(
        finding_id=finding_id(
            ident, event["source_sha256"], event["record_ref"], event["record_id"]
        ),
        detection_id=ident,
        title=rule.title,
        summary=summary,
        severity=rule.severity,  # type: ignore[arg-type]
        score=SEVERITY_SCORES[rule.severity],
        techniques=techniques,
        host=event["host"] or event["computer"],
        user=event["user_name"],
        first_seen=when,
        last_seen=when,
        reasons=reasons,
        evidence=[Evidence(row=row, provenance=provenance)],
        attack=attack,
    )
