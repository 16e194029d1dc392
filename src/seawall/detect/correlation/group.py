"""Grouping: which findings a correlation puts together, and whether a group is an incident.

Findings with equal ``group_by`` keys are chained in time order (each within ``timespan`` of the
previous one); ``link_by`` then joins chains through lateral movements, shared accounts and
shared values (union-find: a finding joined to two chains joins them). A finding without a time
is within any timespan. Each resulting set is judged by the correlation's type and condition
(:mod:`seawall.detect.correlation.schema`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Literal

from seawall.detect.correlation.members import Member
from seawall.detect.correlation.schema import Correlation
from seawall.entities.resolve import HostIdentification
from seawall.model.finding import EdgeKind
from seawall.model.reason import Reason


@dataclass(slots=True)
class Movement:
    """A member's lateral movement with its ends identified (an end is a host of the case, or
    an address that is not one: ``external``)."""

    member: Member
    kind: EdgeKind
    source: HostIdentification | None
    target: HostIdentification | None
    reasons: list[Reason] = field(default_factory=list)

    @property
    def inferred(self) -> bool:
        ends = (self.source, self.target)
        return bool(self.reasons) or any(e is not None and e.inferred for e in ends)


@dataclass(frozen=True, slots=True)
class Shared:
    """Findings joined by an account or a value they share."""

    kind: Literal["account", "value"]
    value: str
    member_ids: tuple[str, ...]
    prevalence: int | None


@dataclass(slots=True)
class Component:
    """One set of findings a correlation put together, with what joined them."""

    members: list[Member]
    movements: list[Movement] = field(default_factory=list)
    shared: list[Shared] = field(default_factory=list)
    keys: list[tuple[str | None, ...]] = field(default_factory=list)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        self.parent.setdefault(item, item)
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def reads(correlation: Correlation, detection_id: str) -> bool:
    """Whether the correlation reads findings of ``detection_id``."""
    return any(fnmatchcase(detection_id, pattern) for pattern in correlation.rules)


def group_key(correlation: Correlation, member: Member) -> tuple[str | None, ...] | None:
    """The member's group, or None when one of its keys is unknown."""
    key: list[str | None] = []
    for name in correlation.group_by:
        if name == "host":
            value = member.host_key
        elif name == "user":  # a machine's own account (SYSTEM, an app pool) is its host's
            account = member.account
            value = None if account is None or account.local else account.key
        else:
            value = member.finding.detection_id
        if value is None:
            return None
        key.append(value)
    return tuple(key)


def _within(a: Member, b: Member, window: timedelta) -> bool:
    """Whether the later member starts within ``window`` of the earlier one's end."""
    if a.time is None or b.time is None:
        return True
    first, later = (a, b) if a.time <= b.time else (b, a)
    assert later.time is not None
    return later.time - (first.end or first.time or later.time) <= window


def _chain(
    members: Sequence[Member], window: timedelta, join: Callable[[Member, Member], None]
) -> None:
    """Join members in time order while each starts within ``window`` of the end of those
    before it; a member without a time joins the first chain."""
    timed = sorted((m for m in members if m.time is not None), key=lambda m: (m.time, m.id))
    untimed = [m for m in members if m.time is None]
    previous: Member | None = None
    reach: datetime | None = None
    for member in timed:
        assert member.time is not None
        end = member.end or member.time
        if previous is not None and reach is not None and member.time - reach <= window:
            join(previous, member)
            reach = max(reach, end)
        else:
            reach = end
        previous = member
    anchor = timed[0] if timed else (untimed[0] if untimed else None)
    for member in untimed:
        if anchor is not None and member is not anchor:
            join(anchor, member)


def _nearest(candidates: Iterable[Member], member: Member, window: timedelta) -> Member | None:
    best: tuple[timedelta, str, Member] | None = None
    for other in candidates:
        if other.id == member.id or not _within(other, member, window):
            continue
        gap = (
            abs(other.time - member.time)
            if other.time is not None and member.time is not None
            else timedelta(0)
        )
        if best is None or (gap, other.id) < best[:2]:
            best = (gap, other.id, other)
    return None if best is None else best[2]


def _shared_join(
    join: Callable[[Member, Member], None],
    keys: dict[str, tuple[str | None, ...]],
    pairs: list[str],
) -> Callable[[Member, Member], None]:
    """A join that also notes the pair when it joins two groups (an edge of the incident)."""

    def joined(a: Member, b: Member) -> None:
        join(a, b)
        if keys.get(a.id) is None or keys.get(a.id) != keys.get(b.id):
            pairs.extend((a.id, b.id))

    return joined


