"""patch.cve-audit on a real sweep (Equation Editor by name and by version-info name) with the
case's CVE indicators, and evtx.office-exploit-child on process creation events built as Sysmon
writes them."""

from __future__ import annotations

from pathlib import Path

from seawall.case.store import CaseStore
from seawall.detect.engine import HuntRequest, hunt
from seawall.model.finding import ResultDocument
from tests.detect.helpers import import_list, sweep
from tests.evtx_rows import SYSMON, event, load_events

OFFICE = "C:\\Program Files\\Microsoft Office\\root\\Office16\\"
W = "C:\\Windows\\System32\\"


def _hunt(case_dir: Path, ident: str) -> ResultDocument:
    with CaseStore.open(case_dir) as store:
        return hunt(store, HuntRequest(detection_ids=(ident,)))


def test_equation_editor_on_disk_is_reported_and_other_cves_are_named(
    case_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "c"
    shared = root / "Program Files (x86)" / "Common Files" / "Microsoft Shared" / "EQUATION"
    shared.mkdir(parents=True)
    (shared / "EQNEDT32.EXE").write_bytes(b"MZ" + b"\0" * 200)
    (root / "Users" / "Public").mkdir(parents=True)
    (root / "Users" / "Public" / "readme.txt").write_text("not an equation editor")
    sweep(case_dir, root, host="ws1")
    import_list(
        case_dir, tmp_path / "cves.txt", ["CVE-2017-11882", "CVE-2017-0199", "CVE-2017-8759"]
    )
    document = _hunt(case_dir, "patch.cve-audit")
    (coverage,) = document.coverage
    assert coverage.status == "ran"
    assert any("CVE-2017-0199, CVE-2017-8759" in note for note in coverage.notes)
    (finding,) = document.findings
    assert finding.severity == "high" and finding.techniques == ["T1203"]
    assert str(finding.evidence[0].row["windows_path"]).endswith("\\equation\\eqnedt32.exe")
    assert [r.code for r in finding.reasons] == ["patch.component", "patch.intel"]


def test_office_children_and_equation_editor_processes(case_dir: Path) -> None:
    def start(image: str, command: str, parent: str) -> dict[str, object]:
        return event(
            1,
            {"Image": image, "CommandLine": command, "ParentImage": parent, "User": "CORP\\bob"},
            channel=SYSMON,
        )

    rows = [
        start(
            W + "cmd.exe",
            "cmd /c start /min powershell -w hidden",
            "C:\\Program Files (x86)\\Common Files\\Microsoft Shared\\EQUATION\\EQNEDT32.EXE",
        ),
        start(
            "C:\\Windows\\Microsoft.NET\\Framework\\v4.0.30319\\csc.exe",
            "csc /noconfig @x",
            OFFICE + "WINWORD.EXE",
        ),
        start(W + "mshta.exe", "mshta.exe -Embedding", W + "svchost.exe"),
        start(
            W + "WindowsPowerShell\\v1.0\\powershell.exe",
            "powershell -c iex $x",
            OFFICE + "EXCEL.EXE",
        ),
        # ordinary: Word opening a link in the browser, Explorer starting Word
        start(
            "C:\\Program Files\\Mozilla Firefox\\firefox.exe",
            "firefox https://x",
            OFFICE + "WINWORD.EXE",
        ),
        start(OFFICE + "WINWORD.EXE", "winword /n report.docx", W + "explorer.exe"),
    ]
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
    document = _hunt(case_dir, "evtx.office-exploit-child")
    patterns = {f.evidence[0].row["pattern"]: f.score for f in document.findings}
    assert patterns == {
        "equation-editor": 90,
        "office-compiler": 85,
        "office-child": 75,
        "mshta-embedding": 70,
    }
    assert {r.code for f in document.findings for r in f.reasons} == {
        "exploit.equation-editor",
        "exploit.office-compiler",
        "exploit.office-child",
        "exploit.mshta-embedding",
    }
