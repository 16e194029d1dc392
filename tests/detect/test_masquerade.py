"""Masquerading found without any indicator, on the real signed PuTTY placed in temp trees."""

from __future__ import annotations

from pathlib import Path

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.collect.files import CollectOptions, collect_files
from seawall.detect.analytics import HuntOptions
from seawall.detect.engine import HuntRequest, hunt
from seawall.detect.filejudge import assess_renaming, judge_file
from seawall.detect.knowngood_eval import evaluate
from seawall.errors import ExitCode
from seawall.model.finding import CoverageEntry, ResultDocument
from seawall.model.verdict import Verdict
from seawall.triage.locations import ToolLocations
from tests.conftest import shared
from tests.detect.helpers import place, putty, sweep
from tests.pe_files import flip_in_first_section

XCYCLOPEDIA = "filesystem/xcyclopedia/strontic-xcyclopedia-dev.csv"

LOCATION = "host.legit-tool-location"
RENAMED = "host.renamed-binary"
INVALID = "host.signature-invalid"


def _hunt(case_dir: Path, *ids: str, locations: Path | None = None) -> ResultDocument:
    request = HuntRequest(detection_ids=ids, options=HuntOptions(location_file=locations))
    with CaseStore.open(case_dir) as store:
        return hunt(store, request)


def _coverage(document: ResultDocument, detection_id: str) -> CoverageEntry:
    return next(entry for entry in document.coverage if entry.detection_id == detection_id)


def _case(tmp_path: Path, case_dir: Path, *relatives: str) -> None:
    root = tmp_path / "c"
    for relative in relatives:
        place(root, relative, putty())
    sweep(case_dir, root)


def test_putty_in_public_music_is_out_of_place_without_an_indicator(
    tmp_path: Path, case_dir: Path
) -> None:
    _case(tmp_path, case_dir, "Users/Public/Music/putty.exe", "Program Files/PuTTY/putty.exe")
    document = _hunt(case_dir, LOCATION)
    assert [f.evidence[0].row["windows_path"] for f in document.findings] == [
        "c:\\users\\public\\music\\putty.exe"
    ]
    finding = document.findings[0]
    assert finding.verdict == "suspicious" and not finding.suppressed
    assert "T1036.005" in finding.techniques
    assert finding.reasons[0].code == "location.nonstandard"
    assert "normally lives in" in finding.reasons[0].text
    assert finding.reasons[1].code == "location.tool"
    assert finding.evidence[0].indicator is None
    notes = " ".join(_coverage(document, LOCATION).notes)
    assert "1 in a standard location, 1 elsewhere" in notes


def test_an_extension_file_makes_a_folder_standard(tmp_path: Path, case_dir: Path) -> None:
    _case(tmp_path, case_dir, "Tools/PuTTY/putty.exe")
    assert len(_hunt(case_dir, LOCATION).findings) == 1
    extension = tmp_path / "ours.yml"
    extension.write_text(
        "tools:\n  - names: [putty.exe]\n    folders: ['c:\\tools\\putty']\n"
        "    why: our admins' portable tools share\n",
        encoding="utf-8",
    )
    assert _hunt(case_dir, LOCATION, locations=extension).findings == []
    argv = ["--case", str(case_dir), "hunt", "--detection", LOCATION, "--json"]
    assert run([*argv, "--locations", str(extension)]) == ExitCode.OK
    extension.write_text("tools:\n  - names: [putty.exe]\n    folders: 3\n", encoding="utf-8")
    assert run([*argv, "--locations", str(extension)]) == ExitCode.BAD_INPUT


def test_windows_tool_names_on_a_linux_host_are_not_judged(tmp_path: Path, case_dir: Path) -> None:
    root = tmp_path / "srv"
    place(root, "wine/drive_c/windows/cmd.exe", putty())
    with CaseStore.open(case_dir) as store:
        collect_files(store, [str(root)], CollectOptions(host="lin1", os_name="linux"))
    document = _hunt(case_dir, LOCATION)
    assert document.findings == []
    notes = " ".join(_coverage(document, LOCATION).notes)
    assert "0 of 1 swept files" in notes
    assert "1 files swept as Linux are named like a Windows tool and were not judged" in notes


def test_putty_called_svchost_is_a_renamed_binary(tmp_path: Path, case_dir: Path) -> None:
    _case(tmp_path, case_dir, "Windows/System32/svchost.exe", "Program Files/PuTTY/putty.exe")
    document = _hunt(case_dir, RENAMED, LOCATION)
    renamed = [f for f in document.findings if f.detection_id == RENAMED]
    assert [f.evidence[0].row["name"] for f in renamed] == ["svchost.exe"]
    finding = renamed[0]
    assert finding.verdict == "suspicious" and not finding.suppressed
    assert finding.reasons[0].code == "renamed"
    assert "T1036.003" in finding.techniques and finding.severity == "high"
    assert "built as PuTTY, called svchost.exe" in finding.summary
    # svchost.exe sits in its own folder: only the renaming gives it away.
    assert not [f for f in document.findings if f.detection_id == LOCATION]


