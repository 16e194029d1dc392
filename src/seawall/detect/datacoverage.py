"""Coverage that knows the data: what the case holds, and what each detection can evaluate.

``seawall pack show`` says which detections *exist* for an advisory; this module says, for one
case, which of them can *evaluate* anything: it inventories the data sources (tables, event
channels and ids, whether 4688 events carry command lines, Sysmon or not, authentication and
network logs) and runs every detection's pre-flight check (:mod:`seawall.detect.requires`)
without running the detection. A pack's technique or guidance item is then *evaluated* (a
detection for it has its data here), *not-evaluable* (detections exist, their telemetry is
missing: named), *no-detection* (nothing built yet) or *not-checkable* (the pack says why).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from seawall.case.store import CaseStore
from seawall.detect.requires import SHORT_CHANNELS, TABLE_HINTS, preflight
from seawall.detect.schema import Detection, LoadedDetection
from seawall.intel.packs.coverage import BUILTIN_CAPABILITIES
from seawall.intel.packs.schema import Pack
from seawall.model.tables import EVIDENCE_TABLES

DetectionData = Literal["evaluable", "not-evaluable", "not-run"]
ItemData = Literal["evaluated", "not-evaluable", "no-detection", "not-checkable"]

SYSMON = "microsoft-windows-sysmon/operational"
# What the built-in capabilities need: intel in the case.
_CAPABILITY_TABLES = {"intel.import": "sources", "intel.reputation": "indicators"}


@dataclass(slots=True)
class ChannelSummary:
    """One event channel: its events and how many of each event id."""

    channel: str | None
    name: str
    events: int = 0
    event_ids: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DataSources:
    """What the case holds, as a hunt's detections see it."""

    tables: dict[str, int]
    channels: list[ChannelSummary]
    process_creation: dict[str, int]
    sysmon: bool
    powershell_script_blocks: int
    auth: dict[str, int]

    def notes(self) -> list[str]:
        """What an analyst should know about the telemetry before reading any result."""
        found: list[str] = []
        creation = self.process_creation
        if creation["security_4688"] and not creation["security_4688_with_command_line"]:
            found.append(
                f"Security 4688 events ({creation['security_4688']:,}) have no command lines:"
                " enable 'Include command line in process creation events'"
            )
        elif creation["security_4688"] > creation["security_4688_with_command_line"]:
            missing = creation["security_4688"] - creation["security_4688_with_command_line"]
            total = creation["security_4688"]
            found.append(f"{missing:,} of {total:,} Security 4688 events lack a command line")
        if self.tables.get("events") and not self.sysmon:
            found.append(
                "no Sysmon events: process access (LSASS) is not seen, nor the parent image of"
                " 4688 events older than Windows 10"
            )
        if self.tables.get("auth") and not self.auth.get("with_mfa"):
            found.append(
                "the authentication logs do not record MFA: sign-ins without MFA are not judged"
            )
        return found


@dataclass(frozen=True, slots=True)
class DetectionCoverage:
    id: str
    title: str
    techniques: list[str]
    guidance: list[str]
    status: DetectionData
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    last_hunt: str | None = None


@dataclass(frozen=True, slots=True)
class PackItemData:
    kind: Literal["technique", "guidance"]
    id: str
    name: str
    status: ItemData
    detections: list[str]
    evaluable: list[str]
    missing: list[str]
    """For not-evaluable items: "detection: what telemetry is missing"."""
    not_built: list[str]
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CaseCoverage:
    data: DataSources
    detections: list[DetectionCoverage]
    pack: str | None = None
    items: list[PackItemData] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["data"]["notes"] = self.data.notes()
        return result


