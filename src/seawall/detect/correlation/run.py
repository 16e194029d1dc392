"""Run a hunt's correlation detections on its findings: incidents and coverage entries.

The findings are resolved once for every correlation (hosts and accounts through the entities,
values, movements), the prevalence of every value and account they carry is counted once, and
each correlation then groups, judges and scores on its own. A correlation's tunables are
parameters of its detection file (``hunt --param ID.NAME=VALUE`` overrides them):

- ``max_link_prevalence`` (0.5): an account or value shared by more than this share of the
  machines the case has seen (and by more than two) joins no findings;
- ``plane_weight`` and ``prevalence_weight`` (0.5 each): see :mod:`.score`;
- ``source_window_minutes`` (30): how far before a service install a logon or share mapping
  onto its host may be to count as its source (:mod:`.sources`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from seawall.case.store import CaseStore
from seawall.detect.correlation.group import Movement, components, judge, reads
from seawall.detect.correlation.members import Member, members
from seawall.detect.correlation.prevalence import account_prevalence, value_prevalence
from seawall.detect.correlation.score import (
    DEFAULT_PLANE_WEIGHT,
    DEFAULT_PREVALENCE_WEIGHT,
    score,
)
from seawall.detect.correlation.sources import infer_source
from seawall.detect.correlation.story import build_incident, unused, with_parts
from seawall.detect.schema import LoadedDetection
from seawall.entities.resolve import Identities, has_entities
from seawall.model.finding import SEVERITIES, CoverageEntry, Finding, Incident

DEFAULT_MAX_LINK_PREVALENCE = 0.5
DEFAULT_SOURCE_WINDOW_MINUTES = 30


def _number(values: Mapping[str, Any], name: str, default: float) -> float:
    value = values.get(name, default)
    return float(value) if isinstance(value, int | float) else default


def movements(
    store: CaseStore,
    identities: Identities,
    selected: Sequence[Member],
    window: timedelta,
) -> list[Movement]:
    """The lateral movements of the members, their ends identified (a missing source looked
    for in the links)."""
    found: list[Movement] = []
    for member in selected:
        if member.move is None:
            continue
        source_text = member.move.source
        reasons = []
        if source_text is None:
            source_text, why = infer_source(store, identities, member, window)
            if why is not None:
                reasons.append(why)
        source = identities.host(source_text, member.time) if source_text else None
        target = identities.host(member.move.target, member.time) if member.move.target else None
        if source is not None and target is not None and source.host == target.host:
            continue  # not a movement between hosts
        found.append(Movement(member, member.move.kind, source, target, reasons))
    return found


class _Linkable:
    """Whether an account or value may join findings (see ``max_link_prevalence``), keeping
    those that may not with their prevalence."""

    def __init__(
        self,
        accounts: Mapping[str, int],
        values: Mapping[tuple[str, str], int],
        known_hosts: int,
        share: float,
    ) -> None:
        self.accounts = accounts
        self.values: dict[str, int] = {}
        for (_, text), hosts in values.items():
            self.values[text] = max(hosts, self.values.get(text, 0))
        self.limit = max(2.0, share * known_hosts)
        self.refused: dict[str, int] = {}

    def __call__(self, kind: str, value: str) -> tuple[bool, int | None]:
        hosts = (self.accounts if kind == "account" else self.values).get(value)
        if hosts is not None and hosts > self.limit:
            self.refused[value] = hosts
            return False, hosts
        return True, hosts


def correlate(
    store: CaseStore,
    findings: Sequence[Finding],
    correlations: Sequence[LoadedDetection],
    detections: Mapping[str, LoadedDetection],
    parameters: Callable[[LoadedDetection], Mapping[str, Any]],
    others_ran: bool,
) -> tuple[list[Incident], list[CoverageEntry]]:
    """Incidents of every correlation, and its coverage entry. ``parameters`` gives a
    detection's effective parameters; ``others_ran`` whether any detection that makes findings
    ran in this hunt (a correlation alone has nothing to read)."""
    if not correlations:
        return [], []
    entries: list[CoverageEntry] = []
    incidents: list[Incident] = []
    if not others_ran:
        for loaded in correlations:
            entries.append(
                CoverageEntry(
                    detection_id=loaded.detection.id,
                    title=loaded.detection.title,
                    status="not-run",
                    reason="no detection that makes findings ran in this hunt: a correlation"
                    " reads the findings of the others (hunt without --detection, or name them)",
                )
            )
        return [], entries
    entities = has_entities(store)
    identities = Identities.load(store) if entities else Identities()
    open_findings = [f for f in findings if not f.dismissed]
    everyone = members(open_findings, identities, detections)
    prevalence = (
        value_prevalence(store, {v for m in everyone for v in m.values}) if entities else {}
    )
    accounts = (
        account_prevalence(
            store,
            identities,
            {m.account.key for m in everyone if m.account is not None and not m.account.local},
        )
        if entities
        else {}
    )
    known = identities.machines(store) if entities else 0
    missing = (
        []
        if entities
        else [
            "the case has no entity tables (a development build's case): hosts and accounts"
            " are taken as the findings name them, and no prevalence is known"
        ]
    )
    for loaded in correlations:
        detection = loaded.detection
        correlation = detection.correlation
        assert correlation is not None
        values = parameters(loaded)
        floor = SEVERITIES.index(correlation.min_severity)
        selected = [
            m
            for m in everyone
            if reads(correlation, m.finding.detection_id)
            and SEVERITIES.index(m.finding.severity) >= floor
        ]
        window = timedelta(
            minutes=_number(values, "source_window_minutes", DEFAULT_SOURCE_WINDOW_MINUTES)
        )
        moves = (
            movements(store, identities, selected, window)
            if "movement" in correlation.link_by
            else []
        )
        linkable = _Linkable(
            accounts,
            prevalence,
            known,
            _number(values, "max_link_prevalence", DEFAULT_MAX_LINK_PREVALENCE),
        )
        made: list[Incident] = []
        for component in components(correlation, selected, moves, linkable):
            holds, judged = judge(correlation, component)
            if not holds:
                continue
            scored = score(
                component.members,
                prevalence,
                known,
                plane_weight=_number(values, "plane_weight", DEFAULT_PLANE_WEIGHT),
                prevalence_weight=_number(values, "prevalence_weight", DEFAULT_PREVALENCE_WEIGHT),
            )
            carried = {v for m in component.members for _, v in m.values} | {
                m.account.key for m in component.members if m.account is not None
            }
            refused = {v: n for v, n in linkable.refused.items() if v in carried}
            made.append(
                build_incident(detection, component, scored, known, judged, unused(refused, known))
            )
        left_out = len(findings) - len(open_findings)
        below = sum(
            1
            for m in everyone
            if reads(correlation, m.finding.detection_id)
            and SEVERITIES.index(m.finding.severity) < floor
        )
        entries.append(
            CoverageEntry(
                detection_id=detection.id,
                title=detection.title,
                status="ran",
                incidents=len(made),
                notes=[
                    f"read {len(selected)} finding(s) of this hunt ({left_out} suppressed or"
                    f" dismissed and {below} below {correlation.min_severity} left out);"
                    f" {known} machines seen in the case (prevalence is out of them)",
                    *missing,
                ],
            )
        )
        incidents.extend(made)
    incidents.sort(key=lambda i: (-i.score, -len(i.finding_ids), i.incident_id))
    return with_parts(incidents), entries
