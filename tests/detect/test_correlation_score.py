"""An incident's score on hand-built findings: planes that agree raise it, a value many machines
share lowers it, and every component is a reason with its numbers."""

from __future__ import annotations

from datetime import datetime

import pytest

from seawall.detect.correlation.members import members, tactics_of
from seawall.detect.correlation.score import score, severity_of
from seawall.detect.engine import load_detections
from seawall.detect.techniques import current_techniques
from seawall.entities.resolve import Identities
from seawall.model.finding import Evidence, Finding


def _finding(
    ident: str, detection: str, value: float, row: dict[str, str] | None = None
) -> Finding:
    techniques, attack = current_techniques(["T1071.004"] if "net" in detection else ["T1059.003"])
    return Finding(
        finding_id=ident,
        detection_id=detection,
        title=detection,
        summary=detection,
        severity="medium",
        score=value,
        techniques=techniques,
        attack=attack,
        host="ws1",
        first_seen=datetime(2024, 3, 1, 10),
        evidence=[Evidence(row=dict(row or {}))],
    )


def test_planes_that_agree_raise_the_score() -> None:
    found = members(
        [
            _finding("a", "evtx.encoded-powershell", 60),
            _finding("b", "evtx.admin-commands", 55),  # same plane: counts once
            _finding("c", "net.beacon", 50),
        ],
        Identities(),
        load_detections(),
    )
    assert [m.plane for m in found] == ["event", "event", "network"]
    scored = score(found, {}, known_hosts=10)
    # 60, then the network plane closes half of 50% of the 40 left: +10
    assert scored.score == 70.0
    codes = [(r.code, r.data.get("added")) for r in scored.reasons]
    assert codes == [("score.strongest", None), ("score.planes", 10.0)]
    assert severity_of(scored.score) == "high" and severity_of(39.9) == "low"


@pytest.mark.parametrize(("hosts", "expected"), [(1, 80.0), (10, 40.0), (4, pytest.approx(66.7))])
def test_a_value_many_machines_share_weighs_less(hosts: int, expected: object) -> None:
    found = members(
        [_finding("a", "net.beacon", 80, {"destination": "update.vendor.example"})],
        Identities(),
        load_detections(),
    )
    assert found[0].values == {("domain", "update.vendor.example")}
    scored = score(found, {("domain", "update.vendor.example"): hosts}, known_hosts=10)
    assert scored.score == expected
    lowered = [r for r in scored.reasons if r.code == "score.prevalence"]
    assert bool(lowered) == (hosts > 1)
    if lowered:
        assert lowered[0].data["hosts"] == hosts and lowered[0].data["known_hosts"] == 10


def test_the_primary_tactic_is_the_most_specific() -> None:
    techniques, attack = current_techniques(["T1078", "T1133", "T1021.001"])
    finding = _finding("a", "evtx.remote-auth-audit", 50).model_copy(
        update={"techniques": techniques, "attack": attack}
    )
    tactics, primary = tactics_of(finding)
    assert primary == "lateral-movement"  # its one tactic outweighs T1078's four
    assert tactics[0] == "initial-access" and tactics[-1] == "lateral-movement"
