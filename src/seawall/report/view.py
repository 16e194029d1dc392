"""The result document as the renderers need it: the only module that reads its fields.

Every renderer (HTML, Navigator, STIX) works on the plain, frozen view objects below, so a change
of the document's model changes this module and nothing else. Nothing here formats for one
output: values stay typed (times, numbers) and text stays raw — escaping is the templates' job
(Jinja2 autoescape), never done here, so that JSON-based renderers get the analyst's strings
unchanged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from seawall.model.finding import (
    SEVERITIES,
    AnalystReview,
    CoverageEntry,
    Evidence,
    Finding,
    Incident,
    ResultDocument,
    Suppression,
    TechniqueCoverage,
    identified_hosts,
)

NO_HOST = "(no host)"
_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> list[tuple[int, int | str]]:
    """Sorts host-2 before host-10."""
    return [(0, int(p)) if p.isdigit() else (1, p.lower()) for p in _DIGITS.split(text) if p]


@dataclass(frozen=True, slots=True)
class ReasonView:
    """Why a finding matched or how it was judged: the sentence, and what kind of reason."""

    text: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class SuppressionView:
    """Why a finding is kept but not for review: ``kind`` judgement, allowlist or triage."""

    kind: str
    reason: str
    entry: str | None
    expires: datetime | None


@dataclass(frozen=True, slots=True)
class ReviewView:
    """The analyst's verdict on a finding (true-positive, false-positive, benign)."""

    verdict: str
    reason: str
    analyst: str
    at: datetime | None


@dataclass(frozen=True, slots=True)
class RecordView:
    """One input record an evidence entry cites: file, its SHA-256 and the record within it."""

    source_file: str | None
    source_sha256: str | None
    record_ref: str | None


@dataclass(frozen=True, slots=True)
class SourceView:
    """One intel source that reported an indicator, with the id it gave it (a STIX id...)."""

    source: str
    title: str | None
    external_id: str | None
    source_file: str | None
    confidence: int | None
    spec_version: str | None


@dataclass(frozen=True, slots=True)
class IndicatorView:
    type: str
    value: str
    sources: tuple[SourceView, ...]


@dataclass(frozen=True, slots=True)
class EvidenceView:
    """One evidence entry: its columns as (name, value) pairs, the records it cites and the
    indicators it matched."""

    fields: tuple[tuple[str, Any], ...]
    records: tuple[RecordView, ...]
    indicators: tuple[IndicatorView, ...]


@dataclass(frozen=True, slots=True)
class FindingView:
    id: str
    anchor: str
    detection_id: str
    title: str
    summary: str
    severity: str
    score: float
    host: str | None
    user: str | None
    first_seen: datetime | None
    last_seen: datetime | None
    techniques: tuple[str, ...]
    verdict: str
    suppressed: bool
    reasons: tuple[ReasonView, ...]
    evidence: tuple[EvidenceView, ...]
    tactics: tuple[str, ...] = ()
    """Tactic short names of its techniques (current ATT&CK), in first-mention order."""
    dismissed: bool = False
    """Suppressed, or reviewed as a false positive or benign: not an open finding."""
    suppression: SuppressionView | None = None
    review: ReviewView | None = None
    description: str | None = None
    false_positives: tuple[str, ...] = ()
    triage: str | None = None
    machine: str | None = None
    """The host of the case the incidents identified ``host`` as (``web01.corp.example`` for
    a flow's ``10.20.0.10``), when they did, and unambiguously."""

    @property
    def host_name(self) -> str:
        """The host a reader groups it under: the identified machine, else the host as the
        evidence named it."""
        return self.machine or self.host or NO_HOST

    @property
    def given_host(self) -> str | None:
        """The host as the evidence named it, when that is not how ``host_name`` reads."""
        if self.host is None or self.host.lower() == self.host_name.lower():
            return None
        return self.host

    @property
    def when(self) -> datetime | None:
        """The time a timeline places it at: its first sighting, else its last."""
        return self.first_seen or self.last_seen


@dataclass(frozen=True, slots=True)
class CoverageView:
    detection_id: str
    title: str | None
    techniques: tuple[str, ...]
    status: str
    reason: str | None
    findings: int
    suppressed: int
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TechniqueCoverageView:
    technique: str
    status: str
    detections: tuple[str, ...]
    findings: int