def _rows(store: CaseStore, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    store.con.complete()
    return store.con.sql(sql, params=params or []).fetchall()


def data_sources(store: CaseStore) -> DataSources:
    counts = store.table_counts()
    shown = (*EVIDENCE_TABLES, "indicators", "sources", "baselines")
    tables = {name: n for name, n in counts.items() if name in shown}
    channels: dict[str | None, ChannelSummary] = {}
    for channel, event_id, count in _rows(
        store,
        "SELECT channel, event_id, count(*) FROM events GROUP BY ALL ORDER BY channel, event_id",
    ):
        name = SHORT_CHANNELS.get((channel or "").lower(), channel or "(no channel)")
        summary = channels.setdefault(channel, ChannelSummary(channel, name))
        summary.events += int(count)
        summary.event_ids[int(event_id) if event_id is not None else -1] = int(count)
    process = _rows(
        store,
        """SELECT
            count(*) FILTER (WHERE lower(channel) = 'security' AND event_id = 4688),
            count(*) FILTER (WHERE lower(channel) = 'security' AND event_id = 4688
                             AND coalesce(data->>'CommandLine', '') NOT IN ('', '-')),
            count(*) FILTER (WHERE lower(channel) = ? AND event_id = 1),
            count(*) FILTER (WHERE lower(channel) = ?),
            count(*) FILTER (WHERE event_id IN (4103, 4104)
                             AND lower(channel) = 'microsoft-windows-powershell/operational')
        FROM events""",
        [SYSMON, SYSMON],
    )[0]
    auth = _rows(
        store,
        """SELECT count(*), count(mfa), count(country) + count(latitude) > 0,
                  count(*) FILTER (WHERE scope = 'external'),
                  count(*) FILTER (WHERE scope = 'internal')
           FROM auth""",
    )[0]
    return DataSources(
        tables=tables,
        channels=sorted(channels.values(), key=lambda c: -c.events),
        process_creation={
            "security_4688": int(process[0]),
            "security_4688_with_command_line": int(process[1]),
            "sysmon_1": int(process[2]),
        },
        sysmon=bool(process[3]),
        powershell_script_blocks=int(process[4]),
        auth={
            "rows": int(auth[0]),
            "with_mfa": int(auth[1]),
            "with_location": int(bool(auth[2])),
            "external": int(auth[3]),
            "internal": int(auth[4]),
        },
    )


def _last_hunt(store: CaseStore) -> tuple[str | None, dict[str, str]]:
    rows = _rows(
        store,
        "SELECT finished_at, summary FROM runs WHERE command = 'hunt' AND status = 'ok'"
        " ORDER BY finished_at DESC LIMIT 1",
    )
    if not rows:
        return None, {}
    finished, summary = rows[0]
    parsed = json.loads(summary) if isinstance(summary, str) else (summary or {})
    return str(finished), dict(parsed.get("coverage") or {})


def _context(store: CaseStore, detection: Detection) -> list[str]:
    notes: list[str] = []
    for name, meaning in detection.context.items():
        if name == "allowlist":
            notes.append(
                f"allowlist: given at hunt time (--allowlist FILE); without one, {meaning}"
            )
        elif name == "baseline":
            learned = _rows(
                store,
                "SELECT max(learned_until) FROM baselines WHERE detection_id = ?",
                [detection.id],
            )[0][0]
            if learned is None:
                notes.append(f"no baseline learned: {meaning}")
            else:
                notes.append(f"baseline learned up to {learned}")
        elif detection.parameters.get(name) in (None, "", [], {}):
            notes.append(f"{name} empty by default (--param {detection.id}.{name}=…): {meaning}")
    return notes


def detection_coverage(
    store: CaseStore, loaded: Mapping[str, LoadedDetection]
) -> list[DetectionCoverage]:
    when, last = _last_hunt(store)
    found: list[DetectionCoverage] = []
    for ident in sorted(loaded):
        detection = loaded[ident].detection
        checked = preflight(store.con, detection)
        status: DetectionData = "evaluable" if checked.outcome == "ok" else checked.outcome
        hunted = f"{last[ident]} in the hunt of {when}" if ident in last else None
        found.append(
            DetectionCoverage(
                id=ident,
                title=detection.title,
                techniques=list(detection.techniques),
                guidance=list(detection.guidance),
                status=status,
                reason=checked.reason,
                notes=list(checked.notes),
                context=_context(store, detection),
                last_hunt=hunted,
            )
        )
    return found


def _capability(store: CaseStore, ident: str) -> DetectionCoverage:
    table = _CAPABILITY_TABLES.get(ident, "indicators")
    rows = store.table_counts().get(table, 0)
    return DetectionCoverage(
        id=ident,
        title=f"command: {BUILTIN_CAPABILITIES[ident]}",
        techniques=[],
        guidance=[],
        status="evaluable" if rows else "not-run",
        reason=None if rows else f"table {table} is empty: {TABLE_HINTS[table]}",
    )


def _item(
    kind: Literal["technique", "guidance"],
    ident: str,
    name: str,
    ids: list[str],
    by_id: Mapping[str, DetectionCoverage],
    not_checkable: str | None = None,
) -> PackItemData:
    built = [i for i in ids if i in by_id]
    evaluable = [i for i in built if by_id[i].status == "evaluable"]
    missing = [f"{i}: {by_id[i].reason}" for i in built if by_id[i].status != "evaluable"]
    not_built = [i for i in ids if i not in by_id]
    status: ItemData
    if not_checkable is not None:
        status = "not-checkable"
    elif evaluable:
        status = "evaluated"
    elif built:
        status = "not-evaluable"
    else:
        status = "no-detection"
    return PackItemData(
        kind, ident, name, status, ids, evaluable, missing, not_built, not_checkable
    )


def case_coverage(
    store: CaseStore, loaded: Mapping[str, LoadedDetection], pack: Pack | None = None
) -> CaseCoverage:
    detections = detection_coverage(store, loaded)
    by_id: dict[str, DetectionCoverage] = {d.id: d for d in detections}
    items: list[PackItemData] = []
    if pack is not None:
        for ident in pack.detection_ids():
            if ident in BUILTIN_CAPABILITIES and ident not in by_id:
                by_id[ident] = _capability(store, ident)
        for technique in pack.techniques:
            items.append(
                _item("technique", technique.id, technique.name, technique.detections, by_id)
            )
        for guidance in pack.mitigations:
            items.append(
                _item(
                    "guidance",
                    guidance.id,
                    guidance.title,
                    guidance.detections,
                    by_id,
                    None if guidance.checkable else guidance.not_checkable_reason,
                )
            )
    return CaseCoverage(
        data=data_sources(store),
        detections=detections,
        pack=None if pack is None else pack.id,
        items=items,
    )
