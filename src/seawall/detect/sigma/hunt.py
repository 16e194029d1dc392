"""Sigma rules in a hunt: one coverage entry per rule, one finding per rule and host.

Each rule is ``sigma.<rule id>`` in the coverage report. A rule runs when the case holds events of
its log source (as the pipelines map it: ``process_creation`` is Sysmon 1 or Security 4688); when
it does not, the rule is *not evaluable* and says which events are missing, never "ran, found
nothing". Rules that cannot be compiled carry their reason from loading (unsupported modifier,
log source without Windows events, broken YAML with its line…).

A finding is what one rule matched on one host: the rule's id, title, level (as the severity),
its tags (``attack.tNNNN`` as ATT&CK techniques), when it first and last matched there, how many
event records matched, and the matched events with their provenance as evidence — the first
``max_evidence`` by time (a noisy rule on a million events must not make a million-row finding).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.detect.evidence import jsonable
from seawall.detect.sigma.execute import Job, Matches, Source, covered, evaluate
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
from seawall.model.reason import reason

MAX_EVIDENCE = 20
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
    return covered(variant.channels, variant.event_ids, sources)


def run_sigma(
    store: CaseStore,
    directories: Sequence[Path],
    *,
    max_evidence: int = MAX_EVIDENCE,
    cache: RuleCache | None = None,
) -> list[SigmaOutcome]:
    """Load, compile and run every Sigma rule under ``directories`` on the case."""
    rules = load_rules(directories, cache)
    return run_rules(store, rules, max_evidence=max_evidence)


@dataclass(slots=True)
class Plan:
    """The rule variants to evaluate, and why the other rules will not run."""

    jobs: list[Job]
    not_run: dict[str, str]
    notes: dict[str, list[str]]


def plan(rules: Sequence[CompiledRule], sources: dict[Source, int]) -> Plan:
    """A job per variant whose events the case holds; a rule with none is not evaluable."""
    result = Plan([], {}, {})
    counts: dict[tuple[Any, Any], int] = {}  # thousands of variants, a few dozen log sources

    def count(variant: Variant) -> int:
        key = (variant.channels, variant.event_ids)
        found = counts.get(key)
        if found is None:
            found = counts[key] = available(variant, sources)
        return found

    for rule in rules:
        if rule.reason is not None:
            continue
        runnable = [v for v in rule.variants if count(v)]
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
    store: CaseStore, jobs: Sequence[Job], sources: dict[Source, int] | None = None
) -> tuple[dict[str, set[int]], dict[str, str]]:
    """The ``events`` row ids each rule matched (any of its variants), and rules that failed."""
    kinds = sources if sources is not None else event_sources(store)
    matches = evaluate(store, jobs, kinds) if jobs else Matches()
    by_rule: dict[str, set[int]] = {}
    errors: dict[str, str] = {}
    for job in jobs:
        by_rule.setdefault(job.rule.id, set()).update(matches.rows.get(job.number, ()))
        if job.number in matches.errors:
            errors[job.rule.id] = f"{job.variant.name}: {matches.errors[job.number]}"
    return by_rule, errors


def run_rules(
    store: CaseStore, rules: Sequence[CompiledRule], *, max_evidence: int = MAX_EVIDENCE
) -> list[SigmaOutcome]:
    """Every rule's coverage entry and findings (see the module docstring)."""
    sources = event_sources(store)
    planned = plan(rules, sources)
    by_rule, errors = rule_matches(store, planned.jobs, sources)
    matched = {rid: rows for rid, rows in by_rule.items() if rid not in errors and rows}
    hosts = _by_host(store, matched, max_evidence)
    shown = [row for found in hosts.values() for group in found for row in group.rows]
    events = _events(store, set(shown))
    return [
        _outcome(rule, planned.not_run, errors, planned.notes, hosts.get(rule.id, []), events)
        for rule in rules
    ]


@dataclass(slots=True)
class _HostMatches:
    """What one rule matched on one host: distinct records, time span, rows to show."""

    host: str | None
    count: int = 0
    first: int | None = None
    last: int | None = None
    rows: list[int] = field(default_factory=list)


