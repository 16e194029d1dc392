"""File indicators on a real signed PuTTY, judged by where the file sits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from seawall.case.store import CaseStore
from seawall.detect.analytics import HuntOptions, ioc_fuzzy
from seawall.detect.analytics.ioc_files import glob_regex
from seawall.detect.engine import HuntRequest, hunt
from seawall.detect.filejudge import is_renamed
from seawall.features import fuzzy
from seawall.model.finding import Finding, ResultDocument
from tests.detect.helpers import PUTTY_MD5, import_list, place, putty, sweep
from tests.features.test_fuzzy import BASE, edited, stream


def _hunt(case_dir: Path, *ids: str) -> ResultDocument:
    with CaseStore.open(case_dir) as store:
        return hunt(store, HuntRequest(detection_ids=ids))


def _only(document: ResultDocument) -> Finding:
    assert len(document.findings) == 1, document.findings
    return document.findings[0]


def _hash_case(tmp_path: Path, case_dir: Path, relative: str) -> None:
    root = tmp_path / "c"
    place(root, relative, putty())
    sweep(case_dir, root)
    import_list(case_dir, tmp_path / "iocs.txt", [PUTTY_MD5])


def test_putty_in_program_files_is_suppressed(tmp_path: Path, case_dir: Path) -> None:
    _hash_case(tmp_path, case_dir, "Program Files/PuTTY/putty.exe")
    document = _hunt(case_dir, "ioc.file-hash")
    finding = _only(document)
    assert finding.verdict == "benign"
    assert finding.suppressed and finding.suppression is not None
    assert finding.suppression.kind == "judgement"
    (standard,) = [r for r in finding.reasons if r.code == "location.standard"]
    assert "standard location" in standard.text and standard.data["tool"] == "putty.exe"
    (matched,) = [r for r in finding.reasons if r.code == "ioc.match"]
    assert matched.data["indicator"] == {"type": "md5", "value": PUTTY_MD5}
    assert "T1036.005" not in finding.techniques
    evidence = finding.evidence[0]
    assert evidence.indicator is not None and evidence.indicator.value == PUTTY_MD5
    assert evidence.indicator.sources and evidence.indicator.sources[0].source
    assert evidence.row["windows_path"] == "c:\\program files\\putty\\putty.exe"
    assert evidence.provenance.source_file is not None
    assert document.unsuppressed == []


def test_putty_in_public_music_is_suspicious(tmp_path: Path, case_dir: Path) -> None:
    _hash_case(tmp_path, case_dir, "Users/Public/Music/putty.exe")
    finding = _only(_hunt(case_dir, "ioc.file-hash"))
    # An exact hash match on an indicator a source states no doubt about: what intel lookup says.
    assert finding.verdict == "malicious"
    assert not finding.suppressed
    assert "T1036.005" in finding.techniques
    (located,) = [r for r in finding.reasons if r.code == "location.nonstandard"]
    assert "normally lives in" in located.text
    assert located.data["found_in"] == "c:\\users\\public\\music"
    assert "%ProgramFiles%\\putty" in located.data["expected"]  # type: ignore[operator]


def test_putty_renamed_to_svchost_is_a_renamed_binary(tmp_path: Path, case_dir: Path) -> None:
    _hash_case(tmp_path, case_dir, "Windows/System32/svchost.exe")
    finding = _only(_hunt(case_dir, "ioc.file-hash"))
    assert finding.verdict == "malicious"
    assert not finding.suppressed  # svchost.exe's standard folder must not excuse it
    assert "T1036.003" in finding.techniques
    (renamed,) = [r for r in finding.reasons if r.code == "renamed"]
    assert renamed.data == {"original": "PuTTY", "name": "svchost.exe"}


def test_invalid_signature_wins(tmp_path: Path, case_dir: Path) -> None:
    _hash_case(tmp_path, case_dir, "Program Files/PuTTY/putty.exe")
    with CaseStore.open(case_dir) as store:
        store.con.execute("UPDATE files SET signature_status = 'invalid'")
    finding = _only(_hunt(case_dir, "ioc.file-hash"))
    assert finding.verdict == "malicious" and not finding.suppressed
    assert finding.reasons[1].code == "signature.invalid"  # after the match, strongest first


def test_file_name_and_path_globs(tmp_path: Path, case_dir: Path) -> None:
    root = tmp_path / "c"
    place(root, "Users/Public/Music/PuTTY.EXE", putty())
    (root / "Windows/Temp/x").mkdir(parents=True)
    (root / "Windows/Temp/x/evil.dll").write_bytes(b"not a PE file")
    sweep(case_dir, root)
    import_list(
        case_dir,
        tmp_path / "names.txt",
        ["putty.exe", "C:\\Windows\\Temp\\*\\evil.dll"],
    )
    document = _hunt(case_dir, "ioc.file-name")
    by_path = {f.evidence[0].row["windows_path"]: f for f in document.findings}
    assert set(by_path) == {
        "c:\\users\\public\\music\\putty.exe",
        "c:\\windows\\temp\\x\\evil.dll",
    }
    # A name says less than a hash: suspicious at most, with the location as the reason.
    putty_hit = by_path["c:\\users\\public\\music\\putty.exe"]
    assert putty_hit.verdict == "suspicious"
    assert "location.nonstandard" in {r.code for r in putty_hit.reasons}
    evil = by_path["c:\\windows\\temp\\x\\evil.dll"]
    assert evil.verdict == "suspicious"
    assert "location.unknown-tool" in {r.code for r in evil.reasons}


def test_loki_path_regex_with_false_positive(tmp_path: Path, case_dir: Path) -> None:
    root = tmp_path / "c"
    place(root, "Users/Public/Music/putty.exe", putty())
    place(root, "Users/Public/Music/keep/putty.exe", putty())
    sweep(case_dir, root)
    import_list(case_dir, tmp_path / "loki-filename.txt", [r"\\Public\\Music\\.*\.exe;70;\\keep\\"])
    document = _hunt(case_dir, "ioc.path-regex")
    finding = _only(document)
    assert finding.evidence[0].row["windows_path"] == "c:\\users\\public\\music\\putty.exe"
    assert finding.score == 70.0 and finding.severity == "medium"
    assert any("false-positive" in note for note in document.coverage[0].notes)


def test_yara_not_run_without_rules_and_scans_with_them(tmp_path: Path, case_dir: Path) -> None:
    root = tmp_path / "c"
    place(root, "Users/Public/Music/putty.exe", putty())
    sweep(case_dir, root)
    entry = _hunt(case_dir, "ioc.yara").coverage[0]
    assert entry.status == "not-run" and "--yara" in (entry.reason or "")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "putty.yar").write_text(
        'rule putty_string { strings: $a = "putty" ascii wide nocase condition: $a }\n',
        encoding="utf-8",
    )
    request = HuntRequest(detection_ids=("ioc.yara",), options=HuntOptions(yara_dirs=(rules,)))
    with CaseStore.open(case_dir) as store:
        document = hunt(store, request)
    finding = _only(document)
    assert "putty_string" in finding.summary and not finding.suppressed
    (root / "Users/Public/Music/putty.exe").unlink()
    with CaseStore.open(case_dir) as store:
        gone = hunt(store, request).coverage[0]
    assert gone.status == "not-run" and "reachable" in (gone.reason or "")


def test_renamed_comparison_ignores_mui_and_extensions() -> None:
    assert not is_renamed("cmd.exe", "Cmd.Exe.MUI")
    assert not is_renamed("putty.exe", "PuTTY")
    assert is_renamed("svchost.exe", "PuTTY")
    assert not is_renamed("x.exe", None)


def test_glob_star_stays_within_a_folder() -> None:
    pattern = glob_regex("c:\\windows\\temp\\*.exe", windows=True)
    assert pattern.fullmatch("c:\\windows\\temp\\a.exe")
    assert not pattern.fullmatch("c:\\windows\\temp\\x\\a.exe")
    assert glob_regex("c:\\**\\a.exe", windows=True).fullmatch("c:\\x\\y\\a.exe")


def test_sha512_indicators_are_hashed_at_hunt_time(tmp_path: Path, case_dir: Path) -> None:
    root = tmp_path / "c"
    placed = place(root, "Users/Public/Music/putty.exe", putty())
    sweep(case_dir, root)
    sha512 = hashlib.sha512(placed.read_bytes()).hexdigest()
    # PuTTY's own ssdeep value, its first digest cut short and its second another: a variant
    own = fuzzy.fuzzy_hash(placed.read_bytes())
    block, first, _ = own.split(":")
    cut = f"{block}:{first[:58]}:{first[:16]}"
    import_list(case_dir, tmp_path / "iocs.txt", [sha512, cut])
    document = _hunt(case_dir, "ioc.file-hash")
    by_type = {
        f.evidence[0].indicator.type: f for f in document.findings if f.evidence[0].indicator
    }
    assert set(by_type) == {"sha512", "ssdeep"} and len(document.findings) == 2
    finding = by_type["sha512"]
    assert finding.verdict == "malicious"  # the file's own hash
    assert "location.nonstandard" in {r.code for r in finding.reasons}
    assert "hashed at hunt time" in finding.summary
    similar = by_type["ssdeep"]
    assert similar.verdict == "suspicious"  # similar, not the same: suspicious at most
    assert "location.nonstandard" in {r.code for r in similar.reasons}
    assert f"scores {fuzzy.compare(own, cut)} of 100" in similar.summary
    notes = " ".join(document.coverage[0].notes)
    assert "1 SHA-512 indicators: 1 swept files hashed" in notes
    assert "1 ssdeep indicators compared at score >= 70: 1 swept files in their size" in notes


def test_path_indicators_with_environment_folders(tmp_path: Path, case_dir: Path) -> None:
    root = tmp_path / "c"
    place(root, "Program Files/PuTTY/putty.exe", putty())
    place(root, "Users/alice/AppData/Roaming/evil/run.exe", putty())
    place(root, "Users/Public/AppData/Roaming/evil/run.exe", putty())
    sweep(case_dir, root)
    lines = ["%ProgramFiles%\\PuTTY\\putty.exe", "%APPDATA%\\evil\\*.exe"]
    import_list(case_dir, tmp_path / "paths.txt", lines)
    findings = _hunt(case_dir, "ioc.file-name").findings
    found = sorted(str(f.evidence[0].row["windows_path"]) for f in findings)
    # %AppData% is any user's profile folder, never the shared Public one.
    assert found == [
        "c:\\program files\\putty\\putty.exe",
        "c:\\users\\alice\\appdata\\roaming\\evil\\run.exe",
    ]


def test_ssdeep_indicators_meet_the_files_of_a_size_that_can_match(
    tmp_path: Path, case_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fuzzy hashes from the evidence at hunt time, only in the indicator's size window; a
    match at ssdeep score >= 70 (its score in the reasons); what was not compared is counted."""
    root = tmp_path / "c"
    files = {
        "Users/Public/Music/dropper.bin": edited(BASE, 3),  # a close variant
        "Users/Public/far.bin": edited(BASE, 21),  # a distant one
        "Users/Public/small.txt": BASE[:1000],  # too small for the indicator's block size
        "Users/Public/big.bin": stream(b"big", 900_000),  # too large for it
        "Users/Public/gone.bin": edited(BASE, 1),  # deleted after the sweep
    }
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    sweep(case_dir, root)
    (root / "Users/Public/gone.bin").unlink()
    indicator = fuzzy.fuzzy_hash(BASE)
    import_list(case_dir, tmp_path / "iocs.txt", [indicator])
    document = _hunt(case_dir, "ioc.file-hash")
    finding = _only(document)
    assert finding.evidence[0].row["name"] == "dropper.bin"
    similarity = fuzzy.compare(fuzzy.fuzzy_hash(files["Users/Public/Music/dropper.bin"]), indicator)
    assert similarity >= 70 and finding.score == similarity
    matched = finding.reasons[0]
    assert f"scores {similarity} of 100 against the indicator {indicator}" in matched.text
    assert matched.code == "ioc.match" and matched.data["indicator"] == {
        "type": "ssdeep",
        "value": indicator,
    }
    assert fuzzy.compare(fuzzy.fuzzy_hash(files["Users/Public/far.bin"]), indicator) < 70
    notes = " ".join(document.coverage[0].notes)
    assert "2 swept files in their size windows (24,577-786,432 bytes) fuzzy-hashed" in notes
    assert "0 over ssdeep_max_bytes 16,777,216 and 1 no longer reachable unchanged" in notes
    monkeypatch.setattr(ioc_fuzzy, "POOL_FROM", 1)  # the same, hashed by worker processes
    pooled = _hunt(case_dir, "ioc.file-hash")
    assert pooled.findings == document.findings and pooled.coverage == document.coverage
    capped = {"ioc.file-hash": {"ssdeep_max_bytes": 50_000}}
    with CaseStore.open(case_dir) as store:
        document = hunt(store, HuntRequest(detection_ids=("ioc.file-hash",), parameters=capped))
    assert document.findings == []
    assert "3 over ssdeep_max_bytes 50,000" in " ".join(document.coverage[0].notes)
