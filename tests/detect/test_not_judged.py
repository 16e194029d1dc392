"""Part of a Windows image swept without --root-map: judged when its volume is found above it,
else reported as not judged (coverage ``partial``, exit 5), never as clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.collect.files import CollectOptions, collect_files
from seawall.detect.analytics import HuntOptions
from seawall.detect.engine import HuntRequest, hunt
from seawall.errors import ExitCode
from seawall.model.finding import ResultDocument
from tests.detect.helpers import PUTTY_MD5, import_list, place, putty

LOCATION = "host.legit-tool-location"


def _hunt(case_dir: Path, *ids: str) -> ResultDocument:
    with CaseStore.open(case_dir) as store:
        return hunt(store, HuntRequest(detection_ids=ids, options=HuntOptions()))


def _sweep_alone(tmp_path: Path, case_dir: Path) -> Path:
    """A user folder copied out of an image, with nothing above it that looks like a volume."""
    users = tmp_path / "copied" / "Users"
    place(users, "bob/Downloads/putty.exe", putty())
    place(users, "bob/notes.txt", putty())
    with CaseStore.open(case_dir) as store:
        collect_files(store, [str(users)], CollectOptions(host="ws9", os_name="windows"))
    return users


def test_tools_without_a_windows_path_make_the_coverage_partial(
    tmp_path: Path, case_dir: Path
) -> None:
    _sweep_alone(tmp_path, case_dir)
    document = _hunt(case_dir, LOCATION)
    assert document.findings == []
    [entry] = document.coverage
    assert entry.status == "partial"
    assert entry.reason is not None
    assert "1 files of host ws9 named like a known Windows tool have no Windows path" in (
        entry.reason
    )
    assert "--root-map SRC=C:\\" in entry.reason
    assert "1 not judged (no Windows path)" in " ".join(entry.notes)
    [technique] = [t for t in document.technique_coverage if t.technique == "T1036.005"]
    assert technique.status == "partial"
    assert document.incomplete == [entry]


def test_a_partial_hunt_without_findings_exits_5(
    tmp_path: Path, case_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sweep_alone(tmp_path, case_dir)
    argv = ["--case", str(case_dir), "hunt", "--detection", LOCATION]
    assert run([*argv, "--json"]) == ExitCode.INCOMPLETE
    document = json.loads(capsys.readouterr().out)
    assert document["coverage"][0]["status"] == "partial"
    assert run(argv) == ExitCode.INCOMPLETE
    assert "host.legit-tool-location: " in capsys.readouterr().out.split("INCOMPLETE:")[1]


def test_a_hash_hit_without_a_windows_path_is_not_judged_nor_suppressed(
    tmp_path: Path, case_dir: Path
) -> None:
    users = tmp_path / "copied" / "Program Files"
    place(users, "PuTTY/putty.exe", putty())  # its standard folder, but nobody can tell
    with CaseStore.open(case_dir) as store:
        collect_files(store, [str(users)], CollectOptions(host="ws9", os_name="windows"))
    import_list(case_dir, tmp_path / "iocs.txt", [PUTTY_MD5])
    document = _hunt(case_dir, "ioc.file-hash")
    [finding] = document.findings
    # the hash hit stands: the location that could have explained it away is not known
    assert finding.verdict == "malicious" and not finding.suppressed
    (unjudged,) = [r for r in finding.reasons if r.code == "location.not-judged"]
    assert "location not judged" in unjudged.text and unjudged.data["tool"] == "putty.exe"


def test_a_sweep_of_image_users_judges_putty_as_a_user_would_expect(
    tmp_path: Path, case_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: `collect files image/Users --os windows`, no --root-map."""
    image = tmp_path / "image"
    (image / "Windows" / "System32").mkdir(parents=True)
    place(image, "Users/bob/Downloads/putty.exe", putty())
    case = ["--case", str(case_dir)]
    collect = [*case, "collect", "files", str(image / "Users"), "--os", "windows", "--json"]
    assert run([*collect, "--host", "ws1"]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["assumed_root_maps"] == [f"{image}=C:\\"]
    assert run([*case, "hunt", "--detection", LOCATION, "--json"]) == ExitCode.FINDINGS
    document = json.loads(capsys.readouterr().out)
    [finding] = document["findings"]
    assert finding["verdict"] == "suspicious"
    assert finding["reasons"][0]["code"] == "location.nonstandard"
    assert finding["evidence"][0]["row"]["windows_path"] == ("c:\\users\\bob\\downloads\\putty.exe")
    assert document["coverage"][0]["status"] == "ran"


def test_windows_path_indicators_cannot_meet_files_without_a_windows_path(
    tmp_path: Path, case_dir: Path
) -> None:
    _sweep_alone(tmp_path, case_dir)
    import_list(case_dir, tmp_path / "iocs.txt", ["C:\\Users\\bob\\Downloads\\putty.exe"])
    [entry] = _hunt(case_dir, "ioc.file-name").coverage
    assert entry.status == "partial"
    assert "Windows file_path indicators were not compared with 2 files of host ws9" in str(
        entry.reason
    )