def test_a_tampered_putty_has_an_invalid_signature(tmp_path: Path, case_dir: Path) -> None:
    root = tmp_path / "c"
    place(root, "Program Files/PuTTY/putty.exe", putty())
    flip_in_first_section(putty(), root / "Program Files/PuTTY/pscp.exe")
    sweep(case_dir, root)
    document = _hunt(case_dir, INVALID)
    assert [f.evidence[0].row["name"] for f in document.findings] == ["pscp.exe"]
    finding = document.findings[0]
    assert finding.verdict == "suspicious" and "T1036.001" in finding.techniques
    assert finding.reasons[0].code == "signature.invalid"
    assert not finding.suppressed  # a standard folder does not excuse an altered binary
    notes = " ".join(_coverage(document, INVALID).notes)
    assert "1 invalid" in notes and "1 signed-trusted" in notes


def test_without_swept_files_they_say_why_they_did_not_run(case_dir: Path) -> None:
    CaseStore.open(case_dir, create=True).close()
    document = _hunt(case_dir, LOCATION, RENAMED, INVALID)
    assert document.findings == []
    assert {entry.status for entry in document.coverage} == {"not-run"}
    assert all(entry.reason for entry in document.coverage)


def test_vendor_naming_in_place_is_low_and_a_renamed_tool_is_not() -> None:
    locations = ToolLocations.load()
    row = {
        "name": "rasautou.exe",
        "windows_path": "c:\\windows\\system32\\rasautou.exe",
        "pe_original_name": "rasdlui.exe.mui",
        "signature_status": "signed-trusted",
        "signer": "CN=Microsoft Windows",
    }
    vendor = assess_renaming(row, locations)
    assert (
        vendor is not None and vendor.vendor_naming and "vendor's own naming" in str(vendor.reason)
    )
    for changed in ({"signature_status": "unsigned"}, {"pe_original_name": "certutil.exe"}):
        renaming = assess_renaming({**row, **changed}, locations)
        assert renaming is not None and not renaming.vendor_naming
    assert assess_renaming({**row, "pe_original_name": "RASAUTOU.EXE.MUI"}, locations) is None


def test_known_good_windows_binaries_rarely_alert() -> None:
    """xcyclopedia's binaries from ordinary installs: every alert would be a false positive."""
    result = evaluate(shared(XCYCLOPEDIA), ToolLocations.load())
    assert result.tool_named > 500 and result.files > 4000
    assert len(result.out_of_place) <= 0.01 * result.tool_named, result.out_of_place
    assert len(result.renamed_alerts) <= 0.002 * result.files, result.renamed_alerts


SEVEN_ZIP_RESIGNED = "pe/7z1900-x64_signed.exe"  # 7-Zip re-signed with a self-signed certificate


def test_a_known_tool_signed_by_an_untrusted_certificate_is_reported(
    tmp_path: Path, case_dir: Path
) -> None:
    """Out of place: medium with the signature as a reason; in place: low, never suppressed."""
    root = tmp_path / "c"
    resigned = shared(SEVEN_ZIP_RESIGNED)
    place(root, "Users/bob/Downloads/7z.exe", resigned)
    place(root, "Program Files/7-Zip/7z.exe", resigned)
    place(root, "Program Files/PuTTY/putty.exe", putty())  # trusted, in place: nothing to say
    sweep(case_dir, root)
    document = _hunt(case_dir, LOCATION)
    by_path = {f.evidence[0].row["windows_path"]: f for f in document.findings}
    assert set(by_path) == {
        "c:\\users\\bob\\downloads\\7z.exe",
        "c:\\program files\\7-zip\\7z.exe",
    }
    outside = by_path["c:\\users\\bob\\downloads\\7z.exe"]
    inside = by_path["c:\\program files\\7-zip\\7z.exe"]
    assert outside.severity == "medium" and "untrusted certificate" in outside.summary
    assert inside.severity == "low" and not inside.suppressed
    for finding in (outside, inside):
        assert finding.evidence[0].row["signature_status"] == "signed-untrusted"
        assert "T1036.001" in finding.techniques
        (untrusted,) = [r for r in finding.reasons if r.code == "signature.untrusted"]
        assert "chains to no trusted root" in untrusted.text
        assert "CN=ollypwn" in str(untrusted.data["signer"])
    notes = " ".join(_coverage(document, LOCATION).notes)
    assert "2 of them signed by an untrusted certificate" in notes


def test_an_untrusted_signature_in_place_is_not_explained_away() -> None:
    locations = ToolLocations.load()
    row = {
        "name": "7z.exe",
        "windows_path": "c:\\program files\\7-zip\\7z.exe",
        "signature_status": "signed-untrusted",
        "signer": "CN=ollypwn",
    }
    judged = judge_file(row, locations)
    assert judged.verdict == "suspicious" and not judged.suppressed
    assert [r.code for r in judged.reasons] == [
        "signature.untrusted",
        "location.standard",
        "location.tool",
    ]
    trusted = judge_file({**row, "signature_status": "signed-trusted"}, locations)
    assert trusted.suppressed and trusted.verdict == "benign"
    other = judge_file({**row, "name": "notes.exe", "windows_path": "c:\\x\\notes.exe"}, locations)
    # not a known tool: an untrusted signature alone is common, and the hit's verdict stands
    assert other.verdict == "unknown" and other.verdict_for(Verdict.MALICIOUS) == "malicious"
    assert [r.code for r in other.reasons] == ["location.unknown-tool", "signature.status"]
