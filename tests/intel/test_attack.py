"""The offline ATT&CK knowledge base, tested on the extract that ships in the package."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from seawall.errors import UsageError
from seawall.intel.attack import (
    CURRENT_VERSION,
    SUPPORTED_VERSIONS,
    AttackKB,
    Group,
    Technique,
    as_dict,
    is_valid_technique_id,
    status_across_versions,
    technique_across_versions,
)
from tests.conftest import shared

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = resources.files("seawall.data").joinpath("attack")
EXTRACTS = [f"enterprise-attack-{v}.json.gz" for v in SUPPORTED_VERSIONS]


@pytest.fixture(params=SUPPORTED_VERSIONS)
def kb(request: pytest.FixtureRequest) -> AttackKB:
    return AttackKB.load(str(request.param))


def test_every_shipped_version_loads_once() -> None:
    assert CURRENT_VERSION in SUPPORTED_VERSIONS
    for version in SUPPORTED_VERSIONS:
        loaded = AttackKB.load(version)
        assert loaded.version == version
        assert AttackKB.load(version) is loaded  # cached: loading again costs nothing
    assert AttackKB.load().version == CURRENT_VERSION
    assert AttackKB.load("v9.0").version == "9.0"


def test_unknown_version_names_the_supported_ones() -> None:
    with pytest.raises(UsageError) as caught:
        AttackKB.load("8.2")
    assert all(version in str(caught.value) for version in SUPPORTED_VERSIONS)


@pytest.mark.parametrize("version", ["9.0", "10.1", "18.1"])
def test_web_shell_is_persistence(version: str) -> None:
    web_shell = AttackKB.load(version).technique("T1505.003")
    assert web_shell.name == "Web Shell"
    assert web_shell.tactics == ("persistence",)
    assert web_shell.is_subtechnique and web_shell.parent == "T1505"
    assert web_shell.status == "active"
    assert web_shell.url == "https://attack.mitre.org/techniques/T1505/003"
    assert "Windows" in web_shell.platforms
    assert web_shell.data_sources


def test_data_sources_follow_each_versions_model() -> None:
    """v9/v10 list 'Source: Component' strings; v18 derives components from detection strategies."""
    assert "File: File Creation" in AttackKB.load("9.0").technique("T1505.003").data_sources
    current = AttackKB.load("18.1").technique("T1505.003")
    assert "File Creation" in current.data_sources
    assert [s.id for s in current.detection_strategies] == ["DET0394"]
    assert current.detection == ""  # v18 moved detection text into strategies and analytics


def test_ids_match_case_insensitively_and_unknown_ids_fail() -> None:
    kb = AttackKB.load()
    assert kb.technique(" t1505.003 ").id == "T1505.003"
    assert kb.find_technique("T9999") is None
    with pytest.raises(UsageError, match=r"T9999 is not a technique in ATT&CK 18\.1"):
        kb.technique("T9999")
    with pytest.raises(UsageError, match="not an ATT&CK technique id"):
        kb.technique("1505.003")


def test_missing_id_says_which_versions_have_it() -> None:
    """T1659 (Content Injection) arrived after v10: the error tells an analyst where it lives."""
    with pytest.raises(UsageError, match=r"exists in ATT&CK 18\.1"):
        AttackKB.load("9.0").technique("T1659")
    found = technique_across_versions("T1659")
    assert found["9.0"] is None and found["10.1"] is None
    assert isinstance(found["18.1"], Technique)
    assert status_across_versions("T1505.003") == {
        "9.0": "active",
        "10.1": "active",
        "18.1": "active",
    }
    assert set(status_across_versions("T1100").values()) == {"revoked"}


def test_revoked_technique_resolves_to_its_replacement() -> None:
    kb = AttackKB.load("18.1")
    powershell = kb.technique("T1086")
    assert powershell.status == "revoked" and powershell.revoked_by == "T1059.001"
    resolution = kb.resolve("t1086")
    assert resolution.technique.id == "T1059.001"
    assert resolution.technique.name == "PowerShell"
    assert resolution.technique.status == "active"
    assert resolution.followed_from == "T1086"
    assert resolution.status == "revoked"
    assert resolution.chain == ("T1086", "T1059.001")


def test_revocations_chain() -> None:
    """In v18.1 DLL Side-Loading (T1574.002) was itself revoked, so T1073 takes two hops."""
    resolution = AttackKB.load("18.1").resolve("T1073")
    assert resolution.chain == ("T1073", "T1574.002", "T1574.001")
    assert resolution.technique.name == "DLL"
    assert AttackKB.load("9.0").resolve("T1073").chain == ("T1073", "T1574.002")


def test_active_and_deprecated_techniques_resolve_to_themselves() -> None:
    kb = AttackKB.load()
    active = kb.resolve("T1505.003")
    assert active.followed_from is None and active.chain == ("T1505.003",)
    deprecated = kb.resolve("T1064")  # Scripting
    assert deprecated.status == "deprecated" and deprecated.technique.id == "T1064"


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("T1234", True),
        ("T1234.001", True),
        ("t1505.003", True),
        ("T123", False),
        ("T12345", False),
        ("T1234.01", False),
        ("T1234.0011", False),
        ("TA0001", False),
        (" T1234", False),
        ("", False),
    ],
)
def test_technique_id_syntax(text: str, valid: bool) -> None:
    assert is_valid_technique_id(text) is valid


@pytest.mark.parametrize(
    "query", ["G0065", "g0065", "Leviathan", "APT40", "apt40", "Kryptonite Panda"]
)
def test_apt40_resolves_by_id_name_and_alias(query: str) -> None:
    group = AttackKB.load("18.1").group(query)
    assert group.id == "G0065"
    assert {"Leviathan", "APT40", "Kryptonite Panda"} <= set(group.aliases)
    assert "T1505.003" in group.techniques
    assert "S0020" in group.software  # China Chopper


def test_aliases_depend_on_version() -> None:
    """'Kryptonite Panda' was added to G0065 after v9.0: an old version must not pretend."""
    assert "APT40" in AttackKB.load("9.0").group("G0065").aliases
    with pytest.raises(UsageError, match=r"no group 'Kryptonite Panda' in ATT&CK 9\.0"):
        AttackKB.load("9.0").group("Kryptonite Panda")


def test_ambiguous_alias_lists_the_candidates() -> None:
    with pytest.raises(UsageError, match=r"G0035 \(Dragonfly\), G0074 \(Dragonfly 2.0\)"):
        AttackKB.load("9.0").group("Iron Liberty")


def test_active_entry_wins_an_alias_shared_with_a_revoked_one() -> None:
    """'UNC2452' names both the revoked G0118 and APT29 (G0016) in v18.1."""
    assert AttackKB.load("18.1").group("UNC2452").id == "G0016"


def test_software_and_mitigations() -> None:
    kb = AttackKB.load()
    chopper = kb.software("china chopper")
    assert (chopper.id, chopper.type) == ("S0020", "malware")
    assert "T1505.003" in chopper.techniques
    mitigation = kb.mitigation("M1026")
    assert mitigation.name == "Privileged Account Management"
    assert "T1003" in mitigation.techniques
    assert {m.id for m in kb.mitigations_for("T1505.003")} >= {"M1042"}
    with pytest.raises(UsageError):
        kb.software("S9999")
    with pytest.raises(UsageError):
        kb.mitigation("T1100")  # the old per-technique "mitigations" are not shipped


def test_search_ranks_exact_matches_first() -> None:
    kb = AttackKB.load()
    web_shell = kb.search("web shell")
    assert [item.id for item in web_shell[:2]] == ["T1505.003", "T1100"]  # active first
    assert kb.search("T1505")[0].id == "T1505"
    apt40 = kb.search("APT40")
    assert isinstance(apt40[0], Group) and apt40[0].id == "G0065"
    assert len(kb.search("t10", limit=3)) == 3
    assert {item.kind for item in kb.search("mimikatz")} >= {"software"}
    with pytest.raises(UsageError):
        kb.search("  ")


def test_tactics_in_matrix_order() -> None:
    tactics = AttackKB.load().tactics()
    assert len(tactics) == 14
    assert (tactics[0].shortname, tactics[-1].shortname) == ("reconnaissance", "impact")
    assert all(re.fullmatch(r"TA\d{4}", t.id) for t in tactics)
    persistence = next(t for t in tactics if t.shortname == "persistence")
    assert (persistence.id, persistence.name) == ("TA0003", "Persistence")


def test_data_sources_by_version() -> None:
    assert AttackKB.load("9.0").data_sources() == ()  # data-source objects arrived in v10
    process = next(d for d in AttackKB.load("10.1").data_sources() if d.name == "Process")
    assert "Process Creation" in process.components
    current = AttackKB.load("18.1")
    assert all(d.deprecated for d in current.data_sources())
    assert any(c.id == "DC0032" and c.name == "Process Creation" for c in current.data_components())


def test_every_reference_points_at_an_entry(kb: AttackKB) -> None:
    """Invariants over the whole extract: no dangling ids, parents exist, tactics are real."""
    techniques = {t.id: t for t in kb.techniques()}
    tactic_names = {t.shortname for t in kb.tactics()}
    software = {s.id for s in kb.all_software()}
    for technique in techniques.values():
        assert is_valid_technique_id(technique.id)
        assert set(technique.tactics) <= tactic_names
        if technique.parent:
            assert technique.parent in techniques
        if technique.revoked_by:
            assert technique.revoked_by in techniques
    for group in kb.groups():
        assert set(group.techniques) <= techniques.keys()
        assert set(group.software) <= software
    for used in [s.techniques for s in kb.all_software()] + [
        m.techniques for m in kb.mitigations()
    ]:
        assert set(used) <= techniques.keys()
    assert all(t.status == "active" for t in kb.techniques(active_only=True))


def test_as_dict_is_json_ready() -> None:
    data = as_dict(AttackKB.load().technique("T1505.003"))
    assert data["kind"] == "technique" and data["status"] == "active"
    assert data["detection_strategies"][0]["id"] == "DET0394"


def test_shipped_files_are_small_and_attributed() -> None:
    total = sum(SHIPPED.joinpath(name).read_bytes().__len__() for name in EXTRACTS)
    assert total < 1_500_000
    attribution = SHIPPED.joinpath("ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "mitre/cti" in attribution and "Terms of Use" in attribution
    assert all(v in attribution for v in SUPPORTED_VERSIONS)
    assert "MITRE" in SHIPPED.joinpath("LICENSE-mitre-cti.txt").read_text(encoding="utf-8")


def test_build_script_reproduces_shipped_files(tmp_path: Path) -> None:
    """Rebuilding from ../shared/data gives the shipped bytes: the extract hides no hand edits."""
    data = shared("attack/enterprise-attack-v9.0.json.gz").parent
    for version in SUPPORTED_VERSIONS:
        shared(f"attack/enterprise-attack-v{version}.json.gz")
    script = ROOT / "tools" / "build_attack_extract.py"
    command = [sys.executable, str(script), "--data", str(data), "--out", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    for name in [*EXTRACTS, "ATTRIBUTION.md", "LICENSE-mitre-cti.txt"]:
        rebuilt = (tmp_path / name).read_bytes()
        assert rebuilt == SHIPPED.joinpath(name).read_bytes(), f"{name} differs: rerun the script"
