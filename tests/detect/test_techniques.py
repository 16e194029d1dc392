"""Findings carry ATT&CK ids valid today, with their status in every shipped version."""

from __future__ import annotations

from pathlib import Path

from seawall.case.store import CaseStore
from seawall.detect.engine import HuntRequest, hunt
from seawall.detect.techniques import current_techniques
from tests.detect.helpers import place, putty, sweep


def test_a_revoked_id_brings_its_replacement() -> None:
    techniques, refs = current_techniques(["T1086", "T1036.005", "T1086"])
    assert techniques == ["T1086", "T1059.001", "T1036.005"]
    revoked, masquerading = refs
    assert revoked.replaced_by == "T1059.001" and revoked.versions["18.1"] == "revoked"
    assert masquerading.name == "Match Legitimate Resource Name or Location"  # as of v18
    assert masquerading.versions == {"9.0": "active", "10.1": "active", "18.1": "active"}


def test_findings_carry_attack_references(tmp_path: Path, case_dir: Path) -> None:
    place(tmp_path / "c", "Users/Public/Music/putty.exe", putty())
    sweep(case_dir, tmp_path / "c")
    with CaseStore.open(case_dir) as store:
        (finding,) = hunt(store, HuntRequest(detection_ids=("host.legit-tool-location",))).findings
    (ref,) = finding.attack
    assert ref.id == "T1036.005" and ref.versions["9.0"] == "active" and ref.replaced_by is None
