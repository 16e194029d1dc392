"""An incident from a group of findings: its story in time order, its ATT&CK stages in kill-chain
order, how its hosts were identified, what joined its parts, and its score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from seawall.detect.correlation.group import Component, Movement
from seawall.detect.correlation.members import Member, kill_chain, tactic_rank
from seawall.detect.correlation.score import Scored, severity_of
from seawall.detect.schema import Detection
from seawall.entities.resolve import HostIdentification
from seawall.model.finding import (
    AttackRef,
    EdgeKind,
    HostIdentity,
    Incident,
    IncidentEdge,
    IncidentScope,
    IncidentStage,
    IncidentStep,
    finding_id,
)
from seawall.model.reason import Reason, reason
from seawall.model.verdict import Verdict

_MOST = 3  # names listed in a title before "and N more"


def _naive(value: datetime | None) -> datetime | None:
    """Times in the document are naive UTC, as findings' are."""
    return None if value is None else value.replace(tzinfo=None)


def _listed(items: Sequence[str]) -> str:
    if len(items) <= _MOST:
        return ", ".join(items)
    return f"{', '.join(items[:_MOST])} and {len(items) - _MOST} more"


def _order(members: Sequence[Member]) -> list[Member]:
    """Time order (undated last); findings of the same moment in kill-chain order, so that the
    story reads initial access before the command and control it opened."""
    return sorted(
        members,
        key=lambda m: (
            m.time is None,
            m.time or datetime.max,
            tactic_rank(m.primary) if m.primary else 99,
            m.id,
        ),
    )


def incident_scope(detection: Detection, component: Component) -> IncidentScope:
    correlation = detection.correlation
    assert correlation is not None
    hosts = {m.host_key for m in component.members if m.host_key is not None}
    if correlation.link_by and len(hosts) > 1:
        return "cross-host"
    if correlation.group_by == ["host"]:
        return "host"
    if correlation.group_by == ["user"]:
        return "account"
    return "cross-host" if len(hosts) > 1 else "group"


def _steps(members: Sequence[Member]) -> list[IncidentStep]:
    return [
        IncidentStep(
            finding_id=m.id,
            detection_id=m.finding.detection_id,
            time=_naive(m.time),
            host=m.host_key if m.host_key is not None else m.finding.host,
            user=m.account.key if m.account is not None else m.finding.user,
            tactic=m.primary,
            plane=m.plane,
            summary=m.finding.summary,
        )
        for m in members
    ]


def _stages(members: Sequence[Member]) -> list[IncidentStage]:
    names = dict(kill_chain())
    stages: list[IncidentStage] = []
    tactics = sorted({t for m in members for t in m.tactics}, key=tactic_rank)
    for tactic in tactics:
        inside = [m for m in members if tactic in m.tactics]
        techniques = [ref.id for m in inside for ref in m.finding.attack if tactic in ref.tactics]
        times = [m.time for m in inside if m.time is not None]
        ends = [m.end or m.time for m in inside if (m.end or m.time) is not None]
        stages.append(
            IncidentStage(
                tactic=tactic,
                name=names.get(tactic, tactic),
                finding_ids=[m.id for m in inside],
                techniques=list(dict.fromkeys(techniques)),
                first_seen=_naive(min(times)) if times else None,
                last_seen=_naive(max(e for e in ends if e is not None)) if ends else None,
            )
        )
    return stages


def _identities(members: Sequence[Member], movements: Sequence[Movement]) -> list[HostIdentity]:
    found: dict[str, list[HostIdentification]] = {}
    for member in members:
        if member.host is not None and member.host.host is not None:
            found.setdefault(member.host.host, []).append(member.host)
    for move in movements:
        for end in (move.source, move.target):
            if end is not None and end.host is not None:
                found.setdefault(end.host, []).append(end)
    identities: list[HostIdentity] = []
    for host in sorted(found):
        idents = found[host]
        reasons: dict[str, Reason] = {}
        for ident in idents:
            for why in ident.reasons:
                reasons.setdefault(why.text, why)
        identities.append(
            HostIdentity(
                host=host,
                names=sorted({i.given for i in idents}),
                inferred=any(i.inferred for i in idents),
                reasons=list(reasons.values())[:6],
            )
        )
    return identities


def _end(ident: HostIdentification | None) -> str | None:
    if ident is None:
        return None
    return ident.host or ident.address or ident.given


def _edges(component: Component, known_hosts: int) -> list[IncidentEdge]:
    """One edge per movement kind, source and target (with every finding that shows it), then
    the accounts and values that joined groups."""
    moves: dict[tuple[EdgeKind, str | None, str | None], list[Movement]] = {}
    for move in sorted(
        component.movements,
        key=lambda m: (m.member.time is None, m.member.time or datetime.max, m.member.id),
    ):
        moves.setdefault((move.kind, _end(move.source), _end(move.target)), []).append(move)
    edges: list[IncidentEdge] = []
    for (kind, source, target), group in moves.items():
        reasons: dict[str, Reason] = {}
        for move in group:
            for why in move.reasons:
                reasons.setdefault(why.text, why)
            for end in (move.source, move.target):
                if end is not None and end.reasons:
                    reasons.setdefault(end.reasons[0].text, end.reasons[0])
        edges.append(
            IncidentEdge(
                kind=kind,
                source=source,
                target=target,
                finding_ids=[move.member.id for move in group],
                first_seen=_naive(group[0].member.time),
                inferred=any(move.inferred for move in group),
                reasons=list(reasons.values())[:6],
            )
        )
    for shared in component.shared:
        edges.append(
            IncidentEdge(
                kind=shared.kind,
                value=shared.value,
                finding_ids=list(shared.member_ids),
                prevalence=shared.prevalence,
                known_hosts=known_hosts,
            )
        )
    return edges


