"""The ATT&CK ids a finding carries, checked against every shipped ATT&CK version.

A detection names current ids, but an indicator's sources may name ids that ATT&CK has revoked
since (T1086 → T1059.001). A finding must carry ids that are valid today and say what they were
in the advisory's version, so each id is looked up in every shipped version once per process,
with its name and tactics (a Navigator layer and the HTML matrix place a technique by tactic).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from seawall.intel.attack import (
    CURRENT_VERSION,
    AttackKB,
    status_across_versions,
    technique_across_versions,
)
from seawall.model.finding import AttackRef


@cache
def attack_ref(technique_id: str) -> AttackRef:
    """The id's status in each shipped version, its name, and its replacement if revoked."""
    known = technique_across_versions(technique_id)
    current = known[CURRENT_VERSION]
    names = [t.name for t in (current, *reversed(known.values())) if t is not None]
    replaced_by = None
    if current is not None and current.revoked:
        resolution = AttackKB.load(CURRENT_VERSION).resolve(technique_id)
        if resolution.followed_from is not None:
            replaced_by = resolution.technique.id
    by_version = {version: list(t.tactics) for version, t in known.items() if t is not None}
    latest = [tactics for tactics in reversed(by_version.values()) if tactics]
    return AttackRef(
        id=current.id if current is not None else technique_id.strip().upper(),
        name=names[0] if names else None,
        tactics=latest[0] if latest else [],
        versions=dict(status_across_versions(technique_id)),
        tactics_by_version=by_version,
        replaced_by=replaced_by,
    )


def current_techniques(ids: Iterable[str]) -> tuple[list[str], list[AttackRef]]:
    """The ids with each revoked one followed by its replacement, and a reference per id."""
    refs = [attack_ref(technique_id) for technique_id in dict.fromkeys(ids)]
    techniques: dict[str, None] = {}
    for ref in refs:
        techniques[ref.id] = None
        if ref.replaced_by:
            techniques[ref.replaced_by] = None
    return list(techniques), refs