@dataclass(frozen=True, slots=True)
class IncidentView:
    """Correlated findings across hosts and planes. The document of format 1 has none; the
    incident model joins it later and is read in :func:`_incidents` only."""

    id: str
    title: str
    hosts: tuple[str, ...]
    score: float
    tactics: tuple[str, ...]
    """The tactic progression: tactics in the order the incident's findings reached them."""
    findings: tuple[FindingView, ...]
    severity: str = "medium"
    summary: str = ""
    users: tuple[str, ...] = ()
    verdict: str = "suspicious"
    reasons: tuple[ReasonView, ...] = ()
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @property
    def anchor(self) -> str:
        return "i-" + _ANCHOR_UNSAFE.sub("_", self.id)


@dataclass(frozen=True, slots=True)
class PackRef:
    """The advisory pack a hunt ran, as the document names it, and its ATT&CK version."""

    id: str
    attack_version: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentView:
    """The whole document, ready for rendering."""

    format: int
    run_id: str
    case: str
    seawall_version: str
    pack: PackRef | None
    started: datetime
    finished: datetime
    findings: tuple[FindingView, ...]
    coverage: tuple[CoverageView, ...]
    technique_coverage: tuple[TechniqueCoverageView, ...]
    incidents: tuple[IncidentView, ...]
    warnings: tuple[str, ...]
    attack_version: str
    notes: list[str] = field(default_factory=list)
    """What rendering itself could not do (a pack it could not load...), shown in the report."""

    @property
    def open(self) -> tuple[FindingView, ...]:
        """Findings to review or confirmed: neither suppressed nor dismissed by a review."""
        return tuple(f for f in self.findings if not f.dismissed)

    @property
    def incomplete(self) -> tuple[CoverageView, ...]:
        """Detections whose answer is incomplete (error, partial): the hunt is not complete."""
        return tuple(c for c in self.coverage if c.status in ("error", "partial"))

    @property
    def not_evaluated(self) -> tuple[CoverageView, ...]:
        return tuple(c for c in self.coverage if c.status in ("not-run", "not-evaluable"))

    def severity_counts(self) -> list[tuple[str, int]]:
        """Open findings by severity, most severe first (every severity listed)."""
        counts = Counter(f.severity for f in self.open)
        return [(s, counts.get(s, 0)) for s in reversed(SEVERITIES)]

    def hosts(self) -> list[str]:
        return sorted({f.host_name for f in self.findings}, key=natural_key)