def _by_host(
    store: CaseStore, matched: dict[str, set[int]], limit: int
) -> dict[str, list[_HostMatches]]:
    """Per rule and host: how many distinct event records matched (a record collected twice is
    one), the time span, and the rows of the first ``limit`` records by time."""
    wanted = sorted(set().union(*matched.values())) if matched else []
    keys: dict[int, tuple[Any, ...]] = {}
    if wanted:
        ids = pa.table({"_row": pa.array(wanted, pa.int64())})
        with store.registered("_sigma_keys", ids) as name:
            reader = store.con.sql(
                f"SELECT w._row, epoch_us(e.time), coalesce(e.host, e.computer),"
                f" e.source_sha256, e.record_ref, e.record_id"
                f" FROM {name} w JOIN events e ON e.rowid = w._row"
            ).to_arrow_reader(100_000)
            for batch in reader:
                for row, *key in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                    keys[int(row)] = tuple(key)
    result: dict[str, list[_HostMatches]] = {}
    for rule_id, rows in matched.items():
        ordered = sorted(rows, key=lambda r: (keys[r][0] is None, keys[r][0] or 0, r))
        seen: set[tuple[Any, ...]] = set()
        hosts: dict[str | None, _HostMatches] = {}
        for row in ordered:
            time, host, *record = keys[row]
            if tuple(record) in seen:
                continue
            seen.add(tuple(record))
            found = hosts.setdefault(host, _HostMatches(host))
            found.count += 1
            if time is not None:
                found.first = time if found.first is None else min(found.first, time)
                found.last = time if found.last is None else max(found.last, time)
            if len(found.rows) < limit:
                found.rows.append(row)
        result[rule_id] = list(hosts.values())
    return result


def describe_source(channels: frozenset[str] | None, event_ids: frozenset[int] | None) -> str:
    """``Security 5140/5145`` — the events a variant reads, for a not-evaluable reason."""
    where = " or ".join(sorted(channels)) if channels else "any channel"
    if event_ids:
        return f"{where} {'/'.join(str(e) for e in sorted(event_ids))}"
    return where


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
    hosts: list[_HostMatches],
    events: dict[int, dict[str, Any]],
) -> SigmaOutcome:
    if rule.reason is not None:
        return SigmaOutcome(_entry(rule, "not-run", rule.reason), [])
    if rule.id in not_run:
        return SigmaOutcome(_entry(rule, "not-evaluable", not_run[rule.id]), [])
    if rule.id in errors:
        return SigmaOutcome(_entry(rule, "error", errors[rule.id]), [])
    findings = [_finding(rule, found, events) for found in hosts]
    more = list(notes.get(rule.id, []))
    count = sum(found.count for found in hosts)
    if count:
        more.append(f"{count} event records matched on {len(hosts)} host(s)")
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


def _microseconds(value: int | None) -> datetime | None:
    """An ``epoch_us`` as a naive UTC time (the findings table's)."""
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1_000_000, UTC).replace(tzinfo=None)


def _evidence(event: dict[str, Any]) -> Evidence:
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
    return Evidence(row=row, provenance=provenance)


def _finding(rule: CompiledRule, found: _HostMatches, events: dict[int, dict[str, Any]]) -> Finding:
    ident = detection_id(rule)
    techniques, attack = current_techniques(rule.techniques)
    shown = [events[row] for row in found.rows]
    where = found.host or "an unknown host"
    kinds = sorted({f"{e['channel']} {e['event_id']}" for e in shown})
    summary = f"{rule.title}: {found.count} event(s) on {where} ({', '.join(kinds)})"
    reasons = [
        reason(
            "sigma.match",
            f"Sigma rule {rule.id} ({rule.path}) matched; level {rule.level}",
            rule=rule.id,
            path=rule.path,
            level=rule.level,
            status=rule.status,
        )
    ]
    if rule.tags:
        reasons.append(reason("sigma.tags", "tags: " + ", ".join(rule.tags), tags=rule.tags))
    if found.count > len(shown):
        reasons.append(
            reason(
                "sigma.events",
                f"{found.count} event records matched; the first {len(shown)} are shown",
                matched=found.count,
                shown=len(shown),
            )
        )
    users = {e["user_name"] for e in shown if e["user_name"]}
    return Finding(
        finding_id=finding_id(ident, found.host),
        detection_id=ident,
        title=rule.title,
        summary=summary,
        severity=rule.severity,  # type: ignore[arg-type]
        score=SEVERITY_SCORES[rule.severity],
        techniques=techniques,
        host=found.host,
        user=users.pop() if len(users) == 1 else None,
        first_seen=_microseconds(found.first),
        last_seen=_microseconds(found.last),
        reasons=reasons,
        evidence=[_evidence(e) for e in shown],
        attack=attack,
    )
