"""File indicators on a real signed PuTTY, judged by where the file sits."""

from __future__ import annotations

import hashlib
from pathlib import Path

from seawall.case.store import CaseStore
from seawall.detect.analytics import HuntOptions
from seawall.detect.analytics.ioc_files import glob_regex
from seawall.detect.engine import HuntRequest, hunt
from seawall.detect.filejudge import is_renamed
from seawall.model.finding import Finding, ResultDocument
from tests.detect.helpers import PUTTY_MD5, import_list, place, putty, sweep


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
    assert finding.verdict == "legit-tool-standard-location"
    assert finding.suppressed
    assert any("standard location" in reason for reason in finding.reasons)
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
    assert finding.verdict == "legit-tool-nonstandard-location"
    assert not finding.suppressed
    assert "T1036.005" in finding.techniques
    assert any("normally lives in" in reason for reason in finding.reasons)


def test_putty_renamed_to_svchost_is_a_renamed_binary(tmp_path: Path, case_dir: Path) -> None:
    _hash_case(tmp_path, case_dir, "Windows/System32/svchost.exe")
    finding = _only(_hunt(case_dir, "ioc.file-hash"))
    assert finding.verdict == "renamed-binary"
    assert not finding.suppressed  # svchost.exe's standard folder must not excuse it
    assert "T1036.003" in finding.techniques
    assert any("renamed" in reason for reason in finding.reasons)


def test_invalid_signature_wins(tmp_path: Path, case_dir: Path) -> None:
    _hash_case(tmp_path, case_dir, "Program Files/PuTTY/putty.exe")
    with CaseStore.open(case_dir) as store:
        store.con.execute("UPDATE files SET signature_status = 'invalid'")
    finding = _only(_hunt(case_dir, "ioc.file-hash"))
    assert finding.verdict == "signature-invalid" and not finding.suppressed


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
    assert by_path["c:\\users\\public\\music\\putty.exe"].verdict == (
        "legit-tool-nonstandard-location"
    )
    assert by_path["c:\\windows\\temp\\x\\evil.dll"].verdict == "unknown"


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
    fuzzy = "24576:P5HsjvByoyK/3ZUdEqxyAKc6pHYOKC9OAXO7Ts3FnOWBPEx5IcQbQ5:P5HsjvByoyK/3ZUd"
    import_list(case_dir, tmp_path / "iocs.txt", [sha512, fuzzy])
    document = _hunt(case_dir, "ioc.file-hash")
    finding = _only(document)
    assert finding.verdict == "legit-tool-nonstandard-location"
    assert "hashed at hunt time" in finding.summary
    notes = " ".join(document.coverage[0].notes)
    assert "1 SHA-512 indicators: 1 swept files hashed" in notes
    assert "1 ssdeep indicators were not compared" in notes


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
