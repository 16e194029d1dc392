"""An incident's score: its strongest finding, raised when independent evidence planes agree,
lowered where it rests on values many hosts share. Every component is a reason (code
``score.*``) with the numbers it was made from.

1. **Prevalence** (``score.prevalence``): each finding's score is multiplied by
   ``1 - prevalence_weight × (k - 1) / (n - 1)``, where ``k`` is the number of hosts that share
   the most common value the finding rests on (an indicator, hash, address or domain:
   :mod:`seawall.detect.correlation.prevalence`) and ``n`` the machines the case has seen
   (:meth:`seawall.entities.resolve.Identities.machines`). A value on
   one host leaves the score as it is; a value on every host takes ``prevalence_weight`` of it
   away (half, by default): every host querying an update server is no story.
2. **Strongest** (``score.strongest``): the incident starts at its strongest finding so
   weighed.
3. **Planes** (``score.planes``): each other evidence plane (file, event, network, identity,
   host telemetry) with a finding closes ``plane_weight`` × (that plane's strongest finding /
   100) of the distance left to 100. A web shell found on disk, its commands in the event log
   and its traffic on the wire are three witnesses; three findings from one event log may be
   one fact seen three times, so a plane counts once.

The result is in 0..100 and its severity follows the findings' scale: 90 critical, 70 high,
40 medium, 20 low, below that info.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from seawall.detect.correlation.members import Member
from seawall.model.finding import Severity
from seawall.model.reason import Reason, reason

Value = tuple[str, str]

DEFAULT_PLANE_WEIGHT = 0.5
DEFAULT_PREVALENCE_WEIGHT = 0.5
_SEVERITY_FLOORS: tuple[tuple[float, Severity], ...] = (
    (90.0, "critical"),
    (70.0, "high"),
    (40.0, "medium"),
    (20.0, "low"),
)


def severity_of(score: float) -> Severity:
    for floor, severity in _SEVERITY_FLOORS:
        if score >= floor:
            return severity
    return "info"


@dataclass(frozen=True, slots=True)
class Scored:
    score: float
    reasons: list[Reason]


def _weighed(
    member: Member,
    prevalence: Mapping[Value, int],
    known_hosts: int,
    weight: float,
) -> tuple[float, Value | None, int | None, float]:
    """The member's score after prevalence, the value that lowered it, its hosts, the factor."""
    worst: tuple[Value, int] | None = None
    for value in sorted(member.values):
        hosts = prevalence.get(value)
        if hosts is not None and (worst is None or hosts > worst[1]):
            worst = (value, hosts)
    if worst is None or known_hosts <= 1 or worst[1] <= 1:
        return member.finding.score, None, None, 1.0
    share = min(1.0, (worst[1] - 1) / (known_hosts - 1))
    factor = 1.0 - weight * share
    return member.finding.score * factor, worst[0], worst[1], factor


def score(
    members: Sequence[Member],
    prevalence: Mapping[Value, int],
    known_hosts: int,
    *,
    plane_weight: float = DEFAULT_PLANE_WEIGHT,
    prevalence_weight: float = DEFAULT_PREVALENCE_WEIGHT,
) -> Scored:
    """The incident's score and the reasons for each of its components."""
    reasons: list[Reason] = []
    best_by_plane: dict[str, tuple[float, Member]] = {}
    lowered: dict[Value, tuple[int, list[str], float]] = {}
    for member in members:
        weighed, value, hosts, factor = _weighed(member, prevalence, known_hosts, prevalence_weight)
        if value is not None and hosts is not None:
            _, ids, _ = lowered.setdefault(value, (hosts, [], factor))
            ids.append(member.id)
        current = best_by_plane.get(member.plane)
        if current is None or (weighed, member.id) > (current[0], current[1].id):
            best_by_plane[member.plane] = (weighed, member)
    for (kind, text), (hosts, ids, factor) in sorted(
        lowered.items(), key=lambda item: (-item[1][0], item[0])
    )[:5]:
        reasons.append(
            reason(
                "score.prevalence",
                f"{text} is shared by {hosts} of the {known_hosts} machines of the case:"
                f" {len(ids)} finding(s) resting on it weigh ×{factor:.2f}",
                value=text,
                kind=kind,
                hosts=hosts,
                known_hosts=known_hosts,
                factor=round(factor, 3),
                finding_ids=ids,
            )
        )
    ranked = sorted(best_by_plane.items(), key=lambda item: (-item[1][0], item[0]))
    if not ranked:
        return Scored(0.0, reasons)
    plane, (total, strongest) = ranked[0]
    reasons.insert(
        0,
        reason(
            "score.strongest",
            f"strongest finding: {strongest.finding.detection_id} ({plane} plane), score"
            f" {total:.1f}",
            finding_id=strongest.id,
            detection_id=strongest.finding.detection_id,
            plane=plane,
            score=round(total, 1),
        ),
    )
    for other, (value_score, member) in ranked[1:]:
        added = (100.0 - total) * plane_weight * value_score / 100.0
        total += added
        reasons.append(
            reason(
                "score.planes",
                f"the {other} plane agrees ({member.finding.detection_id}, score"
                f" {value_score:.1f}): +{added:.1f}",
                plane=other,
                finding_id=member.id,
                detection_id=member.finding.detection_id,
                finding_score=round(value_score, 1),
                added=round(added, 1),
                weight=plane_weight,
            )
        )
    return Scored(round(min(100.0, max(0.0, total)), 1), reasons)