def utc(value: datetime | None) -> datetime | None:
    """Times in the document are UTC, stored naive or aware: always aware here."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def anchor(finding_id: str) -> str:
    """An HTML id for a finding: only characters that need no escaping anywhere."""
    return "f-" + _ANCHOR_UNSAFE.sub("_", finding_id)


def build_view(document: ResultDocument) -> DocumentView:
    """Read the document once into the view every renderer shares."""
    machines = identified_hosts(document.incidents)
    findings = tuple(
        _finding(f, machines.get(f.host) if f.host else None) for f in document.findings
    )
    return DocumentView(
        format=document.format,
        run_id=document.run_id,
        case=document.case,
        seawall_version=document.seawall_version,
        pack=PackRef(document.pack, document.pack_attack_version) if document.pack else None,
        started=utc(document.started) or document.started,
        finished=utc(document.finished) or document.finished,
        findings=findings,
        coverage=tuple(_coverage(c) for c in document.coverage),
        technique_coverage=tuple(_technique(t) for t in document.technique_coverage),
        incidents=tuple(
            sorted(
                (_incident(i, findings) for i in document.incidents),
                key=lambda i: (-i.score, i.id),
            )
        ),
        warnings=tuple(document.warnings),
        attack_version=document.attack_version,
    )


def _finding(finding: Finding, machine: str | None = None) -> FindingView:
    return FindingView(
        machine=machine,
        id=finding.finding_id,
        anchor=anchor(finding.finding_id),
        detection_id=finding.detection_id,
        title=finding.title,
        summary=finding.summary,
        severity=finding.severity,
        score=finding.score,
        host=finding.host,
        user=finding.user,
        first_seen=utc(finding.first_seen),
        last_seen=utc(finding.last_seen),
        techniques=tuple(finding.techniques),
        verdict=str(finding.verdict),
        suppressed=finding.suppressed,
        reasons=tuple(ReasonView(text=r.text, code=r.code) for r in finding.reasons),
        evidence=tuple(_evidence(e) for e in finding.evidence),
        tactics=tuple(dict.fromkeys(t for ref in finding.attack for t in ref.tactics)),
        dismissed=finding.dismissed,
        suppression=_suppression(finding.suppression),
        review=_review(finding.review),
        description=finding.description,
        false_positives=tuple(finding.false_positives),
        triage=finding.triage,
    )


def _suppression(suppression: Suppression | None) -> SuppressionView | None:
    if suppression is None:
        return None
    return SuppressionView(
        kind=suppression.kind,
        reason=suppression.reason,
        entry=suppression.entry,
        expires=utc(suppression.expires),
    )


def _review(review: AnalystReview | None) -> ReviewView | None:
    if review is None:
        return None
    return ReviewView(str(review.verdict), review.reason, review.analyst, utc(review.at))


def _evidence(entry: Evidence) -> EvidenceView:
    """An aggregated row cites every record it stands for (``records``), else its own."""
    cited = entry.records or [entry.provenance]
    records = tuple(
        RecordView(p.source_file, p.source_sha256, p.record_ref)
        for p in cited
        if any((p.source_file, p.source_sha256, p.record_ref))
    )
    indicators: tuple[IndicatorView, ...] = ()
    if entry.indicator is not None:
        ref = entry.indicator
        sources = tuple(
            SourceView(
                source=s.source,
                title=s.title,
                external_id=s.external_id,
                source_file=s.source_file,
                confidence=s.confidence,
                spec_version=_text(s.context.get("spec_version")),
            )
            for s in ref.sources
        )
        indicators = (IndicatorView(ref.type, ref.value, sources),)
    return EvidenceView(
        fields=tuple(entry.row.items()),
        records=records,
        indicators=indicators,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _coverage(entry: CoverageEntry) -> CoverageView:
    return CoverageView(
        detection_id=entry.detection_id,
        title=entry.title,
        techniques=tuple(entry.techniques),
        status=entry.status,
        reason=entry.reason,
        findings=entry.findings,
        suppressed=entry.suppressed,
        notes=tuple(entry.notes),
    )


def _technique(entry: TechniqueCoverage) -> TechniqueCoverageView:
    return TechniqueCoverageView(
        technique=entry.technique,
        status=entry.status,
        detections=tuple(entry.detections),
        findings=entry.findings,
    )


_EPOCH = datetime.min.replace(
    tzinfo=UTC
)  # the time key of an undated finding (its flag sorts it last)


def _incident(incident: Incident, findings: Sequence[FindingView]) -> IncidentView:
    by_id = {f.id: f for f in findings}
    members = [by_id[i] for i in incident.finding_ids if i in by_id]
    # The story's progression: each step's tactic as the steps tell it (time order), as the
    # incident's summary does; without steps, its findings' tactics in time order, then those of
    # its own techniques.
    own = [s.tactic for s in incident.steps if s.tactic]
    if not own:
        ordered = sorted(members, key=lambda f: (f.when is None, f.when or _EPOCH, f.id))
        own = [t for f in ordered for t in f.tactics]
        own += [t for ref in incident.attack for t in ref.tactics]
    return make_incident(
        id=incident.incident_id,
        title=incident.title,
        hosts=incident.hosts,
        score=incident.score,
        findings=members,
        tactics=own,
        severity=incident.severity,
        summary=incident.summary,
        users=incident.users,
        verdict=str(incident.verdict),
        reasons=[ReasonView(text=r.text, code=r.code) for r in incident.reasons],
        first_seen=utc(incident.first_seen),
        last_seen=utc(incident.last_seen),
    )


def make_incident(
    *,
    id: str,
    title: str,
    hosts: Sequence[str],
    score: float,
    findings: Iterable[FindingView],
    tactics: Sequence[str] = (),
    severity: str = "medium",
    summary: str = "",
    users: Sequence[str] = (),
    verdict: str = "suspicious",
    reasons: Sequence[ReasonView] = (),
    first_seen: datetime | None = None,
    last_seen: datetime | None = None,
) -> IncidentView:
    """An incident with its findings in time order (undated ones last) and its tactic
    progression: ``tactics`` when given (the incident's own story), else the tactics its
    findings reach in that order; the time span from the findings when not given."""
    ordered = sorted(
        findings,
        key=lambda f: (f.when is None, f.when or _EPOCH, f.id),
    )
    progression = dict.fromkeys(tactics or [t for f in ordered for t in f.tactics])
    starts = [f.when for f in ordered if f.when is not None]
    ends = [t for f in ordered if (t := f.last_seen or f.first_seen) is not None]
    return IncidentView(
        id=id,
        title=title,
        hosts=tuple(hosts),
        score=score,
        tactics=tuple(progression),
        findings=tuple(ordered),
        severity=severity,
        summary=summary,
        users=tuple(users),
        verdict=verdict,
        reasons=tuple(reasons),
        first_seen=first_seen or (min(starts) if starts else None),
        last_seen=last_seen or (max(ends) if ends else None),
    )