def components(
    correlation: Correlation,
    members: Sequence[Member],
    movements: Sequence[Movement],
    linkable: Callable[[str, str], tuple[bool, int | None]],
) -> list[Component]:
    """The sets of members the correlation puts together (before its condition is judged).

    ``linkable(kind, value)`` says whether an account (``kind`` ``account``) or value may join
    findings, and its prevalence.
    """
    window = correlation.window
    found = _UnionFind()
    active: set[str] = set()
    by_id = {m.id: m for m in members}

    def join(a: Member, b: Member) -> None:
        active.update((a.id, b.id))
        found.union(a.id, b.id)

    keys: dict[str, tuple[str | None, ...]] = {}
    grouped: dict[tuple[str | None, ...], list[Member]] = defaultdict(list)
    for member in members:
        key = group_key(correlation, member)
        if key is not None:
            grouped[key].append(member)
            keys[member.id] = key
            active.add(member.id)
            found.find(member.id)
    for group in grouped.values():
        _chain(group, window, join)
    used_moves: list[Movement] = []
    if "movement" in correlation.link_by:
        by_host: dict[str, list[Member]] = defaultdict(list)
        for member in members:
            if member.host_key is not None:
                by_host[member.host_key].append(member)
        for move in movements:
            if move.member.id not in by_id:
                continue
            active.add(move.member.id)
            found.find(move.member.id)
            used_moves.append(move)
            for end in (move.source, move.target):
                if end is None or end.host is None:
                    continue
                near = _nearest(by_host.get(end.host, []), move.member, window)
                if near is not None:
                    join(move.member, near)
    shared: list[Shared] = []
    shared_kinds: tuple[Literal["account", "value"], ...] = ("account", "value")
    for kind in shared_kinds:
        if kind not in correlation.link_by:
            continue
        by_value: dict[str, list[Member]] = defaultdict(list)
        for member in members:
            if kind == "account":
                if member.account is not None and not member.account.local:
                    by_value[member.account.key].append(member)
            else:
                for _, value in member.values:
                    by_value[value].append(member)
        for value, group in sorted(by_value.items()):
            if len(group) < 2:
                continue
            allowed, prevalence = linkable(kind, value)
            if not allowed:
                continue
            pairs: list[str] = []
            _chain(group, window, _shared_join(join, keys, pairs))
            ids = tuple(dict.fromkeys(pairs))
            if ids and ids not in {s.member_ids for s in shared}:
                shared.append(Shared(kind, value, ids, prevalence))
    sets: dict[str, list[Member]] = defaultdict(list)
    for member in members:
        if member.id in active:
            sets[found.find(member.id)].append(member)
    made: list[Component] = []
    for root in sorted(sets):
        inside = {m.id for m in sets[root]}
        made.append(
            Component(
                members=sets[root],
                movements=[m for m in used_moves if m.member.id in inside],
                shared=[s for s in shared if inside.intersection(s.member_ids)],
                keys=sorted({keys[i] for i in inside if i in keys}, key=str),
            )
        )
    return made


def counted(field_name: str, members: Iterable[Member]) -> set[str]:
    """The distinct values of a condition's ``field`` among members."""
    values: set[str] = set()
    for member in members:
        if field_name == "detection":
            values.add(member.finding.detection_id)
        elif field_name == "host" and member.host_key is not None:
            values.add(member.host_key)
        elif field_name == "user" and member.account is not None:
            values.add(member.account.key)
        elif field_name == "tactic":
            values.update(member.tactics)
        elif field_name == "plane":
            values.add(member.plane)
        elif field_name == "technique":
            values.update(member.finding.techniques)
    return values


def _ordered(patterns: Sequence[str], members: Sequence[Member]) -> bool:
    """Whether findings of the patterns occur in that order (a finding without a time fits
    anywhere)."""
    after: datetime | None = None
    for pattern in patterns:
        times = [
            m.time
            for m in members
            if fnmatchcase(m.finding.detection_id, pattern)
            and (m.time is None or after is None or m.time >= after)
        ]
        if not times:
            return False
        dated = [t for t in times if t is not None]
        after = min(dated) if dated else after
    return True


def judge(correlation: Correlation, component: Component) -> tuple[bool, str]:
    """Whether the component is an incident, and the sentence that says why."""
    members = component.members
    kind = correlation.type
    if kind == "event_count":
        assert correlation.condition is not None
        count = len(members)
        return correlation.condition.holds(count), (
            f"{count} findings ({correlation.condition.text()} asked)"
        )
    if kind == "value_count":
        condition = correlation.condition
        assert condition is not None and condition.field is not None
        values = counted(condition.field, members)
        return condition.holds(len(values)), (
            f"{len(values)} distinct {condition.field} values ({condition.text()} asked):"
            f" {', '.join(sorted(values)[:8])}"
        )
    present = [p for p in correlation.rules if any(reads_one(p, m) for m in members)]
    if kind == "temporal":
        return len(present) == len(correlation.rules), (
            f"findings of {', '.join(present)} within {correlation.timespan} of each other"
        )
    return _ordered(correlation.rules, members), (
        f"findings of {' then '.join(correlation.rules)} in that order"
    )


def reads_one(pattern: str, member: Member) -> bool:
    return fnmatchcase(member.finding.detection_id, pattern)