def progression(members: Sequence[Member]) -> list[tuple[str, datetime | None]]:
    """The primary tactics of the members in the order they first appear in time (each once,
    with the time it first appears): the story as a reader tells it."""
    first: dict[str, datetime | None] = {}
    for member in _order(members):
        if member.primary is not None and member.primary not in first:
            first[member.primary] = member.time
    return list(first.items())


def _summary(members: Sequence[Member], hosts: Sequence[str], planes: Sequence[str]) -> str:
    steps = [
        f"{tactic} ({time:%m-%d %H:%M}Z)" if time is not None else tactic
        for tactic, time in progression(members)
    ]
    times = [m.time for m in members if m.time is not None]
    when = ""
    if times:
        when = f" from {min(times):%Y-%m-%d %H:%M}Z to {max(times):%Y-%m-%d %H:%M}Z"
    where = f" on {_listed(list(hosts))}" if hosts else ""
    detections = len({m.finding.detection_id for m in members})
    story = " → ".join(steps) if steps else "no ATT&CK tactic"
    return (
        f"{len(members)} findings of {detections} detections{where}{when}"
        f" ({' + '.join(planes)}): {story}"
    )


def build_incident(
    detection: Detection,
    component: Component,
    scored: Scored,
    known_hosts: int,
    judged: str,
    notes: Sequence[Reason] = (),
) -> Incident:
    """The incident of one component (see the module docstring)."""
    members = _order(component.members)
    hosts = sorted({m.host_key for m in members if m.host_key is not None})
    users = sorted({m.account.key for m in members if m.account is not None})
    planes = sorted(
        {m.plane for m in members},
        key=lambda p: ("file", "event", "network", "identity", "host-telemetry", "other").index(p),
    )
    stages = _stages(members)
    attack: dict[str, AttackRef] = {}
    for member in members:
        for ref in member.finding.attack:
            attack.setdefault(ref.id, ref)
    techniques = list(dict.fromkeys(t for m in members for t in m.finding.techniques))
    times = [m.time for m in members if m.time is not None]
    ends = [e for m in members if (e := m.end or m.time) is not None]
    scope = incident_scope(detection, component)
    if scope == "account" and users:
        label = _listed(users)
    else:
        label = _listed(hosts) if hosts else _listed(users) if users else "no host"
    account_reasons: dict[str, Reason] = {}
    for member in members:
        if member.account is not None:
            for why in member.account.reasons:
                account_reasons.setdefault(why.text, why)
    reasons = [
        reason(
            "correlation.condition",
            f"{detection.id}: {judged}",
            detection_id=detection.id,
            type=detection.correlation.type if detection.correlation else None,
        ),
        *scored.reasons,
        *notes,
        *list(account_reasons.values())[:6],
    ]
    verdict = (
        Verdict.MALICIOUS
        if any(m.finding.verdict == Verdict.MALICIOUS for m in members)
        else Verdict.SUSPICIOUS
    )
    first_id = members[0].id if members else ""
    return Incident(
        incident_id=finding_id(detection.id, scope, [str(k) for k in component.keys], first_id),
        detection_id=detection.id,
        scope=scope,
        title=f"{detection.title}: {label}",
        summary=_summary(members, hosts, planes),
        severity=severity_of(scored.score),
        score=scored.score,
        finding_ids=[m.id for m in members],
        hosts=hosts,
        users=users,
        first_seen=_naive(min(times)) if times else None,
        last_seen=_naive(max(ends)) if ends else None,
        techniques=techniques,
        attack=list(attack.values()),
        tactics=[stage.tactic for stage in stages],
        planes=planes,
        verdict=verdict,
        reasons=reasons,
        steps=_steps(members),
        stages=stages,
        identities=_identities(members, component.movements),
        edges=_edges(component, known_hosts),
    )


def with_parts(incidents: Sequence[Incident]) -> list[Incident]:
    """Each incident with the ids of the narrower incidents whose findings it contains."""
    sets = {i.incident_id: set(i.finding_ids) for i in incidents}
    result: list[Incident] = []
    for incident in incidents:
        mine = sets[incident.incident_id]
        parts = [
            other
            for other, theirs in sets.items()
            if other != incident.incident_id and theirs < mine
        ]
        result.append(incident.model_copy(update={"parts": sorted(parts)}))
    return result


def unused(values: Mapping[str, int], known_hosts: int, limit: int = 3) -> list[Reason]:
    """Reasons for the accounts and values that were too common to join findings."""
    ordered = sorted(values.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [
        reason(
            "correlation.not-linked",
            f"{value} was not used to join findings: {hosts} of the {known_hosts} machines of the"
            " case share it",
            value=value,
            hosts=hosts,
            known_hosts=known_hosts,
        )
        for value, hosts in ordered
    ]
