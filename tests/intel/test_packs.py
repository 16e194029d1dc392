"""Advisory packs: the shipped AA21-200A pack against its sources, loader errors, coverage.

The pack is checked against MITRE's own record of what ATT&CK cites from the advisory (the CSVs
in ../shared/data) and against the advisory's guidance list, so that an edit to the pack that
drops or invents a technique, a software entry or a guidance item fails here.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from seawall.errors import BadInputError, UsageError
from seawall.intel.attack import CURRENT_VERSION, AttackKB
from seawall.intel.packs.coverage import (
    BUILTIN_CAPABILITIES,
    DetectionCatalog,
    compute_coverage,
)
from seawall.intel.packs.loader import available_packs, list_packs, load_pack
from seawall.intel.packs.schema import Pack
from tests.conftest import shared

ADVISORY = "advisories/aa21-200a"
SHIPPED = Path(__file__).resolve().parents[2] / "src/seawall/intel/packs/data/aa21-200a.yml"
ALIASES = [
    "BRONZE MOHAWK",
    "FEVERDREAM",
    "G0065",
    "Gadolinium",
    "GreenCrash",
    "Hellsing",
    "Kryptonite Panda",
    "Leviathan",
    "MUDCARP",
    "Periscope",
    "Temp.Periscope",
    "Temp.Jumper",
]


@pytest.fixture(scope="module")
def pack() -> Pack:
    return load_pack("aa21-200a")


def _cited(version: str) -> dict[str, tuple[str, str]]:
    """ATT&CK id -> (object type, name) of the G0065 relationships citing AA21-200A."""
    path = shared(f"{ADVISORY}/G0065_Leviathan_uses_attack-v{version}.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            row["attack_id"]: (row["object_type"], row["name"])
            for row in csv.DictReader(handle)
            if row["cites_CISA_AA21-200A"] == "yes"
        }


# -- the shipped pack -----------------------------------------------------------------------


def test_shipped_pack_is_listed_and_loads(pack: Pack) -> None:
    assert "aa21-200a" in available_packs()
    assert "aa21-200a" in [p.id for p in list_packs()]
    assert pack.advisory_id == "AA21-200A"
    assert pack.published.isoformat() == "2021-07-19"
    assert pack.publishers == ["FBI", "CISA"]
    assert (pack.tlp, pack.tlp_v2) == ("TLP:WHITE", "TLP:CLEAR")
    assert pack.url == "https://us-cert.cisa.gov/ncas/alerts/aa21-200a"
    assert pack.attack_version == "9.0"
    assert pack.title.startswith("Tactics, Techniques, and Procedures of Indicted APT40 Actors")
    assert pack.title.endswith("China's MSS Hainan State Security Department")


def test_pack_by_path_equals_pack_by_name(pack: Pack) -> None:
    assert load_pack(SHIPPED) == pack
    assert load_pack(str(SHIPPED)) == pack


def test_techniques_and_software_are_those_attack_cites_from_the_advisory(pack: Pack) -> None:
    cited = _cited("10.1")
    techniques = {k: name for k, (kind, name) in cited.items() if kind == "attack-pattern"}
    software = {k: name for k, (kind, name) in cited.items() if kind in ("malware", "tool")}
    assert len(techniques) == 24 and len(software) == 10
    assert {t.id: t.name for t in pack.techniques} == techniques
    assert {s.id: s.name for s in pack.software} == software
    assert {s.id: s.type for s in pack.software} == {
        k: kind for k, (kind, _) in cited.items() if kind != "attack-pattern"
    }
    # ATT&CK's latest release cites the same 34 objects from the advisory.
    assert set(_cited("18.1")) == set(cited)


def test_every_item_has_a_note(pack: Pack) -> None:
    assert all(t.note for t in pack.techniques)
    assert all(s.note for s in pack.software)


def test_ids_resolve_in_the_shipped_attack_extract(pack: Pack) -> None:
    current = AttackKB.load(CURRENT_VERSION)
    for technique in pack.techniques:
        found = current.find_technique(technique.id)
        assert found is not None and found.status == "active", technique.id
        assert found.name == technique.name
    for item in pack.software:
        assert current.software(item.id).name == item.name

    coverage = compute_coverage(pack)
    assert coverage.warnings == ()
    for entry in (*coverage.techniques, *coverage.software):
        assert entry.in_current_version is not None and entry.in_pack_version is not None
        assert entry.in_current_version.version == CURRENT_VERSION
        assert entry.in_current_version.valid, entry.id
        # ATT&CK today records G0065 using every one of them.
        assert entry.in_current_version.used_by_actor is True, entry.id
        # The advisory's own ATT&CK version: all 34 ids already existed, unrevoked, in v9.0.
        assert entry.in_pack_version.version == "9.0"
        assert entry.in_pack_version.status == "active", entry.id
    assert [a.name for a in coverage.actor] == ["Leviathan", "Leviathan"]


def test_guidance_ids_are_those_of_mitigations_md(pack: Pack) -> None:
    text = shared(f"{ADVISORY}/MITIGATIONS.md").read_text(encoding="utf-8")
    ids = re.findall(r"^- ((?:IOC|M-[A-Z]+)-\d+):", text, flags=re.MULTILINE)
    assert len(ids) == 23
    assert [m.id for m in pack.mitigations] == ids
    categories = {"IOC": "ioc-guidance", "M-PATCH": "patch", "M-CRED": "credentials"}
    for item in pack.mitigations:
        prefix = item.id.rsplit("-", 1)[0]
        assert item.category == categories.get(prefix, "network"), item.id


def test_aliases(pack: Pack) -> None:
    assert pack.actor.name == "APT40"
    assert pack.actor.attack_group_id == "G0065"
    assert pack.actor.aliases == ALIASES
    summary = shared(f"{ADVISORY}/MITIGATIONS.md").read_text(encoding="utf-8")
    listed = re.search(r"aka (.*?) — based", summary, flags=re.DOTALL)
    assert listed is not None
    assert [a.strip() for a in listed.group(1).replace("\n", " ").split(",")] == ALIASES


def test_checkable_decisions(pack: Pack) -> None:
    by_id = {m.id: m for m in pack.mitigations}
    not_checkable = {m.id for m in pack.mitigations if not m.checkable}
    expected = {"IOC-4", "M-PATCH-2", "M-PATCH-4", "M-PATCH-5", "M-CRED-1", "M-CRED-5", "M-NET-9"}
    assert not_checkable == expected
    assert all(by_id[i].not_checkable_reason for i in not_checkable)
    assert by_id["M-PATCH-3"].checkable
    for item in pack.mitigations:
        if item.checkable:
            assert item.detections, f"{item.id} is checkable but names no detection"


# -- loader errors, each at file:line --------------------------------------------------------


def _line_of(text: str, needle: str) -> int:
    index = text.index(needle)
    return text.count("\n", 0, index) + 1


def _broken(tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    broken = text.replace(old, new)
    path = tmp_path / "broken.yml"
    path.write_text(broken, encoding="utf-8")
    return path, broken


def _error(path: Path) -> BadInputError:
    with pytest.raises(BadInputError) as caught:
        load_pack(path)
    return caught.value


def test_bad_technique_id_names_its_line(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "  - id: T1534\n", "  - id: T15340\n")
    error = _error(path)
    assert error.location == f"{path}:{_line_of(text, '- id: T15340')}"
    assert "techniques[13].id" in error.message


def test_unknown_key_names_its_line(tmp_path: Path) -> None:
    path, text = _broken(
        tmp_path, "    name: Web Shell\n", "    name: Web Shell\n    detection: [web.webshell]\n"
    )
    error = _error(path)
    assert error.location == f"{path}:{_line_of(text, 'detection: [web')}"
    assert "detection" in error.message and "not permitted" in error.message


def test_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "    name: Web Shell\n", "    name: Web: Shell\n")
    error = _error(path)
    assert error.location == f"{path}:{_line_of(text, 'name: Web: Shell')}"
    assert "YAML syntax error" in error.message


def test_not_checkable_without_reason_names_the_item(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    start = text.index("    not_checkable_reason: >-\n      An architecture decision.")
    end = text.index("    attack_mitigations: [M1030]")
    path = tmp_path / "no-reason.yml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    error = _error(path)
    assert error.location == f"{path}:{_line_of(text, '- id: M-NET-9')}"
    assert "not_checkable_reason is required" in error.message


def test_reason_on_checkable_item_names_its_line(tmp_path: Path) -> None:
    old = "    checkable: true\n    detections: [intel.import]\n"
    new = (
        "    checkable: true\n    not_checkable_reason: but it is\n    detections: [intel.import]\n"
    )
    path, text = _broken(tmp_path, old, new)
    error = _error(path)
    assert error.location == f"{path}:{_line_of(text, 'not_checkable_reason: but it is')}"


def test_duplicate_id_names_the_second_item(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "  - id: T1534\n", "  - id: T1078\n")
    error = _error(path)
    lines = [i for i, value in enumerate(text.splitlines(), 1) if value == "  - id: T1078"]
    assert len(lines) == 2
    assert error.location == f"{path}:{lines[1]}"
    assert "duplicate technique id 'T1078'" in error.message


def test_duplicate_mapping_key_is_an_error(tmp_path: Path) -> None:
    path, text = _broken(
        tmp_path, "    name: Web Shell\n", "    name: Web Shell\n    name: Web Shells\n"
    )
    error = _error(path)
    assert error.location == f"{path}:{_line_of(text, 'name: Web Shells')}"
    assert "duplicate key 'name'" in error.message


def test_mitigation_must_refer_to_a_listed_technique(tmp_path: Path) -> None:
    path, text = _broken(tmp_path, "    techniques: [T1133]\n", "    techniques: [T1190]\n")
    error = _error(path)
    assert error.location == f"{path}:{_line_of(text, 'techniques: [T1190]')}"
    assert "T1190" in error.message


def test_recursive_alias_and_non_mapping_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "recursive.yml"
    path.write_text("id: x\nsummary: &a [*a]\n", encoding="utf-8")
    assert _error(path).location == f"{path}:2"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    assert "mapping" in _error(path).message


def test_alias_bomb_is_rejected(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    path = tmp_path / "bomb.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "alias bomb" in _error(path).message


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "tag.yml"
    path.write_text("id: !!python/object/apply:os.system [echo hi]\n", encoding="utf-8")
    error = _error(path)
    assert error.location == f"{path}:1"


def test_unknown_pack_name_lists_the_available_ones() -> None:
    with pytest.raises(UsageError, match="aa21-200a"):
        load_pack("no-such-pack")


# -- coverage -------------------------------------------------------------------------------


def test_coverage_statuses_with_shipped_detections(pack: Pack) -> None:
    coverage = compute_coverage(pack)
    states = {d.id: d for d in coverage.detections}
    assert states["intel.reputation"].status == "exists"
    assert states["intel.reputation"].provided_by == BUILTIN_CAPABILITIES["intel.reputation"]
    assert states["intel.import"].status == "exists"
    assert states["web.webshell"].status == "exists"
    assert states["net.dns-tunnel"].status == "exists"
    assert states["patch.cve-audit"].status == "exists"
    assert states["evtx.powershell-script-block"].status == "exists"
    assert states["evtx.av-signature-age"].status == "exists"
    # every detection the pack names is built; those that need the user's input are conditional
    assert coverage.summary()["detections"]["missing"] == 0
    techniques = {t.id: t for t in coverage.techniques}
    assert states["ioc.file-hash"].status == "exists"
    assert techniques["T1505.003"].status == "covered"
    assert techniques["T1585.001"].status == "uncovered"
    guidance = {m.id: m for m in coverage.mitigations}
    assert guidance["M-NET-7"].status == "covered"
    assert guidance["IOC-1"].status == "covered"
    assert guidance["M-NET-6"].status == "covered"  # evtx.admin-share-mapping
    assert guidance["M-PATCH-1"].status == "covered"  # patch.cve-audit, evtx.office-exploit-child
    assert guidance["M-PATCH-3"].status == "covered"  # evtx.av-signature-age
    assert guidance["M-NET-9"].status == "not-checkable"
    assert guidance["M-NET-9"].reason
    summary = coverage.summary()
    assert sum(summary["techniques"].values()) == 24
    assert sum(summary["mitigations"].values()) == 23
    assert summary["mitigations"]["not-checkable"] == 7


def test_detections_that_need_the_users_input_only_cover_conditionally(pack: Pack) -> None:
    """YARA rules and a baseline of snapshots come from the user: a technique that only such
    detections look for is not "covered" by a hunt run without them."""
    coverage = compute_coverage(pack)
    states = {d.id: d for d in coverage.detections}
    assert states["ioc.yara"].status == "conditional"
    assert "--yara DIR" in (states["ioc.yara"].needs or "")
    assert states["host.disk-growth"].status == "conditional"
    assert "baseline" in (states["host.disk-growth"].needs or "")
    assert states["host.baseline-anomaly"].status == "conditional"
    assert "baseline learn" in (states["host.baseline-anomaly"].needs or "")
    techniques = {t.id: t for t in coverage.techniques}
    software = {s.id: s for s in coverage.software}
    # Empire: the shipped YARA set and the URL indicators of the network logs run on their own
    # beside the rules the user must give
    assert [d.status for d in software["S0363"].detections][1:] == [
        "conditional",
        "exists",
        "exists",
    ]
    assert software["S0363"].status == "covered"
    # an item that only detections needing the user's input look for is only conditional
    user_rules_only = pack.model_copy(
        update={
            "software": [
                s.model_copy(update={"detections": ["ioc.yara"]}) if s.id == "S0363" else s
                for s in pack.software
            ]
        }
    )
    only = {s.id: s for s in compute_coverage(user_rules_only).software}
    assert only["S0363"].status == "conditional"
    # PowerShell: the script-block and encoded-command detections run on their own beside the
    # conditional YARA rules
    assert [d.status for d in techniques["T1059.001"].detections] == [
        "exists",
        "exists",
        "conditional",
    ]
    assert techniques["T1059.001"].status == "covered"
    assert techniques["T1505.003"].status == "covered"  # web.webshell runs on its own
    assert coverage.summary()["detections"]["conditional"] == 3


def test_a_shipped_detection_file_makes_its_id_exist(pack: Pack, tmp_path: Path) -> None:
    (tmp_path / "webshell.yml").write_text("id: web.webshell\ntitle: t\n", encoding="utf-8")
    (tmp_path / "broken.yml").write_text("id: [unclosed\n", encoding="utf-8")
    (tmp_path / "noid.yml").write_text("title: no id\n", encoding="utf-8")
    catalog = DetectionCatalog.from_directory(tmp_path)
    assert catalog.state("web.webshell").provided_by == "detections/webshell.yml"
    assert len(catalog.warnings) == 2
    coverage = compute_coverage(pack, catalog)
    techniques = {t.id: t for t in coverage.techniques}
    assert techniques["T1505.003"].status == "covered"
    assert {m.id: m for m in coverage.mitigations}["M-NET-1"].status == "covered"
    assert coverage.warnings == catalog.warnings


def test_revoked_and_unknown_ids_are_reported_per_version(pack: Pack) -> None:
    data = pack.model_dump()
    data["techniques"] = [
        {"id": "T1086", "name": "PowerShell", "note": "old id", "detections": []},
        {"id": "T1059.999", "name": "Nothing", "note": "no such id", "detections": []},
    ]
    data["mitigations"] = []
    old = Pack.model_validate(data)
    coverage = compute_coverage(old)
    revoked, absent = coverage.techniques
    assert revoked.in_pack_version is not None and revoked.in_current_version is not None
    assert revoked.in_pack_version.status == "revoked"
    assert revoked.in_current_version.replaced_by == "T1059.001"
    assert absent.in_current_version is not None
    assert absent.in_current_version.status == "absent"
    assert any(
        "T1086 is revoked in ATT&CK 18.1; replaced by T1059.001" in w for w in coverage.warnings
    )
    assert any("T1059.999 does not exist in ATT&CK 9.0" in w for w in coverage.warnings)


def test_unsupported_pack_version_is_a_warning_not_a_crash(pack: Pack) -> None:
    other = Pack.model_validate({**pack.model_dump(), "attack_version": "8.2"})
    coverage = compute_coverage(other)
    assert coverage.techniques[0].in_pack_version is not None
    assert coverage.techniques[0].in_pack_version.status == "unsupported-version"
    assert any("8.2 is not shipped" in w for w in coverage.warnings)
