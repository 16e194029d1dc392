"""The result document: every finding of a hunt, and what the hunt could and could not look at.

Renderers (text, JSON, HTML, Navigator, STIX) read only this document, so it carries everything an
analyst needs to trust a result: the evidence rows with their provenance, the indicator and every
source that reported it, the reasons a finding matched and how it was judged, and a coverage entry
for every detection and ATT&CK technique — including the ones that did *not* run and why (the
design's "never silently zero"). Models are frozen and refuse unknown fields, so a renderer cannot
depend on something a producer forgot to set.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

FORMAT = 1

Severity = Literal["info", "low", "medium", "high", "critical"]
# ``partial``: the detection ran but could not judge part of its input (the reason says which
# and how to fix it); never to be read as "nothing found there". ``not-run``: a table it reads
# is empty (nothing of that kind was collected); ``not-evaluable``: the case holds that kind of
# evidence but not the telemetry the detection needs (no Security 5140 events, 4688 events
# without command lines), so zero findings would mean nothing.
CoverageStatus = Literal["ran", "partial", "not-run", "not-evaluable", "error"]
# How technique coverage ranks its detections' statuses: the first one present wins.
_STATUS_RANK: dict[str, int] = {
    "partial": 0,
    "ran": 1,
    "error": 2,
    "not-evaluable": 3,
    "not-run": 4,
}

SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")
# The score a finding gets when its detection states none: its severity, on a 0..100 scale.
SEVERITY_SCORES: dict[str, float] = {
    "info": 10.0,
    "low": 25.0,
    "medium": 50.0,
    "high": 75.0,
    "critical": 90.0,
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Provenance(_Frozen):
    """Where an evidence row came from: the input file, its SHA-256 and the record within it."""

    source_file: str | None = None
    source_sha256: str | None = None
    record_ref: str | None = None


class IndicatorSource(_Frozen):
    """One source that reported an indicator (a sighting), as the analyst must be able to cite."""

    source: str
    source_id: str
    source_file: str | None = None
    confidence: int | None = None
    title: str | None = None
    external_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    context: dict[str, JsonValue] = Field(default_factory=dict)


class IndicatorRef(_Frozen):
    """The indicator an evidence row matched, with all of its sources."""

    type: str
    value: str
    sources: list[IndicatorSource] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    techniques: list[str] = Field(default_factory=list)


class Evidence(_Frozen):
    """One evidence row (its columns as JSON values), its provenance and the indicator it hit."""

    row: dict[str, JsonValue]
    provenance: Provenance = Provenance()
    indicator: IndicatorRef | None = None


VersionStatus = Literal["active", "revoked", "deprecated", "absent"]


class AttackRef(_Frozen):
    """A technique a finding carries, as every shipped ATT&CK version knows it.

    Advisories cite the ATT&CK of their day (AA21-200A: v9) and intel may carry ids revoked
    since; ``versions`` gives the id's status in each version and ``replaced_by`` the id that
    replaced a revoked one today (the finding's ``techniques`` then list both).
    """

    id: str
    name: str | None = None
    versions: dict[str, VersionStatus] = Field(default_factory=dict)
    replaced_by: str | None = None


class Finding(_Frozen):
    """One thing a detection matched, explained and judged."""

    finding_id: str
    detection_id: str
    title: str
    summary: str
    severity: Severity
    score: float = Field(ge=0, le=100)
    techniques: list[str] = Field(default_factory=list)
    host: str | None = None
    user: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    verdict: str = "suspicious"
    suppressed: bool = False
    reasons: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    attack: list[AttackRef] = Field(default_factory=list)


class CoverageEntry(_Frozen):
    """Whether one detection ran; when it did not, ``reason`` says why and what to do."""

    detection_id: str
    title: str | None = None
    techniques: list[str] = Field(default_factory=list)
    status: CoverageStatus
    reason: str | None = None
    findings: int = 0
    suppressed: int = 0
    notes: list[str] = Field(default_factory=list)


class TechniqueCoverage(_Frozen):
    """One ATT&CK technique: the detections that look for it and whether any of them ran."""

    technique: str
    status: CoverageStatus
    detections: list[str]
    findings: int = 0


class ResultDocument(_Frozen):
    """Everything one hunt produced; the only input of every renderer."""

    format: int = FORMAT
    run_id: str
    seawall_version: str
    case: str
    pack: str | None = None
    started: datetime
    finished: datetime
    findings: list[Finding] = Field(default_factory=list)
    coverage: list[CoverageEntry] = Field(default_factory=list)
    technique_coverage: list[TechniqueCoverage] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def incomplete(self) -> list[CoverageEntry]:
        """Detections that failed or could not judge part of their input (``error``,
        ``partial``): the hunt's answer is incomplete (``seawall hunt`` exits 5)."""
        return [entry for entry in self.coverage if entry.status in ("error", "partial")]

    @property
    def unsuppressed(self) -> list[Finding]:
        """Findings an analyst still has to look at (these make ``seawall hunt`` exit 1)."""
        return [finding for finding in self.findings if not finding.suppressed]


def finding_id(detection_id: str, *keys: Any) -> str:
    """A stable id from the detection and the evidence keys, so a re-run hunt replaces, not adds.

    The keys are serialised as canonical JSON (sorted, ``str`` for anything else), so equal
    evidence always gives the same id across runs and machines.
    """
    text = json.dumps([detection_id, *keys], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def technique_coverage(entries: list[CoverageEntry]) -> list[TechniqueCoverage]:
    """Coverage by technique: ``partial`` when a detection for it could not judge all of its
    input, else ``ran`` when any detection for it ran, else the first of ``error``,
    ``not-evaluable`` and ``not-run``."""
    by_technique: dict[str, list[CoverageEntry]] = {}
    for entry in entries:
        for technique in entry.techniques:
            by_technique.setdefault(technique, []).append(entry)
    result: list[TechniqueCoverage] = []
    for technique in sorted(by_technique):
        found = by_technique[technique]
        status: CoverageStatus = min(
            (entry.status for entry in found), key=lambda status: _STATUS_RANK[status]
        )
        result.append(
            TechniqueCoverage(
                technique=technique,
                status=status,
                detections=[entry.detection_id for entry in found],
                findings=sum(entry.findings for entry in found),
            )
        )
    return result
