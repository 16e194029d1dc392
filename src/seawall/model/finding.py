"""The result document: every finding of a hunt, and what the hunt could and could not look at.

Renderers (text, JSON, CSV, HTML, Navigator, STIX) read only this document, so it carries
everything an analyst needs to trust a result without the case or the detection files: per
finding the detection's description, false positives and triage note; the evidence rows with
their provenance (an aggregated finding keeps every record it was made from, in
``Evidence.records``); the indicators matched, with every source that reported them; the reasons
it matched and how it was judged (:class:`~seawall.model.reason.Reason`: code, text, data); one
:class:`~seawall.model.verdict.Verdict`; its ATT&CK techniques and tactics with their status in
every shipped ATT&CK version (the pack's and the current one among them); how it was suppressed,
and the analyst's review. A coverage entry exists for every detection and ATT&CK technique —
including the ones that did *not* run and why (the design's "never silently zero"). Models are
frozen and refuse unknown fields, so a renderer cannot depend on something a producer forgot to
set.

``format`` is the document's schema version (:data:`FORMAT`); the schema is published as JSON
Schema in ``schemas/result-document.v2.json`` (``tools/write_result_schema.py`` rewrites it, a
test fails when it and the models differ). Each hunt stores its whole document in the case
(``results`` table), so ``seawall report`` and ``seawall findings --run`` read a past run without
hunting again; triage state (suppressions recorded by ``triage apply``, analyst reviews) lives
in its own tables and is joined into every document read back (:mod:`seawall.triage.state`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from seawall.intel.attack_versions import CURRENT_VERSION
from seawall.model.reason import Reason
from seawall.model.verdict import DISMISSING_REVIEWS, Review, Verdict

FORMAT: Final = 2

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
    """One evidence row (its columns as JSON values), its provenance and the indicator it hit.

    ``records`` are the provenance of every input record the row stands for, when it stands for
    more than one (an aggregate: a burst of 12 commands is one row, 12 records), so a finding
    can be walked back to all of its input even when only some records are shown as rows.
    """

    row: dict[str, JsonValue]
    provenance: Provenance = Provenance()
    records: list[Provenance] = Field(default_factory=list)
    indicator: IndicatorRef | None = None


VersionStatus = Literal["active", "revoked", "deprecated", "absent"]


class AttackRef(_Frozen):
    """A technique a finding carries, as every shipped ATT&CK version knows it.

    Advisories cite the ATT&CK of their day (AA21-200A: v9) and intel may carry ids revoked
    since; ``versions`` gives the id's status in each shipped version (the pack's and the
    current one among them), ``replaced_by`` the id that replaced a revoked one today (the
    finding's ``techniques`` then list both). ``tactics`` are the tactic short names
    (``defense-evasion``) in the current version, or in the latest version that has the id;
    ``tactics_by_version`` gives them in every version that has it.
    """

    id: str
    name: str | None = None
    tactics: list[str] = Field(default_factory=list)
    versions: dict[str, VersionStatus] = Field(default_factory=dict)
    tactics_by_version: dict[str, list[str]] = Field(default_factory=dict)
    replaced_by: str | None = None


SuppressionKind = Literal["judgement", "allowlist", "triage"]


class Suppression(_Frozen):
    """Why a finding is kept but not shown for review.

    ``judgement``: the detection explained it away itself (a legitimate tool in its standard
    folder); ``allowlist``: an entry of a ``hunt --allowlist`` file matched at hunt time;
    ``triage``: an entry of a file given to ``seawall triage apply`` matched the stored finding
    afterwards (``applied`` says when). ``entry`` is the allowlist entry as ``file:line``;
    ``expires`` the entry's ``until`` (after it, the suppression no longer applies).
    """

    kind: SuppressionKind
    reason: str
    entry: str | None = None
    applied: datetime | None = None
    expires: datetime | None = None


class AnalystReview(_Frozen):
    """An analyst's judgement of a finding (``seawall triage mark``): who, when and why."""

    verdict: Review
    reason: str
    analyst: str
    at: datetime


class Finding(_Frozen):
    """One thing a detection matched, explained and judged.

    ``finding_id`` is stable (a hash of the detection and the evidence keys), so a re-hunt gives
    the same id and triage given before it still applies.
    """

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
    verdict: Verdict = Verdict.SUSPICIOUS
    suppressed: bool = False
    suppression: Suppression | None = None
    review: AnalystReview | None = None
    reasons: list[Reason] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    attack: list[AttackRef] = Field(default_factory=list)
    description: str | None = None
    false_positives: list[str] = Field(default_factory=list)
    triage: str | None = None
    """The detection's triage note: what to check next."""

    @model_validator(mode="after")
    def _suppression_says_why(self) -> Self:
        if self.suppressed != (self.suppression is not None):
            raise ValueError("a suppressed finding names its suppression, and only it does")
        return self

    @property
    def dismissed(self) -> bool:
        """Suppressed, or reviewed as a false positive or benign: nothing left to review."""
        return self.suppressed or (
            self.review is not None and self.review.verdict in DISMISSING_REVIEWS
        )


class CoverageEntry(_Frozen):
    """Whether one detection ran; when it did not, ``reason`` says why and what to do."""

    detection_id: str
    title: str | None = None
    techniques: list[str] = Field(default_factory=list)
    status: CoverageStatus
    reason: str | None = None
    findings: int = 0
    suppressed: int = 0
    incidents: int = 0
    """Incidents a correlation detection made (its ``findings`` are 0: it makes none)."""
    notes: list[str] = Field(default_factory=list)


class TechniqueCoverage(_Frozen):
    """One ATT&CK technique: the detections that look for it and whether any of them ran."""

    technique: str
    status: CoverageStatus
    detections: list[str]
    findings: int = 0


IncidentScope = Literal["host", "account", "cross-host", "group"]
Plane = Literal["file", "event", "network", "identity", "host-telemetry", "other"]


class IncidentStep(_Frozen):
    """One finding in an incident's story, in time order: where, as whom, which tactic
    (the finding's primary tactic: the one its techniques most specifically point at) and which
    evidence plane."""

    finding_id: str
    detection_id: str
    time: datetime | None = None
    host: str | None = None
    """The finding's host as the incident identifies it (see ``identities``)."""
    user: str | None = None
    tactic: str | None = None
    plane: Plane = "other"
    summary: str


class IncidentStage(_Frozen):
    """One ATT&CK tactic the incident reached, with its findings; stages come in the kill-chain
    order of the shipped ATT&CK extract (a finding is in every tactic of its techniques)."""

    tactic: str
    name: str
    finding_ids: list[str]
    techniques: list[str] = Field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None


class HostIdentity(_Frozen):
    """How the names findings gave were taken to be one host: ``names`` as the findings wrote
    them; ``inferred`` when a name or address was resolved through the case's entities (the
    ``reasons`` cite the DNS answer, logon or log that said so), not given as such."""

    host: str
    names: list[str]
    inferred: bool = False
    reasons: list[Reason] = Field(default_factory=list)


EdgeKind = Literal[
    "admin-share", "remote-logon", "service-install", "remote-service", "account", "value"
]


class IncidentEdge(_Frozen):
    """Why two parts of an incident belong together: a lateral movement (``source`` →
    ``target``, from the findings that show it), or an account or a value (an address, a
    domain, a hash, an indicator) the findings share. ``prevalence`` is how many of the
    ``known_hosts`` machines the case has seen share the value or account (a value on every host
    says little);
    ``inferred`` when an end was found through the entities (the reasons say how)."""

    kind: EdgeKind
    source: str | None = None
    target: str | None = None
    value: str | None = None
    finding_ids: list[str]
    first_seen: datetime | None = None
    prevalence: int | None = None
    known_hosts: int | None = None
    inferred: bool = False
    reasons: list[Reason] = Field(default_factory=list)


class Incident(_Frozen):
    """Findings that belong together, made by a correlation detection
    (:mod:`seawall.detect.correlation`): one host's story, one account's, or a story across
    hosts joined by lateral movement, shared accounts and shared values.

    ``finding_ids`` are the findings it groups (none is suppressed or dismissed by an analyst);
    ``steps`` tell them in time order, ``stages`` by ATT&CK tactic in kill-chain order, and
    ``tactics`` is that progression (the tactic short names, kill-chain order). ``hosts`` are
    canonical host names (lower case, the FQDN when known) and ``identities`` say how each was
    identified from the names findings gave; ``edges`` why the parts belong together;
    ``planes`` the evidence planes that agree. ``score`` combines the findings' scores, the
    agreement of planes and the prevalence of the values it rests on; every component is a
    reason of code ``score.*`` with its data. ``parts`` are the ids of the narrower incidents
    (one host's story…) whose findings this one contains.
    """

    incident_id: str
    detection_id: str | None = None
    scope: IncidentScope = "group"
    """What it tells the story of: one ``host``, one ``account``, several hosts
    (``cross-host``), or another grouping (``group``)."""
    title: str
    summary: str
    severity: Severity
    score: float = Field(ge=0, le=100)
    finding_ids: list[str]
    hosts: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    techniques: list[str] = Field(default_factory=list)
    attack: list[AttackRef] = Field(default_factory=list)
    tactics: list[str] = Field(default_factory=list)
    planes: list[Plane] = Field(default_factory=list)
    verdict: Verdict = Verdict.SUSPICIOUS
    reasons: list[Reason] = Field(default_factory=list)
    steps: list[IncidentStep] = Field(default_factory=list)
    stages: list[IncidentStage] = Field(default_factory=list)
    identities: list[HostIdentity] = Field(default_factory=list)
    edges: list[IncidentEdge] = Field(default_factory=list)
    parts: list[str] = Field(default_factory=list)


def identified_hosts(incidents: Iterable[Incident]) -> dict[str, str]:
    """Each host name findings gave (``10.10.0.3``, ``WEB01``) that the incidents identified as
    one host of the case; a name two incidents took for different hosts stays as given."""
    seen: dict[str, set[str]] = {}
    for incident in incidents:
        for identity in incident.identities:
            for name in identity.names:
                seen.setdefault(name, set()).add(identity.host)
    return {name: next(iter(hosts)) for name, hosts in seen.items() if len(hosts) == 1}


class ResultDocument(_Frozen):
    """Everything one hunt produced; the only input of every renderer.

    ``attack_version`` is the ATT&CK version technique ids are current in;
    ``pack_attack_version`` the version the advisory pack was written against, when a pack was
    hunted (each finding's :class:`AttackRef` gives the status in both).
    """

    format: Literal[2] = FORMAT
    run_id: str
    seawall_version: str
    case: str
    pack: str | None = None
    attack_version: str = CURRENT_VERSION
    pack_attack_version: str | None = None
    started: datetime
    finished: datetime
    findings: list[Finding] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)
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
        """Findings no judgement, allowlist or triage entry suppressed."""
        return [finding for finding in self.findings if not finding.suppressed]

    @property
    def to_review(self) -> list[Finding]:
        """Findings an analyst still has to look at or has confirmed (these make ``seawall
        hunt`` exit 1): neither suppressed nor reviewed as a false positive or benign."""
        return [finding for finding in self.findings if not finding.dismissed]


SCHEMA_ID = f"urn:seawall:result-document:v{FORMAT}"


def result_schema() -> dict[str, Any]:
    """The JSON Schema of the result document as seawall writes it (``schemas/`` holds it)."""
    schema = ResultDocument.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def result_schema_text() -> str:
    """:func:`result_schema` as published (sorted keys, two-space indent, final newline)."""
    return json.dumps(result_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


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
